"""boto3 clients with sensible retry settings (boto3 is imported lazily)."""

from __future__ import annotations

from typing import Any

#: Adaptive mode retries throttling and 5xx with exponential backoff plus client-side
#: rate limiting; ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` are honoured by boto3.
DEFAULT_RETRIES = {"max_attempts": 5, "mode": "adaptive"}


def client(service: str, *, max_attempts: int = 5, **kwargs: Any) -> Any:
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


def is_client_error(exc: BaseException) -> bool:
    try:
        from botocore.exceptions import ClientError
    except ImportError:  # pragma: no cover - boto3 missing
        return False
    return isinstance(exc, ClientError)
