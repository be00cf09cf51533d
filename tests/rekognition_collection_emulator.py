"""TEST EMULATOR (not shipped): Rekognition's face-collection operations on the tests' moto
server, which implements none of them (moto 5.2.6).

``install()`` adds ``CreateCollection``, ``DescribeCollection``, ``DeleteCollection``,
``IndexFaces``, ``SearchFaces``, ``ListFaces``, ``DeleteFaces``, ``DetectFaces`` and the
collections' tags (``TagResource``, ``UntagResource``, ``ListTagsForResource``: Terraform's
``aws_rekognition_collection`` reads them) to moto's
own Rekognition responder, so boto3 speaks Rekognition's JSON 1.1 protocol
(``X-Amz-Target: RekognitionService.*``) to the same 127.0.0.1 server as S3 and DynamoDB,
which stay moto's. The matching is real but not Rekognition's: faces are found by the bundled
``faces`` detector (MTCNN) and described by dlib's ResNet (the bundled ``people`` model); a
descriptor distance ``d`` is reported as ``Similarity = 100 - 10 * d / 0.46`` (clipped to
0-100), so the default ``people_similarity`` of 90 is the bundled threshold of 0.46. Real
Rekognition's scores come from another model and differ.

``fail(operation, code, times)`` makes the next ``times`` calls of an operation answer with
that error (``ThrottlingException``, ``ResourceNotFoundException`` ...).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

#: the bundled threshold that the similarity of 90 stands for
_DISTANCE_AT_90 = 0.46
_LOCK = threading.Lock()


@dataclass
class _Face:
    face_id: str
    image_id: str
    external: str
    box: dict[str, float]
    confidence: float
    descriptor: np.ndarray[Any, np.dtype[np.float32]]

    def shown(self) -> dict[str, Any]:
        return {
            "FaceId": self.face_id, "ImageId": self.image_id, "ExternalImageId": self.external,
            "BoundingBox": self.box, "Confidence": self.confidence,
        }  # fmt: skip


#: (account, region, collection id) → its faces
COLLECTIONS: dict[tuple[str, str, str], dict[str, _Face]] = {}
#: collection ARN → its tags
TAGS: dict[str, dict[str, str]] = {}
_FAULTS: dict[str, list[str]] = {}
_MODELS: dict[str, Any] = {}


def fail(operation: str, code: str, times: int = 1) -> None:
    """The next ``times`` calls of ``operation`` (e.g. ``"IndexFaces"``) answer ``code``."""
    with _LOCK:
        _FAULTS.setdefault(operation, []).extend([code] * times)


def reset() -> None:
    with _LOCK:
        COLLECTIONS.clear()
        TAGS.clear()
        _FAULTS.clear()


def similarity(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    distance = float(np.linalg.norm(a - b))
    return max(0.0, min(100.0, 100.0 - 10.0 * distance / _DISTANCE_AT_90))


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _models() -> tuple[Any, Any]:
    with _LOCK:
        if not _MODELS:
            from eventlens.analyzers.faces import FaceAnalyzer
            from eventlens.analyzers.people.descriptor import DlibDescriber

            _MODELS["detector"], _MODELS["describer"] = FaceAnalyzer(), DlibDescriber()
        return _MODELS["detector"], _MODELS["describer"]


def _image_bytes(responder: Any) -> bytes:
    image = responder._get_param("Image") or {}
    if "Bytes" in image:
        return base64.b64decode(image["Bytes"])
    s3 = image.get("S3Object") or {}
    from moto.s3.models import s3_backends

    backend = s3_backends[responder.current_account]["aws"]
    try:
        found = backend.get_object(s3["Bucket"], s3["Name"])
    except Exception as exc:
        raise _error("InvalidS3ObjectException", f"cannot read {s3}: {exc}") from exc
    if found is None:
        raise _error("InvalidS3ObjectException", f"no object {s3}")
    return bytes(found.value)


def _faces(data: bytes) -> list[tuple[dict[str, float], float, np.ndarray[Any, Any]]]:
    from eventlens.analyzers.people.analyzer import pixel_box
    from eventlens.imaging import ImageInput

    detector, describer = _models()
    try:
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as exc:
        raise _error("InvalidImageFormatException", str(exc)) from exc
    details = detector.analyze(ImageInput(data, "emulated", "emulator"))["FaceDetails"]
    height, width = rgb.shape[:2]
    boxes = [pixel_box(detail["BoundingBox"], width, height) for detail in details]
    descriptors = describer.describe(rgb, boxes)
    return [
        (dict(d["BoundingBox"]), float(d["Confidence"]), v)
        for d, v in zip(details, descriptors, strict=True)
    ]


def _arn(responder: Any, name: str) -> str:
    return f"arn:aws:rekognition:{responder.region}:{responder.current_account}:collection/{name}"


def _collection(responder: Any) -> dict[str, _Face]:
    name = str(responder._get_param("CollectionId"))
    key = (responder.current_account, responder.region, name)
    if key not in COLLECTIONS:
        raise _error("ResourceNotFoundException", f"The collection id: {name} does not exist")
    return COLLECTIONS[key]


def _operation(name: str) -> Callable[[Callable[[Any], dict[str, Any]]], Callable[[Any], str]]:
    """A responder method: injected faults first, then the body, answered as JSON."""

    def wrap(body: Callable[[Any], dict[str, Any]]) -> Callable[[Any], str]:
        def method(responder: Any) -> str:
            with _LOCK:
                pending = _FAULTS.get(name)
                code = pending.pop(0) if pending else None
            if code is not None:
                raise _error(code, f"emulated {code} for {name}")
            return json.dumps(body(responder))

        method.__name__ = body.__name__
        return method

    return wrap


@_operation("CreateCollection")
def create_collection(responder: Any) -> dict[str, Any]:
    name = str(responder._get_param("CollectionId"))
    key = (responder.current_account, responder.region, name)
    with _LOCK:
        if key in COLLECTIONS:
            raise _error("ResourceAlreadyExistsException", f"{name} exists")
        COLLECTIONS[key] = {}
    arn = _arn(responder, name)
    TAGS[arn] = dict(responder._get_param("Tags") or {})
    return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": "emulated-dlib"}


@_operation("DescribeCollection")
def describe_collection(responder: Any) -> dict[str, Any]:
    faces = _collection(responder)
    arn = _arn(responder, str(responder._get_param("CollectionId")))
    return {
        "FaceCount": len(faces), "FaceModelVersion": "emulated-dlib", "CollectionARN": arn,
        "CreationTimestamp": 0,
    }  # fmt: skip


@_operation("DeleteCollection")
def delete_collection(responder: Any) -> dict[str, Any]:
    _collection(responder)
    name = str(responder._get_param("CollectionId"))
    with _LOCK:
        COLLECTIONS.pop((responder.current_account, responder.region, name), None)
    return {"StatusCode": 200}


@_operation("IndexFaces")
def index_faces(responder: Any) -> dict[str, Any]:
    faces = _collection(responder)
    found = _faces(_image_bytes(responder))
    image_id, external = str(uuid.uuid4()), str(responder._get_param("ExternalImageId") or "")
    records = []
    for box, confidence, descriptor in found:
        face = _Face(str(uuid.uuid4()), image_id, external, box, confidence, descriptor)
        with _LOCK:
            faces[face.face_id] = face
        records.append(
            {"Face": face.shown(), "FaceDetail": {"BoundingBox": box, "Confidence": confidence}}
        )
    return {"FaceRecords": records, "UnindexedFaces": [], "FaceModelVersion": "emulated-dlib"}


@_operation("SearchFaces")
def search_faces(responder: Any) -> dict[str, Any]:
    faces = _collection(responder)
    face_id = str(responder._get_param("FaceId"))
    threshold = float(responder._get_param("FaceMatchThreshold", 80.0))
    limit = int(responder._get_param("MaxFaces", 4096))
    with _LOCK:
        if face_id not in faces:
            raise _error("InvalidParameterException", f"no face {face_id}")
        probe, others = faces[face_id], [f for f in faces.values() if f.face_id != face_id]
    matches = sorted(
        ((similarity(probe.descriptor, f.descriptor), f) for f in others),
        key=lambda m: -m[0],
    )
    return {
        "SearchedFaceId": face_id,
        "FaceMatches": [{"Similarity": s, "Face": f.shown()} for s, f in matches if s >= threshold][
            :limit
        ],
        "FaceModelVersion": "emulated-dlib",
    }


@_operation("ListFaces")
def list_faces(responder: Any) -> dict[str, Any]:
    faces = _collection(responder)
    start = int(responder._get_param("NextToken") or 0)
    size = int(responder._get_param("MaxResults", 1000))
    with _LOCK:
        shown = [f.shown() for f in faces.values()]
    answer: dict[str, Any] = {"Faces": shown[start : start + size], "FaceModelVersion": "emulated"}
    if start + size < len(shown):
        answer["NextToken"] = str(start + size)
    return answer


@_operation("DeleteFaces")
def delete_faces(responder: Any) -> dict[str, Any]:
    faces = _collection(responder)
    ids = [str(i) for i in responder._get_param("FaceIds") or []]
    with _LOCK:
        deleted = [i for i in ids if faces.pop(i, None) is not None]
    return {"DeletedFaces": deleted}


@_operation("DetectFaces")
def detect_faces(responder: Any) -> dict[str, Any]:
    details = [
        {"BoundingBox": box, "Confidence": confidence, "Landmarks": []}
        for box, confidence, _ in _faces(_image_bytes(responder))
    ]
    return {"FaceDetails": details}


def _tags_of(responder: Any) -> dict[str, str]:
    arn = str(responder._get_param("ResourceArn"))
    if arn not in TAGS:
        raise _error("ResourceNotFoundException", f"no resource {arn}")
    return TAGS[arn]


@_operation("TagResource")
def tag_resource(responder: Any) -> dict[str, Any]:
    _tags_of(responder).update(responder._get_param("Tags") or {})
    return {}


@_operation("UntagResource")
def untag_resource(responder: Any) -> dict[str, Any]:
    tags = _tags_of(responder)
    for key in responder._get_param("TagKeys") or []:
        tags.pop(key, None)
    return {}


@_operation("ListTagsForResource")
def list_tags_for_resource(responder: Any) -> dict[str, Any]:
    return {"Tags": _tags_of(responder)}


OPERATIONS = (
    create_collection, describe_collection, delete_collection, index_faces, search_faces,
    list_faces, delete_faces, detect_faces, tag_resource, untag_resource, list_tags_for_resource,
)  # fmt: skip


def install() -> None:
    """Add the operations to moto's Rekognition responder (for this process's moto server)."""
    from moto.rekognition.responses import RekognitionResponse

    for operation in OPERATIONS:
        setattr(RekognitionResponse, operation.__name__, operation)
