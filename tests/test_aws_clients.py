"""``eventlens.aws_clients``: botocore's clients from one session, whose data loader answers
"is this service known?" without listing every service folder."""

from __future__ import annotations

import pytest
from botocore import loaders
from botocore.exceptions import UnknownServiceError

from eventlens import aws_clients


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "waiters-2"])
def test_known_services_are_botocores_own_list(type_name: str) -> None:
    loader = loaders.create_loader()
    listed = loaders.Loader.list_available_services(loader, type_name)
    known = aws_clients.KnownServices(loader, type_name)
    assert list(known) == listed and len(known) == len(listed) and known[0] == listed[0]
    assert len(listed) > 100
    assert all(name in known for name in listed)
    folders = {p.name for root in loader.search_paths for p in _folders(root)}
    for name in [*sorted(folders - set(listed)), "nope", "", "..", "s3/../dynamodb", 3]:
        assert name not in known, name


def _folders(root: str) -> list[object]:
    from pathlib import Path

    return [p for p in Path(root).iterdir() if p.is_dir()] if Path(root).is_dir() else []


def test_clients_come_from_one_session_and_unknown_services_still_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(aws_clients, "_session", None)
    s3 = aws_clients.client("s3")
    dynamodb = aws_clients.client("dynamodb", max_attempts=3)
    assert s3.meta.service_model.service_name == "s3"
    assert dynamodb.meta.config.retries == {"total_max_attempts": 4, "mode": "adaptive"}
    assert aws_clients._session is not None
    with pytest.raises(UnknownServiceError, match="dynamodb"):  # the known ones are listed
        aws_clients.client("no-such-service")
