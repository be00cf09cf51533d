"""Rekognition counterparts of the offline analyzers, through the Lambda handler into DynamoDB.

DetectLabels and DetectText run against moto's server over HTTP (canned answers: wiring, not
content). moto does not implement DetectFaces or DetectModerationLabels, so those calls go to
a botocore ``Stubber``, which checks every request against the service model and answers with
responses shaped as in AWS's documentation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from eventlens.analyzers import registry
from eventlens.analyzers.rekognition import (
    RekognitionFaceAnalyzer,
    RekognitionModerationAnalyzer,
    RekognitionTextAnalyzer,
)
from eventlens.aws import handler as lambda_handler
from eventlens.aws.worker import to_lambda_records
from eventlens.imaging import ImageInput, ImageRejected
from eventlens.results.base import Query
from eventlens.results.dynamodb import DynamoDBResultStore
from tests.images import jpeg

if TYPE_CHECKING:
    from botocore.stub import Stubber

    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"
#: the keys each offline analyzer writes per item (see eventlens.analyzers.faces/text/moderation)
FACE_KEYS = {"BoundingBox", "Confidence", "Landmarks"}
TEXT_KEYS = {"DetectedText", "Type", "Id", "Confidence", "Geometry"}
MODERATION_KEYS = {"Name", "Confidence", "ParentName"}

FACES_RESPONSE = {
    "FaceDetails": [
        {
            "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.1},
            "Landmarks": [
                {"Type": "eyeLeft", "X": 0.45, "Y": 0.2},
                {"Type": "eyeRight", "X": 0.55, "Y": 0.2},
                {"Type": "nose", "X": 0.5, "Y": 0.25},
            ],
            "Pose": {"Roll": 1.0, "Yaw": -2.0, "Pitch": 3.0},
            "Quality": {"Brightness": 80.0, "Sharpness": 90.0},
            "Confidence": 99.98,
        },
        {"BoundingBox": {"Width": 0.05, "Height": 0.05, "Left": 0.0, "Top": 0.0},
         "Confidence": 61.0},
    ],
}  # fmt: skip
MODERATION_RESPONSE = {
    "ModerationLabels": [
        {"Confidence": 88.5, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1},
        {"Confidence": 88.5, "Name": "Swimwear or Underwear", "ParentName": "Suggestive",
         "TaxonomyLevel": 2},
    ],
    "ModerationModelVersion": "7.0",
}  # fmt: skip


def stubbed(
    operation: str, response: dict[str, Any], params: dict[str, Any] | None = None
) -> Stubber:
    """A Rekognition client answering one call; ``params`` None: any valid request."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "rekognition", region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    stub = Stubber(client)
    stub.add_response(operation, response, params)
    stub.activate()
    return stub


def test_detect_faces_keeps_the_offline_fields_above_the_confidence_floor() -> None:
    image = {"S3Object": {"Bucket": "my-bucket", "Name": BETA + "a.jpg"}}
    stub = stubbed("detect_faces", FACES_RESPONSE, {"Image": image, "Attributes": ["DEFAULT"]})
    findings = RekognitionFaceAnalyzer(client=stub.client).analyze(
        ImageInput(jpeg(), BETA + "a.jpg", "my-bucket")
    )
    stub.assert_no_pending_responses()
    (face,) = findings["FaceDetails"]  # the 61 % one is under the offline analyzer's 90 %
    assert set(face) == FACE_KEYS
    assert face["Landmarks"][0] == {"Type": "eyeLeft", "X": 0.45, "Y": 0.2}
    assert face["Confidence"] == 99.98


def test_moderation_labels_and_a_rejected_image() -> None:
    params = {"Image": {"Bytes": jpeg()}, "MinConfidence": 50.0}
    stub = stubbed("detect_moderation_labels", MODERATION_RESPONSE, params)
    findings = RekognitionModerationAnalyzer(client=stub.client).analyze(
        ImageInput(jpeg(), "k.jpg", "/local/folder")  # not an S3 bucket: the bytes are sent
    )
    assert [set(label) for label in findings["ModerationLabels"]] == [MODERATION_KEYS] * 2
    assert findings["ModerationModelVersion"] == "7.0"
    stub.add_client_error("detect_text", "InvalidImageFormatException")
    text = RekognitionTextAnalyzer(client=stub.client)
    with pytest.raises(ImageRejected, match="InvalidImageFormatException"):
        text.analyze(ImageInput(jpeg(), "k.jpg", "my-bucket"))


@pytest.fixture
def rekognition_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Faces and moderation answered by stubs (moto lacks them); labels and text by moto."""
    faces = stubbed("detect_faces", FACES_RESPONSE)
    moderation = stubbed("detect_moderation_labels", MODERATION_RESPONSE)
    saved = {
        name: registry.FACTORIES[name] for name in ("rekognition-faces", "rekognition-moderation")
    }
    registry.register("rekognition-faces", lambda s: RekognitionFaceAnalyzer(client=faces.client))
    registry.register(
        "rekognition-moderation", lambda s: RekognitionModerationAnalyzer(client=moderation.client)
    )
    for name, value in {
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": stack.tables["beta"],
        "EVENTLENS_ANALYZERS": (
            "beta=rekognition,rekognition-faces,rekognition-text,rekognition-moderation;"
            "prod=rekognition"
        ),
        "EVENTLENS_MIN_CONFIDENCE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    lambda_handler.reset()
    yield stack
    lambda_handler.reset()
    registry.FACTORIES.update(saved)


def test_every_rekognition_analyzer_through_the_handler_into_searchable_findings(
    rekognition_env: Stack,
) -> None:
    stack = rekognition_env
    key = BETA + "people/beach.jpg"
    stack.put_image(key, jpeg())
    messages = stack.receive(stack.queue_url, 1)
    event = {"Records": to_lambda_records(messages, stack.queue_arn)}
    assert lambda_handler.handler(event, None) == {"batchItemFailures": []}

    store = DynamoDBResultStore({"beta": stack.tables["beta"]})
    record = store.get("beta", key)
    assert record is not None and record.ok, record
    assert record.analysis_method == "rekognition" and record.labels  # moto's canned label
    assert set(record.findings) == {"faces", "text", "moderation"}
    assert [set(f) for f in record.findings["faces"]["FaceDetails"]] == [FACE_KEYS]
    detections = record.findings["text"]["TextDetections"]
    assert detections and all(set(d) >= TEXT_KEYS for d in detections)
    assert {d["Type"] for d in detections} == {"LINE", "WORD"}
    assert all("ParentId" in d for d in detections if d["Type"] == "WORD")
    assert {m["Name"] for m in record.findings["moderation"]["ModerationLabels"]} == {
        "Suggestive", "Swimwear or Underwear",
    }  # fmt: skip
    assert "rekognition-detect-faces" in record.model_version

    word = next(d["DetectedText"] for d in detections if d["Type"] == "WORD")
    for wanted in (("faces", "*"), ("moderation", "Suggestive"), ("text", word.lower())):
        found = store.query(Query("beta", findings=(wanted,)))
        assert [r.filename for r in found] == [key], wanted
