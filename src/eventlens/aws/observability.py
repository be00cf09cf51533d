"""JSON logs the AWS way, with Powertools for AWS Lambda (Python).

In Lambda and in ``eventlens worker``, ``structured_logs()`` puts Powertools' Logger on the
``eventlens`` logger, so every eventlens line is JSON on stdout with ``service``, ``level``,
``timestamp``, and, through ``lambda_entry``, the invocation's ``function_request_id`` and
``cold_start``. The per-outcome lines and the metrics are a hook:
``eventlens.hooks.powertools``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar

from eventlens.hooks.powertools import SERVICE

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

F = TypeVar("F", bound=Callable[..., Any])
_logger: Logger | None = None


def structured_logs(stream: IO[str] | None = None) -> Logger:
    """Powertools' JSON Logger on the ``eventlens`` logger (stdout, which Lambda sends to
    CloudWatch Logs); once per process, later calls return the same Logger."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(service=SERVICE, stream=stream)
    return _logger


def lambda_entry(handler: F) -> F:
    """In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set): ``handler`` with JSON logs carrying the
    invocation's context (request id, cold start); elsewhere ``handler`` itself."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return handler
    decorated: F = structured_logs().inject_lambda_context(handler, clear_state=True)
    return decorated
