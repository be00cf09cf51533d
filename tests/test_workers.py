"""``workers.beside``: one image's work on a spare core, never more threads than cores."""

from __future__ import annotations

import threading
import time

import pytest

from eventlens import workers


def _thread_name() -> str:
    return threading.current_thread().name


def test_beside_runs_on_a_spare_core_while_the_caller_goes_on() -> None:
    if workers.worker_count() < 2:
        pytest.skip("the pool has one worker")
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.2)
        return _thread_name()

    result = workers.beside(slow)
    assert started.wait(5)  # already running, before anyone asks for the result
    assert result().startswith(workers.THREAD_PREFIX)
    # a second one while the spare core is taken runs inline, when its result is asked for
    first = workers.beside(slow)
    second = workers.beside(_thread_name)
    assert second() == threading.current_thread().name
    assert first().startswith(workers.THREAD_PREFIX)


def test_beside_raises_the_exception_where_the_result_is_asked_for() -> None:
    def fails() -> str:
        raise ValueError("bad image")

    result = workers.beside(fails)
    with pytest.raises(ValueError, match="bad image"):
        result()
    if workers.worker_count() >= 2:  # the spare core is free again
        assert workers.beside(_thread_name)().startswith(workers.THREAD_PREFIX)


def test_beside_from_a_pool_thread_runs_inline_now_or_when_asked() -> None:
    ran: list[str] = []

    def nested() -> tuple[str, str, list[str]]:
        lazy = workers.beside(_thread_name)
        eager = workers.beside(lambda: ran.append(_thread_name()) or "eager", later=False)
        before_asked = list(ran)  # ``later=False``: it ran before its result was asked for
        assert eager() == "eager" and ran == before_asked
        return _thread_name(), lazy(), before_asked

    outer, inner, before_asked = workers.pool().submit(nested).result()
    assert outer == inner and before_asked == [outer]
