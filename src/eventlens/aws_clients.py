"""AWS clients with sensible retry settings, for the S3 storage, the DynamoDB stores, the
Rekognition analyzers, SNS and the SQS worker.

They are botocore's clients, made from one botocore session per process (what
``boto3.client`` makes too, from boto3's default session), imported lazily: boto3 itself is not
imported (with s3transfer and multiprocessing, which its S3 client brings in), which takes
~0.1 s off a Lambda cold start. Nothing here uses boto3's additions (resources, S3 transfers).

The session's data loader answers "is this service known?" by looking in that service's
folder (``KnownServices``), not by listing all ~460 of them twice per client first (~40 ms
of a cold start); the full list is still made when something asks for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

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
            _session = _new_session()
        return _session.create_client(service, config=config, **kwargs)


def _new_session() -> Any:
    """A botocore session (as ``botocore.session.get_session()``) whose data loader is
    botocore's with ``KnownServices`` as its list of services."""
    import botocore.session
    from botocore import loaders

    class Loader(loaders.Loader):  # type: ignore[misc]  # botocore is untyped
        def list_available_services(self, type_name: str) -> Sequence[str]:
            return KnownServices(self, type_name)

    session = botocore.session.get_session()
    data_path = session.get_config_variable("data_path")  # AWS_DATA_PATH, as create_loader
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in (data_path or "").split(os.pathsep)]
    session.register_component("data_loader", Loader(extra_search_paths=[p for p in extra if p]))
    return session


class KnownServices(Sequence[str]):
    """The services a botocore ``Loader`` has ``type_name`` data for, as its
    ``list_available_services`` finds them, but ``in`` looks in the one service's folder
    only; the sorted list is made on first iteration (or ``len``)."""

    def __init__(self, loader: Any, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._names: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or os.sep in name or name in (".", ".."):
            return False
        for root in self._loader.search_paths:
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                continue
            for version in os.listdir(folder):
                if self._loader.file_loader.exists(os.path.join(folder, version, self._type_name)):
                    return True
        return False

    def _all(self) -> list[str]:
        if self._names is None:
            from botocore import loaders

            listed = loaders.Loader.list_available_services(self._loader, self._type_name)
            self._names = list(listed)
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
