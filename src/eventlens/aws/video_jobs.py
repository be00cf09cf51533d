"""The second Lambda entry point: ``eventlens.aws.video_jobs.handler``.

Rekognition Video announces each finished ``StartLabelDetection`` job on an SNS topic:
``{"JobId", "Status": "SUCCEEDED" | "FAILED" | "ERROR", "API": "StartLabelDetection",
"JobTag": <environment>, "Video": {"S3Bucket", "S3ObjectName"}}``. For a job of this
function's environment whose record still names it (a newer upload of the key starts a newer
job, and only that one may write), the handler reads the labels (``GetLabelDetection``) into
the record; a failed job turns the record into an error record and publishes the failure.
A transient error (throttling, DynamoDB) or a missing record raises, so Lambda retries the
invocation (twice, then it goes to the failure topic as the function's dead letter).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from eventlens.analyzers.rekognition_video import IN_PROGRESS, label_detection
from eventlens.analyzers.video import best_labels
from eventlens.aws import observability
from eventlens.aws_clients import client as make_client
from eventlens.errors import Transient
from eventlens.hooks.notify import LogNotifier, Notifier
from eventlens.results.base import ResultStore
from eventlens.results.record import Status, utc_now_iso
from eventlens.settings import Mode, Settings

log = logging.getLogger("eventlens.aws.video_jobs")

API = "StartLabelDetection"


class JobNotRecorded(Transient, RuntimeError):
    """The job's record is not there (yet): Lambda retries the invocation."""


@dataclass(frozen=True, slots=True)
class JobCompletion:
    job_id: str
    status: str
    tag: str
    bucket: str
    key: str


def completions(event: Mapping[str, Any]) -> Iterator[JobCompletion]:
    """The label-detection completions in an SNS invocation; anything else is logged."""
    for record in event.get("Records") or []:
        try:
            message: dict[str, Any] = json.loads(record["Sns"]["Message"])
            video = message["Video"]
            if message.get("API") != API:
                raise ValueError(f"API {message.get('API')!r}")
            yield JobCompletion(
                str(message["JobId"]), str(message["Status"]), str(message.get("JobTag", "")),
                str(video["S3Bucket"]), str(video["S3ObjectName"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignored a message that is not a label-detection completion: %r", exc)


class VideoJobs:
    def __init__(
        self,
        settings: Settings,
        results: ResultStore,
        notifier: Notifier | None = None,
        client: Any | None = None,
    ) -> None:
        self.settings = settings
        self.results = results
        self.notifier = notifier or LogNotifier()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("rekognition", max_attempts=8)
        return self._client

    def complete(self, done: JobCompletion) -> str:
        """Store a finished job's result; returns what happened (for the log)."""
        env = self.settings.environment
        if done.tag != env or not done.key.startswith(self.settings.key_prefix):
            return f"skipped: job of {done.tag!r} for {done.key!r}, not {env!r}"
        record = self.results.get(env, done.key)
        if record is None:
            # the handler writes the record right after starting the job, so a job can finish
            # first only by a hair: raising lets Lambda retry the invocation a little later
            raise JobNotRecorded(f"no record of {done.key!r} names job {done.job_id} yet")
        video = record.findings.get("video")
        if not isinstance(video, dict) or video.get("JobId") != done.job_id:
            return "skipped: the record names another job (a newer upload)"
        if video.get("JobStatus") != IN_PROGRESS:
            return "skipped: this job's result is already stored"
        findings = label_detection(self.client, done.job_id)
        record.timestamp = utc_now_iso()
        record.findings = {**record.findings, "video": findings}
        if done.status == "SUCCEEDED" and findings["JobStatus"] == "SUCCEEDED":
            record.labels = best_labels(findings)
            record.label_count = len(record.labels)
            metadata = findings["VideoMetadata"]
            record.width, record.height = metadata.get("FrameWidth"), metadata.get("FrameHeight")
        else:
            reason = findings.get("StatusMessage") or done.status
            record.status, record.error = Status.ERROR, f"Rekognition Video job failed: {reason}"
        if not self.results.put(record):
            return "skipped: a newer object version is stored"
        if not record.ok:
            self.notifier.failure(record)
            return f"failed: {record.error}"
        return f"stored: {record.label_count} labels"


_jobs: VideoJobs | None = None


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    global _jobs
    if _jobs is None:
        from eventlens import wiring

        settings = Settings.from_env(mode=Mode.AWS)
        _jobs = VideoJobs(settings, wiring.open_results(settings), wiring.notifier_for(settings))
    outcomes = {}
    for done in completions(event):
        outcomes[done.job_id] = _jobs.complete(done)
        log.info("video job %s for %s: %s", done.job_id, done.key, outcomes[done.job_id])
    return {"jobs": outcomes}


#: The entry point; in Lambda with Powertools' JSON logs and the invocation's context.
handler = observability.lambda_entry(handle)
