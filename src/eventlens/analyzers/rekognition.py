"""Amazon Rekognition DetectLabels as an analyzer (boto3, imported lazily).

The analyzer never learns about S3 as a storage: it receives an opaque bucket + key on the
``ImageInput``. When the bucket looks like an S3 bucket name it asks Rekognition to read the
object itself (``Image.S3Object``, up to 15 MB); otherwise it sends the bytes (``Image.Bytes``,
up to 5 MB). Labels are normalised to the bundled analyzer's shape.
"""

from __future__ import annotations

import re
from typing import Any

from eventlens.analyzers.base import Analyzer, Findings, check_label_limits
from eventlens.aws.clients import client as make_client
from eventlens.aws.clients import error_code
from eventlens.imaging import ImageInput, ImageRejected, probe

BYTES_LIMIT = 5 * 1024 * 1024
S3_OBJECT_LIMIT = 15 * 1024 * 1024
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Rekognition errors that mean "this image will never work": an error record, not a retry.
REJECTED = frozenset(
    {"InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"}
)


def is_s3_bucket_name(bucket: str) -> bool:
    return bool(_BUCKET_NAME.match(bucket)) and ".." not in bucket


def normalise_label(label: dict[str, Any]) -> dict[str, Any]:
    """A DetectLabels label with exactly the keys the bundled analyzer writes."""
    return {
        "Name": str(label.get("Name", "")),
        "Confidence": round(float(label.get("Confidence", 0.0)), 4),
        "Instances": [
            {
                "BoundingBox": {k: float(v) for k, v in (i.get("BoundingBox") or {}).items()},
                "Confidence": round(float(i.get("Confidence", 0.0)), 4),
            }
            for i in label.get("Instances") or []
        ],
        "Parents": [{"Name": str(p.get("Name", ""))} for p in label.get("Parents") or []],
        "Aliases": [{"Name": str(a.get("Name", ""))} for a in label.get("Aliases") or []],
        "Categories": [{"Name": str(c.get("Name", ""))} for c in label.get("Categories") or []],
    }


class RekognitionAnalyzer(Analyzer):
    name = "labels"
    method = "rekognition"

    def __init__(
        self,
        max_labels: int = 10,
        min_confidence: float = 55.0,
        client: Any | None = None,
        *,
        use_s3_object: bool = True,
        max_attempts: int = 8,
    ) -> None:
        check_label_limits(max_labels, min_confidence)
        self.max_labels = max_labels
        self.min_confidence = min_confidence
        self.use_s3_object = use_s3_object
        self.max_attempts = max_attempts
        self._client = client

    @property
    def model_version(self) -> str:
        return f"rekognition-detect-labels/max{self.max_labels}-min{self.min_confidence:g}"

    @property
    def client(self) -> Any:
        if self._client is None:
            # adaptive retries back off on ThrottlingException and
            # ProvisionedThroughputExceededException (and 5xx) before we ever see them
            self._client = make_client("rekognition", max_attempts=self.max_attempts)
        return self._client

    def image_argument(self, image: ImageInput) -> dict[str, Any]:
        if self.use_s3_object and image.bucket and image.key and is_s3_bucket_name(image.bucket):
            if len(image.data) > S3_OBJECT_LIMIT:
                raise ImageRejected(
                    f"image too large for Rekognition: {len(image.data):,} bytes (limit 15 MB)"
                )
            return {"S3Object": {"Bucket": image.bucket, "Name": image.key}}
        if len(image.data) > BYTES_LIMIT:
            raise ImageRejected(
                f"image too large for Rekognition Bytes: {len(image.data):,} bytes (limit 5 MB)"
            )
        return {"Bytes": image.data}

    def analyze(self, image: ImageInput) -> Findings:
        probe(image.data, max_pixels=image.max_pixels)  # reject non-images without an API call
        try:
            response = self.client.detect_labels(
                Image=self.image_argument(image),
                MaxLabels=self.max_labels,
                MinConfidence=self.min_confidence,
            )
        except Exception as exc:
            code = error_code(exc)
            if code in REJECTED:
                raise ImageRejected(f"Rekognition rejected the image: {code}") from exc
            raise
        labels = [normalise_label(label) for label in response.get("Labels", [])]
        labels = [label for label in labels if label["Confidence"] >= self.min_confidence]
        return {
            "Labels": labels[: self.max_labels],
            "LabelModelVersion": str(response.get("LabelModelVersion", "")),
        }
