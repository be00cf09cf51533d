"""Parsing S3 / SQS / SNS / EventBridge payloads into ObjectEvents (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventlens.events.base import EventKind
from eventlens.events.s3 import (
    UnrecognisedEvent,
    decode_key,
    encode_key,
    parse_body,
    parse_lambda_event,
)

# Keys as people name files: spaces, '+', '%', unicode, nested folders.
key_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    min_size=1,
    max_size=60,
)


def s3_record(
    key: str, *, bucket: str = "photos", name: str = "ObjectCreated:Put", **obj: Any
) -> dict[str, Any]:
    """Shaped like moto's S3 → SQS notification: no userIdentity, key already encoded."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T03:00:00.000Z",
        "eventName": name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, **obj},
        },
    }


def sqs_message(body: str, message_id: str = "m-1", receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "rh-" + message_id,
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
    }


def sns_envelope(message: str, **attributes: tuple[str, str]) -> dict[str, Any]:
    """``attributes``: name=(Type, Value), as SNS writes MessageAttributes for subscribers."""
    return {
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:t",
        "Message": message,
        "MessageAttributes": {k: {"Type": t, "Value": v} for k, (t, v) in attributes.items()},
    }


def sns_invocation(*envelopes: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "Sns": e} for e in envelopes]}


def eventbridge(key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "eb-1",
        "detail-type": detail_type,
        "source": "aws.s3",
        "time": "2026-11-28T03:00:00Z",
        "detail": {
            "bucket": {"name": "photos"},
            "object": {"key": key, "size": 12, "etag": "abc", "sequencer": "00617F0829"},
        },
    }


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("rekognition-input/beta/my+cat.jpg", "rekognition-input/beta/my cat.jpg"),
        ("rekognition-input/beta/c%2B%2B.png", "rekognition-input/beta/c++.png"),
        ("a%2Fb.jpg", "a/b.jpg"),
        ("caf%C3%A9+%E2%98%95.jpg", "café ☕.jpg"),
        ("100%25.jpg", "100%.jpg"),
    ],
)
def test_keys_are_form_decoded(raw: str, decoded: str) -> None:
    assert decode_key(raw) == decoded


@given(key_text)
def test_key_encoding_round_trips(key: str) -> None:
    encoded = encode_key(key)
    assert " " not in encoded  # S3 writes spaces as '+'
    assert decode_key(encoded) == key


@given(
    key_text,
    st.integers(min_value=0, max_value=2**40),
    st.from_regex(r"[0-9A-F]{16,18}", fullmatch=True),
)
def test_s3_notification_in_sqs_round_trips(key: str, size: int, sequencer: str) -> None:
    body = json.dumps(
        {"Records": [s3_record(encode_key(key), size=size, eTag="e1", sequencer=sequencer)]}
    )
    batch = parse_lambda_event({"Records": [sqs_message(body, "id-7", 3)]})
    assert batch.is_sqs and not batch.unparseable
    (item,) = batch.events
    assert item.message_id == "id-7" and item.receive_count == 3
    assert item.event.key == key and item.event.bucket == "photos"
    assert (item.event.size, item.event.etag, item.event.sequencer) == (size, "e1", sequencer)
    assert item.event.kind is EventKind.CREATED and item.event.source == "s3"


@given(key_text)
def test_sns_wrapped_notification_in_sqs_and_direct_sns_agree(key: str) -> None:
    s3_json = json.dumps({"Records": [s3_record(encode_key(key), sequencer="0A")]})
    via_sqs = parse_lambda_event({"Records": [sqs_message(json.dumps(sns_envelope(s3_json)))]})
    direct = parse_lambda_event(sns_invocation(sns_envelope(s3_json)))
    assert direct.source == "sns" and not direct.is_sqs
    assert [e.event.key for e in via_sqs.events] == [e.event.key for e in direct.events] == [key]
    assert [e.dead_letter_error for e in via_sqs.events + direct.events] == [None, None]


# The AWS Lambda Developer Guide (dlq.html) documents ErrorCode as a Number; accept either type.
@pytest.mark.parametrize("code_type", ["Number", "String"])
def test_lambda_dead_letter_messages_mark_their_events(code_type: str) -> None:
    s3_json = json.dumps({"Records": [s3_record("beta/my+cat.jpg", eTag="e1", sequencer="0A")]})
    attributes = {
        "RequestID": ("String", "8b0c5f5e-1b2a-4a5e-9d0e-0f3d2f1c7a11"),
        "ErrorCode": (code_type, "200"),
        "ErrorMessage": ("String", "Task timed out after 60.00 seconds"),
    }
    direct = parse_lambda_event(sns_invocation(sns_envelope(s3_json, **attributes)))
    (item,) = direct.events
    assert item.event.key == "beta/my cat.jpg" and item.event.etag == "e1"
    assert item.dead_letter_error == "Task timed out after 60.00 seconds"
    assert item.message_id is None and not direct.unparseable
    # the same SNS message delivered to an SQS queue: the SQS message id is kept as well
    body = json.dumps(sns_envelope(s3_json, **attributes))
    (queued,) = parse_lambda_event({"Records": [sqs_message(body, "m-9")]}).events
    assert queued.dead_letter_error == item.dead_letter_error and queued.message_id == "m-9"
    # no ErrorMessage: the code stands in for it
    del attributes["ErrorMessage"]
    (bare,) = parse_lambda_event(sns_invocation(sns_envelope(s3_json, **attributes))).events
    assert bare.dead_letter_error == "ErrorCode 200"


def test_sns_messages_that_are_not_object_events_are_reported_not_raised() -> None:
    failure_notice = json.dumps({"key": "beta/x.jpg", "environment": "beta", "error": "boom"})
    alarm = json.dumps({"AlarmName": "rekognition-beta-handler-errors", "NewStateValue": "ALARM"})
    dead_letter = sns_envelope(
        json.dumps({"Records": [s3_record("beta/x.jpg")]}), ErrorCode=("Number", "200")
    )
    # a dead letter of an SNS invocation: its Message is a Lambda SNS event, not an S3 one
    nested = sns_envelope(json.dumps(sns_invocation(dead_letter)), ErrorCode=("Number", "200"))
    envelopes = [sns_envelope(m) for m in (failure_notice, alarm, "plain text")] + [nested]
    for i, envelope in enumerate(envelopes):
        envelope["MessageId"] = f"sns-{i}"
    batch = parse_lambda_event(sns_invocation(*envelopes))
    assert batch.source == "sns" and batch.events == [] and batch.message_ids == []
    assert set(batch.unparseable) == {"sns-0", "sns-1", "sns-2", "sns-3"}


@given(key_text)
def test_eventbridge_object_created(key: str) -> None:
    batch = parse_lambda_event(eventbridge(encode_key(key)))
    assert batch.source == "eventbridge"
    (item,) = batch.events
    assert item.event.key == key and item.event.sequencer == "00617F0829"
    assert item.event.etag == "abc" and item.event.size == 12 and item.message_id is None


def test_eventbridge_deleted_is_removed_and_other_types_ignored() -> None:
    (removed,) = parse_lambda_event(eventbridge("a.jpg", "Object Deleted")).events
    assert removed.event.kind is EventKind.REMOVED
    assert parse_lambda_event(eventbridge("a.jpg", "Object Tags Added")).events == []


def test_direct_s3_invocation_with_removal_and_quoted_etag() -> None:
    payload = {
        "Records": [
            s3_record("x/a.jpg", size=5, eTag='"q"', sequencer="01"),
            s3_record("x/b.jpg", name="ObjectRemoved:Delete", sequencer="02"),
        ]
    }
    batch = parse_lambda_event(payload)
    assert batch.source == "s3"
    a, b = (item.event for item in batch.events)
    assert a.etag == "q" and a.kind is EventKind.CREATED
    assert b.kind is EventKind.REMOVED and b.size is None and b.etag is None


def test_test_events_are_ignored_and_garbage_is_reported_per_message() -> None:
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "photos"})
    good = json.dumps({"Records": [s3_record("k.jpg")]})
    batch = parse_lambda_event(
        {
            "Records": [
                sqs_message(test_event, "t"),
                sqs_message("not json", "bad"),
                sqs_message(json.dumps({"hello": 1}), "odd"),
                sqs_message(good, "ok"),
            ]
        }
    )
    assert [e.message_id for e in batch.events] == ["ok"]
    assert set(batch.unparseable) == {"bad", "odd"}
    assert batch.message_ids == ["t", "bad", "odd", "ok"]


def test_missing_optional_fields_are_tolerated_but_missing_key_is_not() -> None:
    record = s3_record("k.jpg")
    del record["eventTime"], record["awsRegion"]
    (event,) = parse_body(json.dumps({"Records": [record]}))
    assert event.sequencer is None and event.size is None and event.etag is None
    broken = s3_record("k.jpg")
    del broken["s3"]["object"]["key"]
    with pytest.raises(UnrecognisedEvent):
        parse_body(json.dumps({"Records": [broken]}))


def test_unrecognised_direct_payload_raises() -> None:
    with pytest.raises(UnrecognisedEvent):
        parse_lambda_event({"foo": "bar"})
