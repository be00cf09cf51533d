"""Every setting of eventlens, defined once: its ``EVENTLENS_*`` variable, its default (one for
the embedded mode and, where AWS genuinely differs, one for Lambda and the SQS worker), how its
text is read and checked, and its help text.

The CLI takes its options' help and defaults from here (``eventlens.cli.options``), the docs'
settings tables are generated from here (``eventlens.settings_docs``), and the
local runner, the Lambda handler and ``eventlens worker`` all load the same ``Settings`` with
``Settings.from_env`` (``mode="local"`` or ``"aws"``).

A small loader rather than pydantic-settings: importing pydantic-settings and a 20-field model
costs about 100 ms in a fresh interpreter, more than the whole Lambda handler's import (about
60 ms): ``python bench/bench_settings_import.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from eventlens.routing import DEFAULT_ROUTES, Route, Router, parse_route

log = logging.getLogger("eventlens.settings")

PREFIX = "EVENTLENS_"
#: a 20,000 x 6,000 panorama is fine, a 20,000 x 20,000 canvas is not
DEFAULT_MAX_PIXELS = 120_000_000
MIB = 1024 * 1024
#: Configured analyzer name → registry name (``bundled`` is the old name of ``labels``).
ANALYZER_ALIASES = {"bundled": "labels"}


class Mode(StrEnum):
    LOCAL = "local"  # eventlens run / serve / results ...: a folder and SQLite
    AWS = "aws"  # the Lambda handler and ``eventlens worker``: S3, DynamoDB, SNS


BOTH = frozenset({Mode.LOCAL, Mode.AWS})
LOCAL = frozenset({Mode.LOCAL})
AWS = frozenset({Mode.AWS})


# -- parsers: text of a variable or option → value (ValueError with the reason) -------------


def parse_analyzers(spec: str) -> dict[str, list[str]]:
    """``labels,faces`` (every environment: key ``*``) or ``beta=labels,faces;prod=labels``."""
    result: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        env, sep, names = part.rpartition("=")
        listed = [n.strip().lower() for n in names.split(",") if n.strip()]
        result[env.strip() if sep else "*"] = [ANALYZER_ALIASES.get(n, n) for n in listed]
    if not result:
        raise ValueError("names no analyzers")
    return result


def _routes(value: str) -> tuple[Route, ...]:
    return tuple(parse_route(s) for s in value.split(",") if s.strip())


def _number(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError:
            raise ValueError("is not a number") from None

    return parse


def _text(value: str) -> str:
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def _show_analyzers(value: Mapping[str, list[str]]) -> str:
    return ";".join(
        ",".join(names) if env == "*" else f"{env}={','.join(names)}"
        for env, names in value.items()
    )


def _show_routes(routes: tuple[Route, ...]) -> str:
    return ",".join(f"{r.prefix}={r.environment}:{r.table}" for r in routes)


def _show_path(path: Path) -> str:
    return str(path) if path.is_absolute() else f"./{path}"


def _show_bytes(value: int) -> str:
    return f"{value // MIB} MiB" if value % MIB == 0 else f"{value:,} bytes"


@dataclass(frozen=True, slots=True)
class Option:
    """What one setting is: the field's metadata, read by the loader, the CLI and the docs."""

    help: str
    variable: str = ""  # filled in from the field name: EVENTLENS_<NAME>
    parse: Callable[[str], Any] = _text
    modes: frozenset[Mode] = BOTH
    #: the default in AWS mode where it differs from the field's (the local) default (None:
    #: the same)
    aws_default: Any = None
    #: the default as the docs show it, where the value itself says little ("CPU cores")
    shown_default: str | None = None
    show: Callable[[Any], str] = str
    minimum: float | None = None
    maximum: float | None = None
    #: the command-line option that sets it, for the docs (the CLI declares the option)
    cli: str = ""
    #: older variables still read (with a deprecation warning) when ``variable`` is not set
    deprecated: tuple[str, ...] = ()
    #: variables of other tools read when ``variable`` is not set (no warning)
    fallbacks: tuple[str, ...] = ()

    def check(self, value: Any) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")


def setting(default: Any = None, *, factory: Callable[[], Any] | None = None, **option: Any) -> Any:
    """A ``Settings`` field with its ``Option``."""
    metadata = {"option": Option(**option)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(slots=True)
class Settings:
    """One process's settings; ``Settings()`` holds the embedded mode's defaults."""

    # -- where things are (embedded mode) ---------------------------------------------------
    root: Path = setting(
        Path("./eventlens-bucket"), parse=Path, modes=LOCAL, cli="--root",
        help="folder acting as the bucket", show=_show_path,
    )  # fmt: skip
    db: Path | None = setting(
        None, parse=Path, modes=LOCAL, cli="--db", shown_default="`<root>/.eventlens/eventlens.db`",
        help="SQLite file (results, intake queue, dead letters)",
    )  # fmt: skip
    routes: tuple[Route, ...] = setting(
        DEFAULT_ROUTES, parse=_routes, show=_show_routes, modes=LOCAL,
        cli="--route prefix=env[:table]",
        help="prefix → environment → results table (comma-separated); longest prefix wins",
    )  # fmt: skip
    # -- AWS: one environment per function ---------------------------------------------------
    environment: str = setting(
        "beta", modes=AWS, cli="--env",
        help="`beta` or `prod` (others with `EVENTLENS_ALLOW_ANY_ENVIRONMENT=1`)",
    )  # fmt: skip
    allow_any_environment: bool = setting(
        False,
        parse=_flag,
        modes=AWS,
        show=lambda v: "1" if v else "0",
        help="`1`: accept an `EVENTLENS_ENVIRONMENT` other than beta/prod",
    )
    results_backend: str = setting(
        "dynamodb", modes=AWS, help="where records go; only `dynamodb` runs on AWS"
    )
    results_table: str = setting(
        "", modes=AWS, cli="--table", shown_default="`<env>_results`", help="DynamoDB results table"
    )
    prefix: str = setting(
        "", modes=AWS, cli="--prefix", shown_default="`rekognition-input/<env>/`",
        help="the watched key prefix",
    )  # fmt: skip
    failure_topic_arn: str | None = setting(
        None, parse=_optional_text, modes=AWS, shown_default="none: log only",
        help="SNS topic for failure notices",
    )  # fmt: skip
    ttl_days: int = setting(
        0, parse=_number(int), modes=AWS, minimum=0,
        help="sets `expires_at` for DynamoDB TTL; 0 = off",
    )  # fmt: skip
    # -- analysis (both modes) ---------------------------------------------------------------
    analyzers: dict[str, list[str]] = setting(
        factory=lambda: {"*": ["labels", "image_properties"]}, parse=parse_analyzers,
        aws_default={"*": ["rekognition"]}, show=_show_analyzers, cli="--analyzers",
        deprecated=("EVENTLENS_ANALYZER",),
        help="analyzers, globally (`labels,faces`) or per environment "
        "(`beta=labels,text;prod=labels`); the first supplies `labels`; "
        "`EVENTLENS_ANALYZER` (one name) is its deprecated form",
    )  # fmt: skip
    label_model: str = setting(
        "lite0-people", cli="--label-model",
        help="the bundled label model: `lite0-people`, `lite0` (no detectors), `lite0-objects` "
        "(+ objects with boxes), `lite0-people-tiles` (+ small people: tiles when unsure), "
        "`lite0-people-vote` (+ tiles, and NanoDet confirms an unsure person), "
        "`lite0-calibrated` (calibrated, no caps), `lite0-people-sure` (the caps lifted where the "
        "calibrator is sure), `lite0-calibrated-platt` (its first fit), "
        "`lite0-evidence` (calibrated with the detectors' evidence, + objects), `lite1-people`, "
        "`lite2-people` (extras `lite1`/`lite2`)",
    )  # fmt: skip
    max_labels: int = setting(
        10, parse=_number(int), minimum=1, cli="--max-labels", help="DetectLabels `MaxLabels`"
    )
    min_confidence: float = setting(
        55.0, parse=_number(float), minimum=0, maximum=100, cli="--min-confidence",
        help="DetectLabels `MinConfidence`", show=lambda v: f"{v:g}",
    )  # fmt: skip
    max_bytes: int = setting(
        50 * MIB, parse=_number(int), minimum=1, show=_show_bytes, aws_default=15 * MIB,
        help="larger objects get an error record without being read; on AWS Rekognition's "
        "S3Object limit (the Rekognition analyzers refuse more anyway) and the memory of a "
        "256 MB function",
    )  # fmt: skip
    max_pixels: int = setting(
        DEFAULT_MAX_PIXELS, parse=_number(int), minimum=1, show=lambda v: f"{v // 1_000_000} MP",
        help="larger canvases get an error record without being decoded",
    )  # fmt: skip
    branch: str = setting(
        "local", aws_default="main", fallbacks=("GITHUB_REF_NAME",),
        help="the record's `branch` (an object's `branch` metadata wins); "
        "`GITHUB_REF_NAME` when unset",
    )  # fmt: skip
    max_attempts: int = setting(
        5, parse=_number(int), minimum=1, aws_default=3,
        help="attempts before an event gets an error record (locally: and a dead letter); "
        "on AWS the SQS receives (Terraform: the queue's `maxReceiveCount`)",
    )  # fmt: skip
    video_fps: float = setting(
        1.0, parse=_number(float), minimum=0.001, show=lambda v: f"{v:g}",
        help="`video`: frames sampled per second (at most 3,600 samples)",
    )  # fmt: skip
    duplicate_max_distance: int = setting(
        6, parse=_number(int), minimum=0, maximum=64,
        help="`duplicates`: largest pHash distance in bits (at most 7 on AWS)",
    )  # fmt: skip
    people: bool = setting(
        False, parse=_flag, shown_default="off",
        help="`on`: add the `people` analyzer (face descriptors, a person per face) to every "
        "environment; naming `people` in the analyzers does the same for one",
    )  # fmt: skip
    people_threshold: float = setting(
        0.46, parse=_number(float), minimum=0.1, maximum=1.5,  # face_people.DEFAULT_THRESHOLD
        show=lambda v: f"{v:g}",
        help="`people`: a new face joins a person with a face closer than this (chosen on the "
        "tuning people; dlib's pairwise 0.6 chains people together)",
    )  # fmt: skip
    people_similarity: float = setting(
        90.0, parse=_number(float), minimum=1, maximum=100, show=lambda v: f"{v:g}",
        help="`people` with `rekognition-faces` (AWS): a new face joins a person whose face the "
        "Rekognition face collection finds at least this similar (its `Similarity`, 0-100; "
        "not `people_threshold`'s distance)",
    )  # fmt: skip
    hashes_table: str = setting(
        "", modes=AWS, shown_default="`<env>_image_hashes`",
        help="`duplicates`: the DynamoDB hash table",
    )  # fmt: skip
    people_table: str = setting(
        "", modes=AWS, shown_default="`<env>_people`",
        help="`people`: the DynamoDB table of faces and people",
    )  # fmt: skip
    people_collection: str = setting(
        "", modes=AWS, shown_default="`<env>_people`",
        help="`people` with `rekognition-faces`: the Rekognition face collection of the faces",
    )  # fmt: skip
    video_topic_arn: str | None = setting(
        None, parse=_optional_text, modes=AWS,
        help="`rekognition-video`: the SNS topic Rekognition announces finished jobs on",
    )  # fmt: skip
    video_role_arn: str | None = setting(
        None, parse=_optional_text, modes=AWS,
        help="`rekognition-video`: the IAM role Rekognition publishes with",
    )  # fmt: skip
    # -- the embedded runner -----------------------------------------------------------------
    batch_size: int = setting(
        16, parse=_number(int), minimum=1, modes=LOCAL, cli="--batch-size",
        help="events claimed per batch by `run --once`, `demo` and `reanalyse` (draining a queue)",
    )  # fmt: skip
    watch_batch_size: int = setting(
        1, parse=_number(int), minimum=1, modes=LOCAL,
        help="events claimed per batch while watching: each record is written as its image "
        "is done (a batch's records wait for its last image)",
    )  # fmt: skip
    reanalyse_on_change: bool = setting(
        True, parse=_flag, modes=LOCAL,
        help="at start, re-analyse (newest first) every record made with other model versions "
        "or another analyzer set than the configuration in force",
    )  # fmt: skip
    workers: int | None = setting(
        None, parse=_number(int), minimum=1, shown_default="CPU cores",
        help="decoding threads and concurrent batches",
    )  # fmt: skip
    decode_memory_mb: int = setting(
        256, parse=_number(int), minimum=1,
        help="decoded-image memory budget per process (runner and `/thumb`): decodes wait "
        "until their estimated bytes fit",
    )  # fmt: skip
    audit_log: Path | None = setting(
        None, parse=Path, modes=LOCAL, cli="--audit-log FILE", shown_default="off",
        help="one JSON line per outcome (key, action, reason, sha256, duration)",
    )  # fmt: skip
    webhook_url: str | None = setting(
        None, parse=_optional_text, modes=LOCAL, cli="--webhook URL", shown_default="off",
        help="POST a JSON notice for each failed image to this URL",
    )  # fmt: skip
    give_up_after_s: float = setting(
        0.0, variable="EVENTLENS_GIVE_UP_AFTER", parse=_number(float), minimum=0, modes=LOCAL,
        shown_default="0 (never)", show=lambda v: f"{v:g}",
        help="seconds a fault (full disk, read-only database) may last before `run` exits 1 "
        "for a supervisor to restart it",
    )  # fmt: skip
    fallback_scan_s: float = setting(
        10.0, variable="EVENTLENS_FALLBACK_SCAN", parse=_number(float), minimum=0.5,
        modes=LOCAL, show=lambda v: f"{v:g}",
        help="seconds between scans of the bucket folder while some of its folders cannot be "
        "watched (the inotify watch limit reached; `/healthz` says degraded)",
    )  # fmt: skip
    mtcnn_weights: Path | None = setting(
        None, parse=Path, shown_default="the installed `facenet-pytorch`'s",
        help="`faces`: a folder with MTCNN's `pnet.pt`, `rnet.pt`, `onet.pt` "
        "(`scripts/fetch-mtcnn-weights DIR`)",
    )  # fmt: skip
    cache_dir: Path | None = setting(
        None, parse=Path, shown_default="user cache dir",
        help="where the converted ONNX models are kept",
    )  # fmt: skip
    web_token: str | None = setting(
        None, parse=_optional_text, modes=LOCAL, cli="--token", shown_default="none on loopback",
        help="`serve`: require this token (Bearer header, or open the printed URL once); "
        "made up for you when `--host` is not loopback",
    )  # fmt: skip
    bucket: str | None = setting(
        None, parse=_optional_text, modes=AWS, cli="--bucket", help="`upload`: the S3 bucket"
    )
    #: which mode's defaults and checks these settings were loaded with
    mode: Mode = Mode.LOCAL

    # -- derived values ----------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.db or self.root / ".eventlens" / "eventlens.db"

    @property
    def table(self) -> str:
        """AWS: this function's results table."""
        return self.results_table or f"{self.environment}_results"

    @property
    def hash_table(self) -> str:
        return self.hashes_table or f"{self.environment}_image_hashes"

    @property
    def people_table_name(self) -> str:
        return self.people_table or f"{self.environment}_people"

    @property
    def people_collection_name(self) -> str:
        return self.people_collection or f"{self.environment}_people"

    @property
    def uses_face_collection(self) -> bool:
        """AWS, people on and ``rekognition-faces`` the face analyzer: the faces' descriptors
        live in a Rekognition face collection."""
        if self.mode is not Mode.AWS:
            return False
        names = self.analyzer_names
        return "people" in names and "rekognition-faces" in names

    @property
    def key_prefix(self) -> str:
        prefix = self.prefix or f"rekognition-input/{self.environment}/"
        return prefix if prefix.endswith("/") else prefix + "/"

    @property
    def router(self) -> Router:
        """Locally the configured routes; on AWS the one environment's prefix and table."""
        if self.mode is Mode.AWS:
            return Router([Route(self.key_prefix, self.environment, self.table)])
        return Router(self.routes)

    @property
    def tables(self) -> dict[str, str]:
        return {route.environment: route.table for route in self.router.routes}

    @property
    def analyzer_names(self) -> list[str]:
        """AWS: this function's environment's analyzers; the first supplies the labels."""
        return self.analyzers_for(self.environment)

    def analyzers_for(self, environment: str) -> list[str]:
        """An environment's analyzers: its own entry, else the ``*`` one; without either, the
        embedded mode uses its default and AWS refuses to start."""
        names = self.analyzers.get(environment) or self.analyzers.get("*")
        if not names and self.mode is Mode.LOCAL:
            names = default_for("analyzers", Mode.LOCAL)["*"]
        if names:
            people = ["people"] if self.people and "people" not in names else []
            return [*names, *people]
        configured = ", ".join(sorted(self.analyzers))
        raise ValueError(
            f"EVENTLENS_ANALYZERS names no analyzers for {environment!r} "
            f"(configured: {configured}); add '{environment}=...' or a default"
        )

    def analyzers_by_environment(self) -> dict[str, list[str]]:
        return {env: self.analyzers_for(env) for env in self.tables}

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        mode: Mode | str = Mode.LOCAL,
        **overrides: Any,
    ) -> Settings:
        """Defaults of ``mode``, then ``EVENTLENS_*`` variables, then ``overrides`` (values
        given on the command line: already typed, or text read like the variable; None means
        not given). Raises ValueError naming the variable or option."""
        env = os.environ if environ is None else environ
        mode = Mode(mode)
        values: dict[str, Any] = {"mode": mode}
        for name, option in options().items():
            values[name] = default_for(name, mode)
            found = _lookup(option, env)
            if found is not None:
                variable, text = found
                values[name] = _parse(option, variable, text)
        for name, value in overrides.items():
            if value is None:
                continue
            option = options()[name]
            if isinstance(value, str):
                value = _parse(option, (option.cli.split() or [name])[0], value)
            values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Each value's bounds, then AWS's own rules."""
        for name, option in options().items():
            value = getattr(self, name)
            if value is not None and (option.minimum, option.maximum) != (None, None):
                try:
                    option.check(value)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{option.variable}={value!r}: {exc}") from None
        if self.mode is Mode.AWS:
            if self.environment not in ("beta", "prod") and not self.allow_any_environment:
                raise ValueError(
                    f"EVENTLENS_ENVIRONMENT must be beta or prod, not {self.environment!r}"
                )
            if self.results_backend != "dynamodb":
                raise ValueError(
                    f"EVENTLENS_RESULTS_BACKEND={self.results_backend!r}: only dynamodb runs on AWS"
                )
            self.analyzer_names  # noqa: B018 - fail at start, not on the first image


# -- the option table ---------------------------------------------------------------------------


def options() -> dict[str, Option]:
    """Field name → its Option (with the variable name filled in), in declaration order."""
    if not _OPTIONS:
        for item in dataclasses.fields(Settings):
            option = item.metadata.get("option")
            if option is None:
                continue
            variable = option.variable or PREFIX + item.name.upper()
            _OPTIONS[item.name] = dataclasses.replace(option, variable=variable)
    return _OPTIONS


_OPTIONS: dict[str, Option] = {}


def default_for(name: str, mode: Mode = Mode.LOCAL) -> Any:
    option = options()[name]
    if mode is Mode.AWS and option.aws_default is not None:
        return option.aws_default
    item = next(f for f in dataclasses.fields(Settings) if f.name == name)
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default


def read(name: str, environ: Mapping[str, str] | None = None, mode: Mode = Mode.LOCAL) -> Any:
    """One setting from the environment, for code that reads it once per process (the worker
    pool, the decode budget) without a ``Settings`` at hand."""
    option = options()[name]
    found = _lookup(option, os.environ if environ is None else environ)
    if found is None:
        return default_for(name, mode)
    value = _parse(option, *found)
    try:
        option.check(value)
    except ValueError as exc:
        raise ValueError(f"{found[0]}={found[1]!r}: {exc}") from None
    return value


def _lookup(option: Option, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable, text) of the first variable set for ``option``; blank counts as unset."""
    if text := env.get(option.variable, "").strip():
        for old in option.deprecated:
            if env.get(old, "").strip():
                log.warning("%s=%s is ignored: %s is set", old, env[old].strip(), option.variable)
        return option.variable, text
    for old in option.deprecated:
        if text := env.get(old, "").strip():
            log.warning("%s is deprecated: use %s=%s", old, option.variable, text.lower())
            return old, text
    for other in option.fallbacks:
        if text := env.get(other, "").strip():
            return other, text
    return None


def _parse(option: Option, source: str, text: str) -> Any:
    try:
        return option.parse(text)
    except ValueError as exc:
        reason = str(exc)
        joiner = " " if reason.startswith("is ") else ": "
        raise ValueError(f"{source}={text!r}{joiner}{reason}") from None
