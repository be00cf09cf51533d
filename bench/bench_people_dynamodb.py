"""What assigning a new face costs in the DynamoDB people store (AWS mode) with N faces stored.

Two parts. In process, at full size (``--faces`` faces as ``--faces / --per-person`` people):
the bytes a cold Lambda reads (every person item: descriptor sum and representatives; other
photos' face items are never read to assign a face), the time to decode them into the
matching arrays, and the in-memory match per face. Over the wire, boto3 against a moto server
on 127.0.0.1 started here, with ``--moto-people`` person items: the requests per warm assign
(moto's times are printed but are moto's: it copies the whole table per transaction and
sorts a partition per query page, so they grow with the table where DynamoDB's do not).

.venv/bin/python bench/bench_people_dynamodb.py [--faces 100000] [--per-person 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_aws import moto_endpoint
from eventlens.face_people import FaceEntry
from eventlens.results.people_centroids import REPRESENTATIVES, Centroids
from eventlens.results.people_dynamodb import DynamoDBPeopleIndex, create_people_table


def _person_item(number: int, mean: np.ndarray[Any, Any], faces: int) -> dict[str, Any]:
    reps = {f"k{number}-{i}.jpg#0": mean.astype("<f2").tobytes() for i in range(REPRESENTATIVES)}
    return {
        "pk": {"S": "person"}, "sk": {"S": f"P{number}"},
        "version": {"N": "1"}, "seq": {"N": str(time.time_ns() // 1000 - 3_600_000_000)},
        "faces": {"N": str(faces)}, "photos": {"N": str(faces)},
        "total": {"B": (mean * faces).astype("<f4").tobytes()},
        "reps": {"M": {r: {"B": v} for r, v in reps.items()}},
        "cover_key": {"S": f"k{number}-0.jpg"}, "cover_conf": {"N": "0.99"},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--per-person", type=int, default=10)
    parser.add_argument("--moto-people", type=int, default=500)
    args = parser.parse_args()
    in_process(args.faces, args.per_person)
    in_process(args.faces, 1)  # the worst case: nobody twice
    with moto_endpoint():
        run(args.moto_people * args.per_person, args.per_person)


def _size(value: Any) -> int:
    """An attribute value's size as DynamoDB bills it (close enough: numbers as text)."""
    kind, inner = next(iter(value.items()))
    if kind == "M":
        return 3 + sum(len(k) + 1 + _size(v) for k, v in inner.items())
    return len(inner) if kind in ("B", "S", "N") else 1


def in_process(faces: int, per_person: int) -> None:
    from eventlens.results.people_items import read_person

    people = faces // per_person
    rng = np.random.default_rng(0)
    means = rng.normal(size=(people, 128)).astype(np.float32)
    means /= np.linalg.norm(means, axis=1, keepdims=True) / 2
    items = [_person_item(n + 1, means[n], per_person) for n in range(people)]
    size = sum(sum(len(k) + _size(v) for k, v in item.items()) for item in items)
    started = time.perf_counter()
    centroids = Centroids()
    for item in items:
        centroids.put(read_person(item).vectors())
    load_s = time.perf_counter() - started
    match_times = []
    for i in range(100):
        started = time.perf_counter()
        (hit,) = centroids.within(means[(i * 7919) % people] + 0.01, 0.6)
        match_times.append((time.perf_counter() - started) * 1000)
        assert hit[1] == (i * 7919) % people + 1
    pages = -(-size // 1_000_000)
    print(f"{faces} faces as {people} people: cold start reads {size / 1e6:.1f} MB "
          f"({size // people} B a person; {pages} query pages of 1 MB, "
          f"{-(-size // 4096)} read units), decoded in {load_s:.2f} s; "
          f"match per face median {statistics.median(match_times):.2f} ms")  # fmt: skip


def run(faces: int, per_person: int) -> None:
    import boto3

    client = boto3.client("dynamodb")
    requests: Counter[str] = Counter()
    spent: dict[str, float] = {}  # ms per operation
    began: dict[str, float] = {}

    def before(model: Any, **_: Any) -> None:
        requests.update([model.name])
        began[model.name] = time.perf_counter()

    def after(model: Any, **_: Any) -> None:
        spent[model.name] = (
            spent.get(model.name, 0.0) + (time.perf_counter() - began.pop(model.name)) * 1000
        )

    client.meta.events.register("before-call.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)
    create_people_table(client, "beta_people")
    people = faces // per_person
    rng = np.random.default_rng(0)
    means = rng.normal(size=(people, 128)).astype(np.float32)
    means /= np.linalg.norm(means, axis=1, keepdims=True) / 2  # a spread set: none within 0.6
    started = time.perf_counter()
    for start in range(0, people, 25):
        batch = [
            {"PutRequest": {"Item": _person_item(n + 1, means[n], per_person)}}
            for n in range(start, min(start + 25, people))
        ]
        client.batch_write_item(RequestItems={"beta_people": batch})
    client.put_item(
        TableName="beta_people",
        Item={"pk": {"S": "meta"}, "sk": {"S": "meta"}, "next_person": {"N": str(people)}},
    )
    seeded_s = time.perf_counter() - started

    index = DynamoDBPeopleIndex({"beta": "beta_people"}, client=client)
    requests.clear()
    started = time.perf_counter()
    index.assign("beta", "cold.jpg", [FaceEntry("cold.jpg", 0, means[0] + 0.01)])
    cold_ms = (time.perf_counter() - started) * 1000
    cold_requests = sum(requests.values())
    times: list[float] = []
    requests_each: list[int] = []
    spent.clear()
    for i in range(40):
        requests.clear()
        vector = means[(i * 7919) % people] + rng.normal(0, 0.01, 128).astype(np.float32)
        face = FaceEntry(f"new{i}.jpg", 0, vector)
        started = time.perf_counter()
        (person,) = index.assign("beta", face.key, [face])
        times.append((time.perf_counter() - started) * 1000)
        requests_each.append(sum(requests.values()))
        assert person == f"P{(i * 7919) % people + 1}", person  # joined the right person

    print(f"moto: {people} person items (seeded in {seeded_s:.0f} s)")
    print(f"cold start: first assign {cold_ms:.0f} ms, {cold_requests} requests "
          f"(reads every person item)")  # fmt: skip
    per_face = statistics.median(requests_each)
    print(f"warm assign: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
          f"{per_face:.0f} requests per face (moto on 127.0.0.1)")  # fmt: skip
    print("warm, ms per face by request: " + ", ".join(
        f"{name} {ms / 40:.1f}" for name, ms in sorted(spent.items(), key=lambda kv: -kv[1])
    ))  # fmt: skip


if __name__ == "__main__":
    main()
