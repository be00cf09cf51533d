"""Amazon Rekognition Image as analyzers (boto3, imported lazily): DetectLabels, DetectFaces,
DetectText and DetectModerationLabels.

An analyzer never learns about S3 as a storage: it receives an opaque bucket + key on the
``ImageInput``. When the bucket looks like an S3 bucket name it asks Rekognition to read the
object itself (``Image.S3Object``, up to 15 MB); otherwise it sends the bytes (``Image.Bytes``,
up to 5 MB). Each writes the same fields as its offline counterpart (``labels``, ``faces``,
``text``, ``moderation``), whose shapes are Rekognition's, so records and searches do not
depend on where the analysis ran.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from eventlens.analyzers.base import Analyzer, Findings, check_label_limits
from eventlens.aws_clients import client as make_client
from eventlens.aws_clients import error_code
from eventlens.imaging import ImageInput, ImageRejected, probe

if TYPE_CHECKING:
    from eventlens.face_people import FaceCollectionIndex

BYTES_LIMIT = 5 * 1024 * 1024
S3_OBJECT_LIMIT = 15 * 1024 * 1024
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Rekognition errors that mean "this image will never work": an error record, not a retry.
REJECTED = frozenset(
    {"InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"}
)


def is_s3_bucket_name(bucket: str) -> bool:
    return bool(_BUCKET_NAME.match(bucket)) and ".." not in bucket


def _names(items: Any) -> list[dict[str, str]]:
    return [{"Name": str(item.get("Name", ""))} for item in items or []]


def _box(box: Any) -> dict[str, float]:
    return {k: float(v) for k, v in (box or {}).items()}


def _confidence(value: Any) -> float:
    return round(float(value or 0.0), 4)


def normalise_label(label: dict[str, Any]) -> dict[str, Any]:
    """A DetectLabels label with exactly the keys the bundled analyzer writes."""
    return {
        "Name": str(label.get("Name", "")),
        "Confidence": _confidence(label.get("Confidence")),
        "Instances": [
            {
                "BoundingBox": _box(i.get("BoundingBox")),
                "Confidence": _confidence(i.get("Confidence")),
            }
            for i in label.get("Instances") or []
        ],
        "Parents": _names(label.get("Parents")),
        "Aliases": _names(label.get("Aliases")),
        "Categories": _names(label.get("Categories")),
    }


class RekognitionImageAnalyzer(Analyzer):
    """One Rekognition Image operation: client, image argument, error mapping, and the lowest
    confidence kept."""

    operation: ClassVar[str] = ""  # the boto3 method, e.g. "detect_faces"

    def __init__(
        self,
        min_confidence: float,
        client: Any | None = None,
        *,
        use_s3_object: bool = True,
        max_attempts: int = 8,
    ) -> None:
        self.min_confidence = min_confidence
        self.use_s3_object = use_s3_object
        self.max_attempts = max_attempts
        self._client = client

    @property
    def model_version(self) -> str:
        return f"rekognition-{self.operation.replace('_', '-')}/min{self.min_confidence:g}"

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

    def call(self, image: ImageInput, **parameters: Any) -> dict[str, Any]:
        probe(image.data, max_pixels=image.max_pixels)  # reject non-images without an API call
        try:
            response: dict[str, Any] = getattr(self.client, self.operation)(
                Image=self.image_argument(image), **parameters
            )
        except Exception as exc:
            _reject(exc)
            raise
        return response


def _reject(exc: Exception) -> None:
    """Raise ``ImageRejected`` for the errors that mean this image will never work."""
    code = error_code(exc)
    if code in REJECTED:
        raise ImageRejected(f"Rekognition rejected the image: {code}") from exc


class RekognitionAnalyzer(RekognitionImageAnalyzer):
    """DetectLabels, normalised to the bundled label analyzer's shape."""

    name = "labels"
    method = "rekognition"
    operation = "detect_labels"

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
        super().__init__(
            min_confidence, client, use_s3_object=use_s3_object, max_attempts=max_attempts
        )
        self.max_labels = max_labels

    @property
    def model_version(self) -> str:
        return f"rekognition-detect-labels/max{self.max_labels}-min{self.min_confidence:g}"

    def analyze(self, image: ImageInput) -> Findings:
        response = self.call(image, MaxLabels=self.max_labels, MinConfidence=self.min_confidence)
        labels = [normalise_label(label) for label in response.get("Labels", [])]
        labels = [label for label in labels if label["Confidence"] >= self.min_confidence]
        return {
            "Labels": labels[: self.max_labels],
            "LabelModelVersion": str(response.get("LabelModelVersion", "")),
        }


class RekognitionFaceAnalyzer(RekognitionImageAnalyzer):
    """DetectFaces: ``FaceDetails`` with ``BoundingBox``, ``Confidence`` and ``Landmarks``, the
    fields the offline ``faces`` analyzer writes, kept above the same default confidence."""

    name = "faces"
    method = "rekognition-detect-faces"
    operation = "detect_faces"

    def __init__(self, min_confidence: float = 90.0, client: Any | None = None) -> None:
        super().__init__(min_confidence, client)

    def analyze(self, image: ImageInput) -> Findings:
        response = self.call(image, Attributes=["DEFAULT"])
        details = [
            _face(face)
            for face in response.get("FaceDetails", [])
            if float(face.get("Confidence", 0.0)) >= self.min_confidence
        ]
        details.sort(key=lambda face: -face["Confidence"])
        return {
            "FaceDetails": details,
            "FaceModelVersion": str(response.get("FaceModelVersion") or self.model_version),
        }


def _face(face: dict[str, Any]) -> dict[str, Any]:
    return {
        "BoundingBox": _box(face.get("BoundingBox")),
        "Confidence": _confidence(face.get("Confidence")),
        "Landmarks": [
            {
                "Type": str(m.get("Type", "")),
                "X": float(m.get("X", 0.0)),
                "Y": float(m.get("Y", 0.0)),
            }
            for m in face.get("Landmarks") or []
        ],
    }


class RekognitionTextAnalyzer(RekognitionImageAnalyzer):
    """DetectText: ``TextDetections`` (LINEs, then WORDs pointing at them with ``ParentId``)."""

    name = "text"
    method = "rekognition-detect-text"
    operation = "detect_text"

    def __init__(self, min_confidence: float = 0.0, client: Any | None = None) -> None:
        super().__init__(min_confidence, client)

    def analyze(self, image: ImageInput) -> Findings:
        response = self.call(image)
        detections = []
        for item in response.get("TextDetections", []):
            if float(item.get("Confidence", 0.0)) < self.min_confidence:
                continue
            geometry = item.get("Geometry") or {}
            detection: dict[str, Any] = {
                "DetectedText": str(item.get("DetectedText", "")),
                "Type": str(item.get("Type", "")),
                "Id": int(item.get("Id", 0)),
                "Confidence": _confidence(item.get("Confidence")),
                "Geometry": {
                    "BoundingBox": _box(geometry.get("BoundingBox")),
                    "Polygon": [
                        {"X": float(p.get("X", 0.0)), "Y": float(p.get("Y", 0.0))}
                        for p in geometry.get("Polygon") or []
                    ],
                },
            }
            if "ParentId" in item:
                detection["ParentId"] = int(item["ParentId"])
            detections.append(detection)
        return {
            "TextDetections": detections,
            "TextModelVersion": str(response.get("TextModelVersion") or self.model_version),
        }


class RekognitionModerationAnalyzer(RekognitionImageAnalyzer):
    """DetectModerationLabels: ``ModerationLabels`` with ``Name``, ``Confidence`` and
    ``ParentName`` ("" for a top-level category)."""

    name = "moderation"
    method = "rekognition-detect-moderation-labels"
    operation = "detect_moderation_labels"

    def __init__(self, min_confidence: float = 50.0, client: Any | None = None) -> None:
        super().__init__(min_confidence, client)

    def analyze(self, image: ImageInput) -> Findings:
        response = self.call(image, MinConfidence=self.min_confidence)
        labels = [
            {
                "Name": str(label.get("Name", "")),
                "Confidence": _confidence(label.get("Confidence")),
                "ParentName": str(label.get("ParentName", "")),
            }
            for label in response.get("ModerationLabels", [])
        ]
        return {
            "ModerationLabels": labels,
            "ModerationModelVersion": str(
                response.get("ModerationModelVersion") or self.model_version
            ),
        }


class RekognitionPeopleAnalyzer(RekognitionImageAnalyzer):
    """People with ``rekognition-faces`` on AWS: the photo's faces go into the environment's
    face collection (``IndexFaces``, through the ``FaceCollectionIndex`` the wiring passes in)
    and each gets a person; the findings have the bundled ``people`` analyzer's shape."""

    name = "people"
    method = "rekognition-index-faces"
    operation = "index_faces"

    def __init__(self, index: FaceCollectionIndex) -> None:
        super().__init__(0.0)
        self.index = index

    @property
    def model_version(self) -> str:
        return f"rekognition-collection/s{self.index.threshold:g}"

    def forget(self, environment: str, key: str) -> None:
        self.index.remove(environment, key)

    def analyze(self, image: ImageInput) -> Findings:
        probe(image.data, max_pixels=image.max_pixels)  # reject non-images without an API call
        try:
            found = self.index.assign_image(
                image.environment, image.key, self.image_argument(image)
            )
        except Exception as exc:
            _reject(exc)
            raise
        faces = [
            {"BoundingBox": face.box, "Confidence": face.confidence, "PersonId": face.person}
            for face in found
        ]
        return {"Faces": faces, "PeopleModelVersion": self.model_version}
