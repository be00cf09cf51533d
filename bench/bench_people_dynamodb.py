"""Time to assign a new face with N faces stored, in the DynamoDB people store (AWS mode):
boto3 against a moto server on 127.0.0.1 started here.

Stores ``--faces`` faces as ``--faces / --per-person`` person items (what a look-up reads:
each person's descriptor sum and representatives; other photos' face items are never read
when a face is assigned, so they are not written here), then prints: the cold start (the
first assign reads every person item), a warm assign (median, requests per face), and the
in-memory match alone for the same number of people.

.venv/bin/python bench/bench_people_dynamodb.py [--faces 100000] [--per-person 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlens.face_people import FaceEntry
from eventlens.results.people_centroids import REPRESENTATIVES, Centroids, PersonVectors
from eventlens.results.people_dynamodb import DynamoDBPeopleIndex, create_people_table


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    port = _port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
    )  # fmt: skip
    try:
        run(args.faces, args.per_person)
    finally:
        server.stop()


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

    centroids = Centroids()
    for n in range(people):
        reps = {f"r{i}": means[n] for i in range(REPRESENTATIVES)}
        centroids.put(PersonVectors(n + 1, means[n] * per_person, per_person, reps))
    match_times = []
    for i in range(200):
        started = time.perf_counter()
        centroids.within(means[i] + 0.01, 0.6)
        match_times.append((time.perf_counter() - started) * 1000)

    print(f"{faces} faces as {people} person items (seeded in {seeded_s:.0f} s, moto)")
    print(f"cold start: first assign {cold_ms:.0f} ms, {cold_requests} requests "
          f"(reads every person item)")  # fmt: skip
    per_face = statistics.median(requests_each)
    print(f"warm assign: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms, "
          f"{per_face:.0f} requests per face (moto on 127.0.0.1)")  # fmt: skip
    print("warm, ms per face by request: " + ", ".join(
        f"{name} {ms / 40:.1f}" for name, ms in sorted(spent.items(), key=lambda kv: -kv[1])
    ))  # fmt: skip
    print(f"the match alone ({people} people, mean + {REPRESENTATIVES} representatives): "
          f"median {statistics.median(match_times):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
