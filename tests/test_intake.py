from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eventlens.events.base import ObjectEvent
from eventlens.intake import IntakeQueue
from eventlens.retry import RetryPolicy


def ev(key: str, sequencer: str = "1") -> ObjectEvent:
    return ObjectEvent("bucket", key, sequencer=sequencer)


def test_events_survive_a_reopen(tmp_path: Path) -> None:
    queue = IntakeQueue(tmp_path / "q.db")
    queue.enqueue([ev("a.jpg"), ev("b.jpg")])
    queue.close()
    reopened = IntakeQueue(tmp_path / "q.db")
    assert sorted(job.event.key for job in reopened.claim(10)) == ["a.jpg", "b.jpg"]


def test_a_burst_for_one_key_is_one_job_and_claims_are_exclusive(tmp_path: Path) -> None:
    first = IntakeQueue(tmp_path / "q.db")
    second = IntakeQueue(tmp_path / "q.db")
    first.enqueue([ev("a.jpg", "1"), ev("a.jpg", "2"), ev("a.jpg", "3")])
    assert first.pending() == 1
    jobs = first.claim(10)
    assert [job.event.sequencer for job in jobs] == ["3"]
    assert second.claim(10) == []  # leased by the first worker


def test_an_event_arriving_during_processing_runs_again_after_ack(tmp_path: Path) -> None:
    queue = IntakeQueue(tmp_path / "q.db")
    queue.enqueue([ev("a.jpg", "1")])
    [job] = queue.claim(1)
    queue.enqueue([ev("a.jpg", "2")])
    queue.ack(job)
    [again] = queue.claim(1)
    assert again.event.sequencer == "2"
    queue.ack(again)
    assert queue.pending() == 0


def test_failures_back_off_then_dead_letter_and_can_be_retried(tmp_path: Path) -> None:
    queue = IntakeQueue(
        tmp_path / "q.db", retry=RetryPolicy(max_attempts=3, base_delay_s=0.0, max_delay_s=0.0)
    )
    queue.enqueue([ev("bad.jpg")])
    dead = False
    attempts = 0
    while not dead:
        [job] = queue.claim(1)
        attempts += 1
        dead = queue.fail(job, f"boom {attempts}")
    assert attempts == 3 and queue.pending() == 0
    [letter] = queue.dead_letters()
    assert letter.event.key == "bad.jpg" and letter.error == "boom 3" and letter.attempts == 3
    assert queue.retry_dead() == 1
    assert queue.dead_letters() == [] and queue.pending() == 1
    [job] = queue.claim(1)
    assert job.attempts == 1  # a retried dead letter starts afresh
    queue.ack(job)
    queue.enqueue([ev("x.jpg")])
    [job] = queue.claim(1)
    for _ in range(3):
        queue.fail(job, "again")
        claimed = queue.claim(1)
        if not claimed:
            break
        job = claimed[0]
    assert queue.purge_dead() == 1 and queue.dead_letters() == []


def test_backoff_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0)
    assert 0.5 <= policy.delay(1) <= 1.0
    assert 2.0 <= policy.delay(3) <= 4.0
    assert 4.0 <= policy.delay(10) <= 8.0


def test_leases_of_a_killed_process_are_released(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    IntakeQueue(db).enqueue([ev("a.jpg")])
    script = (
        "import sys; from eventlens.intake import IntakeQueue;"
        f"q = IntakeQueue({str(db)!r}); assert len(q.claim(5)) == 1"
    )
    subprocess.run([sys.executable, "-c", script], check=True)  # claims, then exits
    survivor = IntakeQueue(db)
    assert survivor.claim(5) == []  # the lease is still held
    assert survivor.release_dead_owners() == 1
    [job] = survivor.claim(5)
    assert job.event.key == "a.jpg" and job.attempts == 2
