"""Labels for videos, like Rekognition's GetLabelDetection: frames sampled at a fixed rate
(PyAV, which bundles FFmpeg), each labelled by an image analyzer (the registry's ``labels``).

Decoding is streamed: frames are decoded one at a time and at most ``batch_size`` sampled
frames are held at once, so memory does not grow with the video's length.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from PIL import Image

from eventlens.analyzers.base import Analyzer, AnalyzerUnavailable, Findings
from eventlens.imaging import ImageInput, ImageRejected

INSTALL_HINT = "the video analyzer needs PyAV: pip install 'eventlens[video]'"


class VideoAnalyzer(Analyzer):
    name = "video"
    media = frozenset({"video"})

    def __init__(
        self,
        frame_analyzer: Analyzer,
        *,
        frames_per_second: float = 1.0,
        max_samples: int = 3600,
        frame_short_side: int = 320,
        batch_size: int = 8,
    ) -> None:
        if frames_per_second <= 0:
            raise ValueError("frames_per_second must be positive")
        self.frame_analyzer = frame_analyzer
        self.frames_per_second = frames_per_second
        self.max_samples = max_samples
        self.frame_short_side = frame_short_side
        self.batch_size = batch_size
        self.method = f"video-frames@{frames_per_second:g}fps+{frame_analyzer.method}"

    @property
    def model_version(self) -> str:
        return (
            f"pyav-frames/{self.frames_per_second:g}fps/max{self.max_samples}"
            f"+{self.frame_analyzer.model_version}"
        )

    def load(self) -> None:
        _import_av()
        self.frame_analyzer.load()

    def analyze(self, image: ImageInput) -> Findings:
        av = _import_av()
        labels: list[dict[str, Any]] = []
        try:
            with av.open(io.BytesIO(image.data), mode="r") as container:
                if not container.streams.video:
                    raise ImageRejected("no video stream in the file")
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                metadata = _metadata(container, stream)
                batch: list[tuple[int, ImageInput]] = []
                samples = 0
                for timestamp, frame in self._sampled(container, stream):
                    batch.append((timestamp, self._frame_input(image.key, timestamp, frame)))
                    samples += 1
                    if len(batch) >= self.batch_size:
                        labels.extend(self._label(batch))
                        batch = []
                labels.extend(self._label(batch))
        except av.error.FFmpegError as exc:
            raise ImageRejected(f"not a readable video: {exc}") from exc
        labels.sort(key=lambda item: (item["Timestamp"], -item["Label"]["Confidence"]))
        return {
            "Labels": labels,
            "VideoMetadata": metadata,
            "SampledFrames": samples,
            "LabelModelVersion": self.frame_analyzer.model_version,
        }

    def record_labels(self, findings: Findings) -> list[dict[str, Any]]:
        return best_labels(findings)

    def _sampled(self, container: Any, stream: Any) -> Iterator[tuple[int, Any]]:
        """(timestamp ms, frame) for the first frame at or after each sampling instant."""
        step_ms = 1000.0 / self.frames_per_second
        next_ms = 0.0
        taken = 0
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            ms = float(frame.pts * frame.time_base) * 1000.0
            if ms + 0.5 < next_ms:
                continue
            yield round(ms), frame
            taken += 1
            if taken >= self.max_samples:
                return
            while next_ms <= ms + 0.5:
                next_ms += step_ms

    def _frame_input(self, key: str, timestamp: int, frame: Any) -> ImageInput:
        width, height = frame.width, frame.height
        scale = min(1.0, self.frame_short_side / max(1, min(width, height)))
        if scale < 1.0:
            frame = frame.reformat(
                width=max(1, round(width * scale)), height=max(1, round(height * scale))
            )
        picture: Image.Image = frame.to_image()
        buffer = io.BytesIO()
        picture.save(buffer, "BMP")  # lossless and nearly free to encode/decode
        return ImageInput(buffer.getvalue(), f"{key}#t={timestamp}")

    def _label(self, batch: list[tuple[int, ImageInput]]) -> list[dict[str, Any]]:
        if not batch:
            return []
        results = self.frame_analyzer.analyze_batch([frame for _, frame in batch])
        out: list[dict[str, Any]] = []
        for (timestamp, _), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                raise result
            for label in result.get("Labels", []):
                out.append(
                    {
                        "Timestamp": timestamp,
                        "Label": {
                            "Name": label["Name"],
                            "Confidence": label["Confidence"],
                            "Parents": label.get("Parents", []),
                        },
                    }
                )
        return out


def best_labels(findings: Findings) -> list[dict[str, Any]]:
    """One DetectLabels-shaped label per name over the whole video (its best confidence), so
    ``eventlens results search --label`` finds videos too."""
    best: dict[str, dict[str, Any]] = {}
    for item in findings.get("Labels", []):
        label = item["Label"]
        if label["Name"] not in best or label["Confidence"] > best[label["Name"]]["Confidence"]:
            best[label["Name"]] = {**label, "Instances": []}
    return sorted(best.values(), key=lambda label: -float(label["Confidence"]))


def _metadata(container: Any, stream: Any) -> dict[str, Any]:
    duration_ms: int | None = None
    if stream.duration is not None and stream.time_base is not None:
        duration_ms = round(float(stream.duration * stream.time_base) * 1000)
    elif container.duration is not None:
        duration_ms = round(container.duration / 1000)  # microseconds
    rate = stream.average_rate or stream.guessed_rate
    return {
        "Codec": stream.codec_context.name,
        "DurationMillis": duration_ms,
        "Format": container.format.name,
        "FrameRate": round(float(Fraction(rate)), 3) if rate else None,
        "FrameHeight": stream.codec_context.height,
        "FrameWidth": stream.codec_context.width,
    }


def _import_av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise AnalyzerUnavailable(INSTALL_HINT) from exc
    return av
