"""A moto server on 127.0.0.1 for the whole test session, and per-test AWS resources.

Test modules opt in with ``pytest_plugins = ["tests.aws_fixtures"]``. Every test gets its own
bucket, tables, queues and topic (unique names), so tests do not see each other's state.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto")

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE",
)  # fmt: skip


@dataclass
class Stack:
    """One test's AWS resources on the moto server."""

    endpoint: str
    s3: Any
    dynamodb: Any
    sqs: Any
    sns: Any
    bucket: str
    tables: dict[str, str]
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    failures_url: str  # an SQS queue subscribed to the failure topic

    def receive(self, url: str, wanted: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Receive until ``wanted`` messages arrived (or the timeout); does not delete them."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(messages) < wanted and time.monotonic() < deadline:
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            messages.extend(response.get("Messages", []))
        return messages

    def failure_messages(self, wanted: int = 1, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Failure notifications (the SNS envelope's Message, parsed) seen by the subscriber."""
        raw = self.receive(self.failures_url, wanted, timeout_s)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in raw]

    def handle_queued(self, wanted: int) -> dict[str, Any]:
        """The Lambda handler's answer to ``wanted`` messages of the event queue, delivered as
        SQS records (as the event source mapping does); the messages are then deleted."""
        from eventlens.aws import handler as lambda_handler
        from eventlens.aws.worker import to_lambda_records

        messages = self.receive(self.queue_url, wanted, timeout_s=20)
        assert len(messages) == wanted, f"expected {wanted} messages, got {len(messages)}"
        answer: dict[str, Any] = lambda_handler.handler(
            {"Records": to_lambda_records(messages, self.queue_arn)}, None
        )
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return answer

    def put_image(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=metadata or {})


@pytest.fixture
def stack(moto_endpoint: str) -> Stack:
    import boto3

    from eventlens.results.dynamodb import create_table

    suffix = uuid.uuid4().hex[:10]
    s3 = boto3.client("s3", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)

    tables = {"beta": f"beta_results_{suffix}", "prod": f"prod_results_{suffix}"}
    for table in tables.values():
        create_table(dynamodb, table)

    dlq_url = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=f"intake-{suffix}",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    queue_arn = _arn(sqs, queue_url)

    topic_arn = sns.create_topic(Name=f"failures-{suffix}")["TopicArn"]
    failures_url = sqs.create_queue(QueueName=f"failures-{suffix}")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_arn(sqs, failures_url))

    bucket = f"eventlens-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": "rekognition-input/"}]}
                    },
                }
            ]
        },
    )
    stack = Stack(
        moto_endpoint, s3, dynamodb, sqs, sns, bucket, tables, queue_url, queue_arn, dlq_url,
        topic_arn, failures_url,
    )  # fmt: skip
    # moto, like S3, announces a new notification configuration with an s3:TestEvent: drain it
    for message in stack.receive(queue_url, 1, timeout_s=2):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return stack


def _arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
