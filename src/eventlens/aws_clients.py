"""AWS clients with sensible retry settings, for the S3 storage, the DynamoDB stores, the
Rekognition analyzers, SNS and the SQS worker.

They are botocore's clients, made from one botocore session per process (what
``boto3.client`` makes too, from boto3's default session), imported lazily: boto3 itself is not
imported (with s3transfer and multiprocessing, which its S3 client brings in), which takes
~0.1 s off a Lambda cold start. Nothing here uses boto3's additions (resources, S3 transfers).
"""

from __future__ import annotations

import threading
from typing import Any

_session: Any = None
_lock = threading.Lock()


def client(service: str, *, max_attempts: int = 5, **kwargs: Any) -> Any:
    """Adaptive mode retries throttling and 5xx with exponential backoff plus client-side
    rate limiting; ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` are honoured (by
    botocore). ``kwargs``: as ``boto3.client``'s (``region_name``, ``endpoint_url`` ...)."""
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": max_attempts, "mode": "adaptive"},
        connect_timeout=5,
        read_timeout=30,
    )
    global _session
    with _lock:  # a botocore session is not safe to create clients from concurrently
        if _session is None:
            import botocore.session

            _session = botocore.session.get_session()
        return _session.create_client(service, config=config, **kwargs)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
