"""Failure notifications through SNS."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from eventlens.aws_clients import client as make_client
from eventlens.hooks.notify import Notifier
from eventlens.results.record import Record

log = logging.getLogger("eventlens.aws.sns")

SUBJECT_LIMIT = 100
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]")  # SNS subjects: printable ASCII, no line breaks


def subject_for(record: Record) -> str:
    text = f"eventlens {record.environment}: analysis failed for {record.filename}"
    text = _NOT_SUBJECT.sub("?", text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def message_for(record: Record) -> str:
    return json.dumps(
        {
            "key": record.filename,
            "bucket": record.s3_bucket,
            "environment": record.environment,
            "branch": record.branch,
            "error": record.error,
            "timestamp": record.timestamp,
            "sequencer": record.sequencer,
            "model_version": record.model_version,
        },
        ensure_ascii=False,
    )


class SnsNotifier(Notifier):
    """Publishes one message per failed record; never raises (a failure is logged)."""

    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    def failure(self, record: Record) -> None:
        try:
            if self._client is None:
                self._client = make_client("sns")
            self._client.publish(
                TopicArn=self.topic_arn, Subject=subject_for(record), Message=message_for(record)
            )
        except Exception:
            log.exception("could not publish the failure of %s to SNS", record.filename)
