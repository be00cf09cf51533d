"""Video labels through Amazon Rekognition Video (asynchronous): ``StartLabelDetection`` here,
``GetLabelDetection`` when the job's completion arrives (``eventlens.aws.video_jobs``).

Rekognition reads the video from S3 itself (up to 10 GB), so the pipeline does not download
it. The record written at the start carries ``findings.video = {"JobId", "JobStatus":
"IN_PROGRESS", "Labels": []}``; Rekognition announces the finished job on an SNS topic (its
``JobTag`` is the environment), and the second handler fills in the labels in the offline
``video`` analyzer's shape: ``Labels`` [{``Timestamp``, ``Label`` {Name, Confidence,
Parents}}] (plus each segment's start, end and duration) and ``VideoMetadata``.
"""

from __future__ import annotations

from typing import Any

from eventlens.analyzers.base import Analyzer, Findings
from eventlens.analyzers.rekognition import is_s3_bucket_name
from eventlens.analyzers.video import best_labels
from eventlens.aws_clients import client as make_client
from eventlens.aws_clients import error_code
from eventlens.imaging import ImageInput, ImageRejected

IN_PROGRESS = "IN_PROGRESS"
#: GetLabelDetection entries kept per video (a DynamoDB item holds at most 400 KB)
MAX_LABEL_ENTRIES = 1000
_REJECTED = frozenset(
    {"InvalidS3ObjectException", "VideoTooLargeException", "InvalidParameterException"}
)
_SEGMENT_FIELDS = ("StartTimestampMillis", "EndTimestampMillis", "DurationMillis")
_METADATA_FIELDS = (
    "Codec", "DurationMillis", "Format", "FrameRate", "FrameHeight", "FrameWidth",
)  # fmt: skip


class RekognitionVideoAnalyzer(Analyzer):
    name = "video"
    method = "rekognition-video"
    media = frozenset({"video"})
    reads_bytes = False

    def __init__(
        self,
        topic_arn: str | None,
        role_arn: str | None,
        *,
        min_confidence: float = 50.0,
        client: Any | None = None,
    ) -> None:
        if not topic_arn or not role_arn:
            raise ValueError(
                "rekognition-video needs the completion topic and the role Rekognition "
                "publishes with: EVENTLENS_VIDEO_TOPIC_ARN and EVENTLENS_VIDEO_ROLE_ARN"
            )
        self.topic_arn = topic_arn
        self.role_arn = role_arn
        self.min_confidence = min_confidence
        self._client = client

    @property
    def model_version(self) -> str:
        return f"rekognition-video-labels/min{self.min_confidence:g}"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("rekognition", max_attempts=8)
        return self._client

    def analyze(self, image: ImageInput) -> Findings:
        if not (image.bucket and is_s3_bucket_name(image.bucket)):
            raise ImageRejected("Rekognition Video reads videos from an S3 bucket only")
        try:
            response = self.client.start_label_detection(
                Video={"S3Object": {"Bucket": image.bucket, "Name": image.key}},
                MinConfidence=self.min_confidence,
                NotificationChannel={"SNSTopicArn": self.topic_arn, "RoleArn": self.role_arn},
                JobTag=image.environment or "default",
            )
        except Exception as exc:
            code = error_code(exc)
            if code in _REJECTED:
                raise ImageRejected(f"Rekognition Video rejected the video: {code}") from exc
            raise
        return {"JobId": str(response["JobId"]), "JobStatus": IN_PROGRESS, "Labels": []}

    def record_labels(self, findings: Findings) -> list[dict[str, Any]]:
        return best_labels(findings)


def label_detection(client: Any, job_id: str) -> Findings:
    """A finished job's labels (GetLabelDetection, every page, segments aggregated), in the
    offline video analyzer's shape; ``JobStatus`` and ``StatusMessage`` say how it ended."""
    labels: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "JobId": job_id, "MaxResults": 1000, "SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS",
    }  # fmt: skip
    truncated = False
    while True:
        page = client.get_label_detection(**request)
        for item in page.get("Labels", []):
            if len(labels) >= MAX_LABEL_ENTRIES:
                truncated = True
                break
            labels.append(_entry(item))
        token = page.get("NextToken")
        if truncated or not token or page.get("JobStatus") != "SUCCEEDED":
            break
        request["NextToken"] = token
    metadata = page.get("VideoMetadata") or {}
    findings: Findings = {
        "JobId": job_id,
        "JobStatus": str(page.get("JobStatus", "")),
        "Labels": labels,
        "VideoMetadata": {k: metadata[k] for k in _METADATA_FIELDS if k in metadata},
        "LabelModelVersion": str(page.get("LabelModelVersion", "")),
    }
    if page.get("StatusMessage"):
        findings["StatusMessage"] = str(page["StatusMessage"])
    if truncated:
        findings["Truncated"] = True
    return findings


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    label = item.get("Label") or {}
    entry: dict[str, Any] = {
        "Timestamp": int(item.get("Timestamp", 0)),
        "Label": {
            "Name": str(label.get("Name", "")),
            "Confidence": round(float(label.get("Confidence", 0.0)), 4),
            "Parents": [{"Name": str(p.get("Name", ""))} for p in label.get("Parents") or []],
        },
    }
    entry.update({k: int(item[k]) for k in _SEGMENT_FIELDS if k in item})
    return entry
