"""boto3 clients with sensible retry settings (boto3 is imported lazily), for the S3 storage,
the DynamoDB stores, the Rekognition analyzers, SNS and the SQS worker."""

from __future__ import annotations

from typing import Any


def client(service: str, *, max_attempts: int = 5, **kwargs: Any) -> Any:
    """Adaptive mode retries throttling and 5xx with exponential backoff plus client-side
    rate limiting; ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` are honoured by boto3."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": max_attempts, "mode": "adaptive"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(service, config=config, **kwargs)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
