"""``workers.beside``: one image's work on a spare core, never more threads than cores."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from eventlens import workers


def _thread_name() -> str:
    return threading.current_thread().name


def _started_beside() -> tuple[Callable[[], str], threading.Event]:
    """``beside`` a call that says where it ran, and an event set once it has started."""
    started = threading.Event()

    def where() -> str:
        started.set()
        return _thread_name()

    return workers.beside(where), started


def _runs_on_the_pool() -> bool:
    result, started = _started_beside()
    return started.wait(5) and result().startswith(workers.THREAD_PREFIX)


@pytest.fixture(autouse=True)
def _two_workers() -> None:
    if workers.worker_count() < 2:
        pytest.skip("the pool has one worker")


def test_beside_runs_on_a_spare_core_while_the_caller_goes_on() -> None:
    release = threading.Event()
    started = threading.Event()

    def held() -> str:
        started.set()
        release.wait(10)
        return _thread_name()

    first = workers.beside(held)
    assert started.wait(5)  # running before anyone asks for its result
    # a second one while the spare core is taken runs inline, when its result is asked for
    second = workers.beside(_thread_name)
    assert second() == threading.current_thread().name
    release.set()
    assert first().startswith(workers.THREAD_PREFIX)
    assert _runs_on_the_pool()  # the spare core is free again


def test_beside_raises_the_exception_where_the_result_is_asked_for() -> None:
    started = threading.Event()

    def fails() -> str:
        started.set()
        raise ValueError("bad image")

    result = workers.beside(fails)
    assert started.wait(5)
    with pytest.raises(ValueError, match="bad image"):
        result()
    assert _runs_on_the_pool()  # the spare core is free again


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


def test_beside_queued_behind_a_batch_is_taken_back_by_the_caller() -> None:
    release = threading.Event()
    busy = [workers.pool().submit(release.wait, 10) for _ in range(workers.worker_count())]
    try:
        result = workers.beside(_thread_name)  # queued: every pool thread is busy
        assert result() == threading.current_thread().name
    finally:
        release.set()
        for future in busy:
            future.result()
    assert _runs_on_the_pool()  # its spare core was handed back
