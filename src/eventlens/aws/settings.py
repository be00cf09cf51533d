"""Lambda / worker settings from ``EVENTLENS_*`` environment variables.

Beta and prod run the same code; only these variables differ. ``EVENTLENS_ANALYZERS`` takes
the embedded mode's syntax (``eventlens.config.parse_analyzers``): ``rekognition,duplicates``
for every environment, or ``beta=rekognition,rekognition-faces;prod=rekognition`` per
environment. ``EVENTLENS_ANALYZER`` (one name) is its deprecated predecessor, read only when
``EVENTLENS_ANALYZERS`` is not set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from eventlens.config import parse_analyzers
from eventlens.imaging import DEFAULT_MAX_PIXELS

log = logging.getLogger("eventlens.aws.settings")

#: Configured name → analyzer registry name (``bundled`` is the old name of ``labels``).
ANALYZER_ALIASES = {"bundled": "labels"}
DEFAULT_ANALYZERS = "rekognition"


def registry_name(name: str) -> str:
    return ANALYZER_ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class AwsSettings:
    environment: str = "beta"
    results_table: str = ""  # default: <environment>_results
    results_backend: str = "dynamodb"
    #: environment (or ``*`` for every one) → analyzer names, as ``parse_analyzers`` returns
    analyzers: Mapping[str, list[str]] = field(default_factory=lambda: {"*": [DEFAULT_ANALYZERS]})
    prefix: str = ""  # default: rekognition-input/<environment>/
    failure_topic_arn: str | None = None
    min_confidence: float = 55.0
    max_labels: int = 10
    ttl_days: int = 0
    max_attempts: int = 3
    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    branch: str = "main"
    #: duplicates: the DynamoDB hash index table (default: <environment>_image_hashes)
    hashes_table: str = ""
    duplicate_max_distance: int = 6
    #: rekognition-video: the SNS topic Rekognition announces finished jobs on, and the role
    #: it publishes with
    video_topic_arn: str | None = None
    video_role_arn: str | None = None

    @property
    def table(self) -> str:
        return self.results_table or f"{self.environment}_results"

    @property
    def hash_table(self) -> str:
        return self.hashes_table or f"{self.environment}_image_hashes"

    @property
    def key_prefix(self) -> str:
        prefix = self.prefix or f"rekognition-input/{self.environment}/"
        return prefix if prefix.endswith("/") else prefix + "/"

    @property
    def analyzer_names(self) -> list[str]:
        """This environment's analyzers, as registry names; the first supplies the labels."""
        names = self.analyzers.get(self.environment) or self.analyzers.get("*")
        if not names:
            configured = ", ".join(sorted(self.analyzers))
            raise ValueError(
                f"EVENTLENS_ANALYZERS names no analyzers for {self.environment!r} "
                f"(configured: {configured}); add '{self.environment}=...' or a default"
            )
        return [registry_name(name) for name in names]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(f"EVENTLENS_{name}", "").strip()
            return value or default

        def number(name: str, default: float, convert: type[int] | type[float]) -> float:
            value = get(name, "")
            try:
                return convert(value) if value else default
            except ValueError:
                raise ValueError(f"EVENTLENS_{name}={value!r} is not a number") from None

        environment = get("ENVIRONMENT", defaults.environment)
        if environment not in ("beta", "prod") and not env.get("EVENTLENS_ALLOW_ANY_ENVIRONMENT"):
            raise ValueError(f"EVENTLENS_ENVIRONMENT must be beta or prod, not {environment!r}")
        backend = get("RESULTS_BACKEND", defaults.results_backend)
        if backend != "dynamodb":
            raise ValueError(f"EVENTLENS_RESULTS_BACKEND={backend!r}: only dynamodb runs on AWS")
        settings = cls(
            environment=environment,
            results_table=get("RESULTS_TABLE", ""),
            results_backend=backend,
            analyzers=_analyzers(env),
            prefix=get("PREFIX", ""),
            failure_topic_arn=get("FAILURE_TOPIC_ARN", "") or None,
            min_confidence=number("MIN_CONFIDENCE", defaults.min_confidence, float),
            max_labels=int(number("MAX_LABELS", defaults.max_labels, int)),
            ttl_days=int(number("TTL_DAYS", defaults.ttl_days, int)),
            max_attempts=int(number("MAX_ATTEMPTS", defaults.max_attempts, int)),
            max_bytes=int(number("MAX_BYTES", defaults.max_bytes, int)),
            max_pixels=int(number("MAX_PIXELS", defaults.max_pixels, int)),
            branch=get("BRANCH", defaults.branch),
            hashes_table=get("HASHES_TABLE", ""),
            duplicate_max_distance=int(
                number("DUPLICATE_MAX_DISTANCE", defaults.duplicate_max_distance, int)
            ),
            video_topic_arn=get("VIDEO_TOPIC_ARN", "") or None,
            video_role_arn=get("VIDEO_ROLE_ARN", "") or None,
        )
        if settings.max_attempts < 1:
            raise ValueError("EVENTLENS_MAX_ATTEMPTS must be at least 1")
        if settings.max_pixels < 1:
            raise ValueError("EVENTLENS_MAX_PIXELS must be at least 1")
        settings.analyzer_names  # noqa: B018 - fail at start, not on the first image
        return settings


def _analyzers(env: Mapping[str, str]) -> dict[str, list[str]]:
    spec = env.get("EVENTLENS_ANALYZERS", "").strip()
    old = env.get("EVENTLENS_ANALYZER", "").strip().lower()
    if spec:
        if old:
            log.warning("EVENTLENS_ANALYZER=%s is ignored: EVENTLENS_ANALYZERS is set", old)
        return parse_analyzers(spec)
    if old:
        log.warning("EVENTLENS_ANALYZER is deprecated: use EVENTLENS_ANALYZERS=%s", old)
        return {"*": [old]}
    return {"*": [DEFAULT_ANALYZERS]}
