"""Findings search on the DynamoDB store (a Scan filtered like the SQLite findings index)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventlens.results.base import Query
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.finding_terms import ANY
from tests.test_findings_search import BETA, keys, records

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]


def test_dynamodb_query_filters_by_findings(stack: Stack) -> None:
    store = DynamoDBResultStore(stack.tables)
    for i, record in enumerate(records()):
        record.sequencer = f"{i + 1:02X}"
        store.put(record)
    assert keys(store.query(Query("beta", findings=(("text", "Invoice"),)))) == {"receipt.jpg"}
    assert keys(store.query(Query("beta", findings=(("faces", ANY),)))) == {
        "portrait.jpg", "portrait-copy.jpg"
    }  # fmt: skip
    both = Query("beta", label="person", findings=(("duplicate", BETA + "portrait.jpg"),))
    assert keys(store.query(both)) == {"portrait-copy.jpg"}
    assert store.query(Query("beta", findings=(("moderation", "Nudity"),))) == []
    assert keys(store.query(Query("beta", findings=(("color", "Red"),)))) == {"portrait-copy.jpg"}
    assert store.query(Query("beta", findings=(("color", "green"),))) == []
