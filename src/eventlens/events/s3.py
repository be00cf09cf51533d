"""AWS event sources → ``ObjectEvent``s.

Understands, in any nesting Lambda or a worker sees them:

* S3 event notifications (``{"Records": [{"eventSource": "aws:s3", ...}]}``), delivered
  directly to Lambda, as an SQS message body, or inside an SNS envelope;
* SQS batches (``Records[].eventSource == "aws:sqs"``) whose bodies are any of the others —
  the SQS ``messageId`` and ``ApproximateReceiveCount`` are kept per event so a handler can
  report ``batchItemFailures``;
* SNS notifications (direct ``Records[].Sns`` or an SNS envelope as an SQS body), including
  the ones Lambda publishes to a function's dead-letter topic once its asynchronous retries are
  used up: the original payload as ``Message`` plus the message attributes ``RequestID``,
  ``ErrorCode`` and ``ErrorMessage``. Their events carry ``dead_letter_error``. A direct SNS
  message that is not an object event (a failure notice or an alarm on a shared topic) is
  reported in ``unparseable`` instead of raising;
* EventBridge ``Object Created`` / ``Object Deleted`` events from ``aws.s3``.

Object keys arrive URL-encoded in the form encoding (``my+cat.jpg`` is ``my cat.jpg``, ``%2B`` is
``+``) and are decoded with ``urllib.parse.unquote_plus``. ``s3:TestEvent`` messages are ignored.
Missing optional fields (moto omits ``userIdentity``, ``sequencer`` ...) are tolerated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from eventlens.errors import Skip
from eventlens.events.base import EventKind, ObjectEvent


class UnrecognisedEvent(Skip, ValueError):
    """The payload is not an S3, SQS, SNS or EventBridge event this module understands."""


@dataclass(frozen=True, slots=True)
class SourcedEvent:
    """An object event plus where it came from (for partial batch failure reporting)."""

    event: ObjectEvent
    message_id: str | None = None  # the SQS messageId, when delivered through SQS
    receive_count: int = 1  # SQS ApproximateReceiveCount (1 on the first delivery)
    #: Set when the event came back through a Lambda dead-letter topic: Lambda's error.
    dead_letter_error: str | None = None


@dataclass(slots=True)
class ParsedBatch:
    """Everything found in one Lambda invocation (or one SQS receive)."""

    source: str  # "sqs", "s3", "sns", "eventbridge" or "empty"
    events: list[SourcedEvent] = field(default_factory=list)
    #: SQS (or SNS) message ids whose bodies could not be parsed, with the reason.
    unparseable: dict[str, str] = field(default_factory=dict)
    #: SQS message ids seen in the batch (including ones that carried only test events).
    message_ids: list[str] = field(default_factory=list)

    @property
    def is_sqs(self) -> bool:
        return self.source == "sqs"


def decode_key(raw: str) -> str:
    """An S3 notification key → the real object key (``a+b%2Bc.jpg`` → ``a b+c.jpg``)."""
    return unquote_plus(raw)


def encode_key(key: str) -> str:
    """The inverse of ``decode_key``: how S3 writes keys into notifications (``/`` kept)."""
    return quote_plus(key, safe="/")


def parse_lambda_event(payload: Mapping[str, Any]) -> ParsedBatch:
    """Parse whatever Lambda (or the SQS worker) received. Raises ``UnrecognisedEvent``."""
    if not isinstance(payload, Mapping):
        raise UnrecognisedEvent(f"expected a JSON object, got {type(payload).__name__}")
    records = payload.get("Records")
    if isinstance(records, list) and records and _source_of(records[0]) == "aws:sqs":
        return _parse_sqs(records)
    if isinstance(records, list) and records and "Sns" in _mapping(records[0]):
        return _parse_sns(records)
    source = "eventbridge" if "detail" in payload else "s3"
    return ParsedBatch(source, [SourcedEvent(e) for e in parse_document(payload)])


def parse_document(doc: Mapping[str, Any]) -> list[ObjectEvent]:
    """One S3 notification, SNS envelope or EventBridge event (e.g. one SQS body)."""
    if doc.get("Event") == "s3:TestEvent" or doc.get("eventName") == "s3:TestEvent":
        return []
    if doc.get("Type") == "Notification" and "Message" in doc:
        return parse_sns_envelope(doc)
    if "detail" in doc and "detail-type" in doc:
        return parse_eventbridge(doc)
    records = doc.get("Records")
    if isinstance(records, list):
        return parse_s3_notification(doc)
    raise UnrecognisedEvent(f"unrecognised event with fields {sorted(doc)[:8]}")


def parse_body(body: str) -> list[ObjectEvent]:
    """An SQS message body (JSON text)."""
    return parse_document(_json_object(body))


def parse_sns_envelope(envelope: Mapping[str, Any]) -> list[ObjectEvent]:
    """An SNS notification whose ``Message`` is an S3 notification (or EventBridge) JSON."""
    message = envelope.get("Message")
    if not isinstance(message, str):
        raise UnrecognisedEvent("SNS notification without a Message")
    return parse_body(message)


def dead_letter_error(envelope: Mapping[str, Any]) -> str | None:
    """Lambda's error when ``envelope`` is an SNS message Lambda sent to a function's dead-letter
    topic (it has an ``ErrorCode`` attribute): ``ErrorMessage``, else the code; otherwise None."""
    attributes = _mapping(envelope.get("MessageAttributes"))
    code = _str_or_none(_mapping(attributes.get("ErrorCode")).get("Value"))
    if code is None:
        return None
    message = _str_or_none(_mapping(attributes.get("ErrorMessage")).get("Value"))
    return message or f"ErrorCode {code}"


def parse_s3_notification(doc: Mapping[str, Any]) -> list[ObjectEvent]:
    events = []
    for record in doc.get("Records") or []:
        if not isinstance(record, Mapping):
            continue
        name = str(record.get("eventName") or "")
        if name == "s3:TestEvent":
            continue
        s3 = _mapping(record.get("s3"))
        obj = _mapping(s3.get("object"))
        raw_key = obj.get("key")
        bucket = _mapping(s3.get("bucket")).get("name")
        if not isinstance(raw_key, str) or not isinstance(bucket, str):
            raise UnrecognisedEvent("S3 record without s3.bucket.name or s3.object.key")
        events.append(
            ObjectEvent(
                bucket=bucket,
                key=decode_key(raw_key),
                kind=EventKind.REMOVED if "ObjectRemoved" in name else EventKind.CREATED,
                size=_int_or_none(obj.get("size")),
                etag=_etag(obj.get("eTag") or obj.get("etag")),
                sequencer=_str_or_none(obj.get("sequencer")),
                event_time=_time(record.get("eventTime")),
                source="s3",
            )
        )
    return events


def parse_eventbridge(doc: Mapping[str, Any]) -> list[ObjectEvent]:
    detail_type = str(doc.get("detail-type") or "")
    if detail_type not in ("Object Created", "Object Deleted"):
        return []  # e.g. "Object Tagging" or "Object Restore": nothing to analyse
    detail = _mapping(doc.get("detail"))
    obj = _mapping(detail.get("object"))
    raw_key = obj.get("key")
    bucket = _mapping(detail.get("bucket")).get("name")
    if not isinstance(raw_key, str) or not isinstance(bucket, str):
        raise UnrecognisedEvent("EventBridge event without detail.bucket.name or object.key")
    return [
        ObjectEvent(
            bucket=bucket,
            key=decode_key(raw_key),
            kind=EventKind.REMOVED if detail_type == "Object Deleted" else EventKind.CREATED,
            size=_int_or_none(obj.get("size")),
            etag=_etag(obj.get("etag")),
            sequencer=_str_or_none(obj.get("sequencer")),
            event_time=_time(doc.get("time")),
            source="eventbridge",
        )
    ]


def _parse_sqs(records: Iterable[Any]) -> ParsedBatch:
    batch = ParsedBatch("sqs")
    for record in records:
        message = _mapping(record)
        message_id = str(message.get("messageId") or "")
        attributes = _mapping(message.get("attributes"))
        count = _int_or_none(attributes.get("ApproximateReceiveCount")) or 1
        batch.message_ids.append(message_id)
        try:
            doc = _json_object(str(message.get("body") or ""))
            events = parse_document(doc)
        except UnrecognisedEvent as exc:
            batch.unparseable[message_id] = str(exc)
            continue
        error = dead_letter_error(doc)
        batch.events.extend(SourcedEvent(e, message_id, count, error) for e in events)
    return batch


def _parse_sns(records: Iterable[Any]) -> ParsedBatch:
    # Unparseable messages are reported, not raised: SNS invokes Lambda asynchronously, so an
    # exception would only come back from the function's dead-letter topic, wrapped once more.
    batch = ParsedBatch("sns")
    for record in records:
        envelope = _mapping(_mapping(record).get("Sns"))
        try:
            events = parse_sns_envelope(envelope)
        except UnrecognisedEvent as exc:
            batch.unparseable[str(envelope.get("MessageId") or "")] = str(exc)
            continue
        error = dead_letter_error(envelope)
        batch.events.extend(SourcedEvent(e, dead_letter_error=error) for e in events)
    return batch


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UnrecognisedEvent(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise UnrecognisedEvent("body is not a JSON object")
    return doc


def _source_of(record: Any) -> str:
    if not isinstance(record, Mapping):
        return ""
    return str(record.get("eventSource") or record.get("EventSource") or "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _etag(value: Any) -> str | None:
    text = _str_or_none(value)
    return text.strip('"') if text else None


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)
