"""What a user would write to run the default's three models over a folder: the yardstick for
issue 23's "versus a naive script" (``bench/run.py --only naive``).

    .venv/bin/python bench/naive_labels.py IMAGE...

Pillow's full decode, one resize per model from the full image, one onnxruntime session per
model with its default options, one image at a time, no pipeline. Only the converted models'
paths come from eventlens (its model cache); nothing of its decoding, batching or threading.
Prints one line per image: its name, the classifier's top class and probability, the best
person score and the best face score.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

CLASSIFIER_SIZE = 224
PERSON_SIZE = 300
FACE_SIZE = 128


def model_paths() -> tuple[Path, Path, Path]:
    """The converted EfficientNet-Lite0, SSDLite person detector and BlazeFace graphs."""
    from eventlens.analyzers.labels.model_cache import build_model as classifier
    from eventlens.analyzers.objects.blazeface import build_model as faces
    from eventlens.analyzers.objects.people import build_model as people

    return classifier(), people(), faces()


def as_input(image: Image.Image, size: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Squeezed to ``size`` x ``size``, scaled to [-1, 1], as a batch of one, NCHW."""
    x = np.asarray(image.resize((size, size)), dtype=np.float32) / 127.5 - 1.0
    return x.transpose(2, 0, 1)[np.newaxis]


def label(sessions: list[ort.InferenceSession], path: Path) -> str:
    image = Image.open(path).convert("RGB")
    classifier, person, face = sessions
    probabilities = classifier.run(
        ["probabilities"],
        {classifier.get_inputs()[0].name: as_input(image, CLASSIFIER_SIZE)},
    )[0][0]
    person_scores = person.run(
        ["class_scores"], {person.get_inputs()[0].name: as_input(image, PERSON_SIZE)}
    )[0]
    face_logits = face.run(["scores"], {face.get_inputs()[0].name: as_input(image, FACE_SIZE)})[0]
    top = int(np.argmax(probabilities))
    face_score = 1 / (1 + np.exp(-float(face_logits.max())))
    return (
        f"{path.name}\t{top}\t{probabilities[top]:.3f}\t"
        f"{float(person_scores[..., -1].max()):.3f}\t{face_score:.3f}"
    )


def main(argv: list[str]) -> None:
    sessions = [ort.InferenceSession(str(p)) for p in model_paths()]
    for name in argv:
        print(label(sessions, Path(name)), flush=False)


if __name__ == "__main__":
    main(sys.argv[1:])
