"""Property tests for event ordering, event encoding and route parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventlens.events.base import EventKind, ObjectEvent, sequencer_newer_or_equal
from eventlens.events.codec import event_from_json, event_to_json
from eventlens.routing import Route, Router, parse_route
from eventlens.settings import Settings

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=300,
)


@given(st.integers(0, 2**80), st.integers(0, 2**80), st.integers(0, 6), st.integers(0, 6))
def test_sequencer_order_matches_the_numbers_whatever_the_padding(
    a: int, b: int, pad_a: int, pad_b: int
) -> None:
    seq_a = "0" * pad_a + f"{a:X}"
    seq_b = "0" * pad_b + f"{b:X}"
    assert sequencer_newer_or_equal(seq_a, seq_b) == (a >= b)


@given(st.one_of(st.none(), st.text(max_size=5)))
def test_unknown_sequencers_never_block(other: str | None) -> None:
    assert sequencer_newer_or_equal(None, other)
    assert sequencer_newer_or_equal(other, None)


@given(
    keys,
    st.sampled_from(list(EventKind)),
    st.one_of(st.none(), st.integers(0, 2**40)),
    st.one_of(st.none(), st.text(max_size=40)),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    st.datetimes(timezones=st.just(UTC)),
)
def test_event_codec_round_trips(
    key: str,
    kind: EventKind,
    size: int | None,
    etag: str | None,
    metadata: dict[str, str],
    when: datetime,
) -> None:
    event = ObjectEvent(
        "bucket",
        key,
        kind=kind,
        size=size,
        etag=etag,
        sequencer="00AF",
        event_time=when,
        source="s3",
        metadata=metadata,
    )
    assert event_from_json(event_to_json(event)) == event


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)


@given(st.lists(segment, min_size=1, max_size=4), segment)
def test_route_specs_parse_and_default_the_table(parts: list[str], env: str) -> None:
    prefix = "/".join(parts)
    route = parse_route(f"{prefix}={env}")
    assert route == Route(prefix + "/", env, f"{env}_results")
    assert parse_route(f"{prefix}/={env}:t1") == Route(prefix + "/", env, "t1")


@given(keys)
def test_the_longest_matching_prefix_wins(rest: str) -> None:
    router = Router([Route("in/", "all", "t_all"), Route("in/beta/", "beta", "t_beta")])
    route = router.route_for_key("in/beta/" + rest)
    assert route is not None and route.environment == "beta"
    other = router.route_for_key("in/" + rest)
    assert other is not None
    assert other.environment == ("beta" if rest.startswith("beta/") else "all")
    assert router.route_for_key("out/" + rest) is None


def test_settings_from_environment_variables() -> None:
    settings = Settings.from_env({
        "EVENTLENS_ROOT": "/data/bucket", "EVENTLENS_ROUTES": "in/a/=alpha,in/b=beta:t_b",
        "EVENTLENS_ANALYZERS": "alpha=labels,faces;beta=labels", "EVENTLENS_MAX_LABELS": "3",
        "EVENTLENS_MIN_CONFIDENCE": "70.5", "GITHUB_REF_NAME": "main",
    })  # fmt: skip
    assert settings.root == Path("/data/bucket")
    assert settings.db_path == Path("/data/bucket/.eventlens/eventlens.db")
    assert settings.tables == {"alpha": "alpha_results", "beta": "t_b"}
    assert settings.analyzers_by_environment() == {"alpha": ["labels", "faces"], "beta": ["labels"]}
    assert (settings.max_labels, settings.min_confidence, settings.branch) == (3, 70.5, "main")
    explicit = Settings.from_env({"EVENTLENS_BRANCH": "dev", "GITHUB_REF_NAME": "main"})
    assert explicit.branch == "dev"
    with pytest.raises(ValueError, match="EVENTLENS_MAX_LABELS='many'"):
        Settings.from_env({"EVENTLENS_MAX_LABELS": "many"})
