"""Lambda / worker settings from ``EVENTLENS_*`` environment variables.

Beta and prod run the same code; only these variables differ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

#: ``EVENTLENS_ANALYZER`` value → analyzer registry name.
ANALYZER_NAMES = {"rekognition": "rekognition", "bundled": "labels", "labels": "labels"}


@dataclass(frozen=True, slots=True)
class AwsSettings:
    environment: str = "beta"
    results_table: str = ""  # default: <environment>_results
    results_backend: str = "dynamodb"
    analyzer: str = "rekognition"  # rekognition | bundled
    prefix: str = ""  # default: rekognition-input/<environment>/
    failure_topic_arn: str | None = None
    min_confidence: float = 55.0
    max_labels: int = 10
    ttl_days: int = 0
    max_attempts: int = 3
    max_bytes: int = 15 * 1024 * 1024
    branch: str = "main"

    @property
    def table(self) -> str:
        return self.results_table or f"{self.environment}_results"

    @property
    def key_prefix(self) -> str:
        prefix = self.prefix or f"rekognition-input/{self.environment}/"
        return prefix if prefix.endswith("/") else prefix + "/"

    @property
    def analyzer_name(self) -> str:
        """The registry name: ``rekognition`` → rekognition, ``bundled`` → labels; any other
        name registered in ``eventlens.analyzers.registry`` is used as it is."""
        return ANALYZER_NAMES.get(self.analyzer, self.analyzer)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(f"EVENTLENS_{name}", "").strip()
            return value or default

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
            analyzer=get("ANALYZER", defaults.analyzer).lower(),
            prefix=get("PREFIX", ""),
            failure_topic_arn=get("FAILURE_TOPIC_ARN", "") or None,
            min_confidence=float(get("MIN_CONFIDENCE", str(defaults.min_confidence))),
            max_labels=int(get("MAX_LABELS", str(defaults.max_labels))),
            ttl_days=int(get("TTL_DAYS", str(defaults.ttl_days))),
            max_attempts=int(get("MAX_ATTEMPTS", str(defaults.max_attempts))),
            max_bytes=int(get("MAX_BYTES", str(defaults.max_bytes))),
            branch=get("BRANCH", defaults.branch),
        )
        if settings.max_attempts < 1:
            raise ValueError("EVENTLENS_MAX_ATTEMPTS must be at least 1")
        return settings
