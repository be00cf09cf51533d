from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest

from eventlens.analyzers import registry
from eventlens.analyzers.base import Analyzer, Findings
from eventlens.analyzers.video import VideoAnalyzer
from eventlens.events.local import event_for_key
from eventlens.imaging import ImageInput, ImageRejected
from eventlens.outcome import Action
from eventlens.pipeline import Pipeline
from eventlens.results.sqlite import SQLiteResultStore
from eventlens.storage.local import LocalFolderStore
from tests.conftest import DominantColourAnalyzer
from tests.images import jpeg

av = pytest.importorskip("av", reason="PyAV is in the video and dev extras")

BETA = "rekognition-input/beta/"
RED, GREEN, BLUE = (230, 20, 20), (20, 230, 20), (20, 20, 230)


def make_video(
    segments: list[tuple[tuple[int, int, int], float]],
    fps: int = 25,
    size: tuple[int, int] = (96, 64),
    container: str = "mp4",
    codec: str = "mpeg4",
    moving_square: bool = True,
) -> bytes:
    """Solid-colour segments (colour, seconds) with a small moving grey square."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        index = 0
        for colour, seconds in segments:
            for _ in range(round(seconds * fps)):
                pixels = np.empty((size[1], size[0], 3), dtype=np.uint8)
                pixels[:] = colour
                if moving_square:
                    x = (index * 2) % (size[0] - 8)
                    pixels[4:12, x : x + 8] = 128
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                out.mux(stream.encode(frame))
                index += 1
        out.mux(stream.encode())
    return buffer.getvalue()


def top_label_by_time(findings: Findings) -> dict[int, str]:
    best: dict[int, tuple[float, str]] = {}
    for item in findings["Labels"]:
        t, label = item["Timestamp"], item["Label"]
        if t not in best or label["Confidence"] > best[t][0]:
            best[t] = (label["Confidence"], label["Name"])
    return {t: name for t, (_, name) in sorted(best.items())}


def test_five_seconds_at_25fps_sampled_once_a_second_with_timestamps() -> None:
    data = make_video([(RED, 2), (GREEN, 2), (BLUE, 1)])
    findings = VideoAnalyzer(DominantColourAnalyzer(), frames_per_second=1).analyze(
        ImageInput(data, "v.mp4", media="video")
    )
    assert findings["SampledFrames"] == 5
    assert top_label_by_time(findings) == {
        0: "Red",
        1000: "Red",
        2000: "Green",
        3000: "Green",
        4000: "Blue",
    }
    item = findings["Labels"][0]
    assert set(item) == {"Timestamp", "Label"}
    assert set(item["Label"]) == {"Name", "Confidence", "Parents"}
    meta = findings["VideoMetadata"]
    assert (meta["FrameWidth"], meta["FrameHeight"], meta["FrameRate"]) == (96, 64, 25.0)
    assert meta["DurationMillis"] == pytest.approx(5000, abs=100)


def test_frame_rate_setting_changes_the_sampling() -> None:
    data = make_video([(RED, 3)], fps=10)
    findings = VideoAnalyzer(DominantColourAnalyzer(), frames_per_second=4).analyze(
        ImageInput(data, "v.webm", media="video")
    )
    times = sorted(top_label_by_time(findings))
    assert times == [0, 300, 500, 800, 1000, 1300, 1500, 1800, 2000, 2300, 2500, 2800]


def test_webm_vp9_is_read_too() -> None:
    data = make_video([(GREEN, 1)], fps=5, container="webm", codec="libvpx-vp9")
    findings = VideoAnalyzer(DominantColourAnalyzer()).analyze(
        ImageInput(data, "v.webm", media="video")
    )
    assert top_label_by_time(findings) == {0: "Green"}
    assert findings["VideoMetadata"]["Codec"] == "vp9"


def test_not_a_video_is_rejected() -> None:
    with pytest.raises(ImageRejected, match="video"):
        VideoAnalyzer(DominantColourAnalyzer()).analyze(
            ImageInput(b"\x00\x01 not a video" * 50, "v.mp4", media="video")
        )


class FrameCounter(Analyzer):
    name = "labels"
    method = "count"
    model_version = "count/1"  # type: ignore[assignment]

    def __init__(self) -> None:
        self.frames = 0
        self.largest_batch = 0

    def analyze(self, image: ImageInput) -> Findings:
        self.frames += 1
        image.decode()
        return {"Labels": [{"Name": "Frame", "Confidence": 99.0, "Parents": []}]}

    def analyze_batch(self, images: object) -> list[Findings | Exception]:
        batch = list(images)  # type: ignore[call-overload]
        self.largest_batch = max(self.largest_batch, len(batch))
        return super().analyze_batch(batch)


@pytest.mark.timeout(240)
def test_long_video_is_streamed_with_bounded_memory() -> None:
    # 10 minutes at 5 fps, 320x240: 600 sampled frames of 230 kB each (138 MB if all were kept)
    data = make_video([(BLUE, 600)], fps=5, size=(320, 240))
    counter = FrameCounter()
    analyzer = VideoAnalyzer(counter, frames_per_second=1, batch_size=8)
    tracemalloc.start()
    try:
        findings = analyzer.analyze(ImageInput(data, "long.mp4", media="video"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert findings["SampledFrames"] == counter.frames == 600
    assert counter.largest_batch == 8
    assert peak < 20 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"


def test_max_samples_caps_long_videos() -> None:
    data = make_video([(RED, 4)], fps=5)
    findings = VideoAnalyzer(DominantColourAnalyzer(), max_samples=2).analyze(
        ImageInput(data, "v.mp4", media="video")
    )
    assert findings["SampledFrames"] == 2


def test_pipeline_routes_videos_only_when_the_video_analyzer_is_enabled(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    labels = DominantColourAnalyzer()
    settings = registry.AnalyzerContext(resolve=lambda name: labels)
    video = registry.create("video", settings)
    assert isinstance(video, VideoAnalyzer) and video.frame_analyzer is labels
    with_video = Pipeline(bucket, results, {"beta": [labels, video], "prod": [labels]})
    bucket.write(BETA + "clip.mp4", make_video([(GREEN, 2), (RED, 1)]))
    bucket.write(BETA + "still.jpg", jpeg((10, 10, 240)))
    bucket.write("rekognition-input/prod/clip.mp4", make_video([(GREEN, 1)]))
    outcomes = {}
    for key in (BETA + "clip.mp4", BETA + "still.jpg", "rekognition-input/prod/clip.mp4"):
        event = event_for_key(bucket, key, source="test")
        assert event is not None
        outcomes[key] = with_video.process(event)
    assert outcomes[BETA + "clip.mp4"].action is Action.STORED
    assert outcomes["rekognition-input/prod/clip.mp4"].action is Action.SKIPPED
    assert "video" in outcomes["rekognition-input/prod/clip.mp4"].reason
    clip = results.get("beta", BETA + "clip.mp4")
    assert clip is not None and clip.ok
    # one label per name over the whole video, with its best confidence, best first
    assert [label["Name"] for label in clip.labels][:2] in (["Red", "Green"], ["Green", "Red"])
    assert {label["Name"] for label in clip.labels} == {"Red", "Green", "Blue"}
    confidences = [label["Confidence"] for label in clip.labels]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] > 80
    assert (clip.width, clip.height) == (96, 64)
    assert clip.analysis_method.startswith("video-frames@1fps")
    assert sorted(top_label_by_time(clip.findings["video"])) == [0, 1000, 2000]
    still = results.get("beta", BETA + "still.jpg")
    assert still is not None and still.labels[0]["Name"] == "Blue"
    assert "video" not in still.findings  # the video analyzer skips images
    assert labels.calls == 3 + 1  # three frames and one image


def test_video_settings_come_from_the_environment() -> None:
    from eventlens.settings import Settings

    settings = Settings.from_env(
        {"EVENTLENS_ANALYZERS": "beta=labels,video", "EVENTLENS_VIDEO_FPS": "2.5"}
    )
    assert settings.analyzers == {"beta": ["labels", "video"]}
    assert settings.video_fps == 2.5


def photo_video(pixels: np.ndarray, seconds: int = 3, fps: int = 10) -> bytes:  # type: ignore[type-arg]
    """A still photo as an MPEG-4 clip, at a bit rate high enough to keep it recognisable."""
    height, width = pixels.shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000  # the default is so low that later frames smear
        for _ in range(seconds * fps):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode())
    return buffer.getvalue()


def coffee_video() -> bytes:
    from PIL import Image

    skimage_data = pytest.importorskip("skimage.data")
    return photo_video(np.asarray(Image.fromarray(skimage_data.coffee()).resize((320, 224))))


def test_real_label_model_labels_sampled_frames() -> None:
    from eventlens.analyzers.labels import LabelAnalyzer
    from tests.labels_support import model_file

    labels = LabelAnalyzer(model_path=model_file())
    video = VideoAnalyzer(labels, frames_per_second=1)
    findings = video.analyze(ImageInput(coffee_video(), "coffee.mp4", media="video"))
    by_time: dict[int, set[str]] = {}
    for item in findings["Labels"]:
        by_time.setdefault(item["Timestamp"], set()).add(item["Label"]["Name"])
        assert isinstance(item["Label"]["Parents"], list)
    assert sorted(by_time) == [0, 1000, 2000]
    assert all({"Coffee", "Beverage"} <= names for names in by_time.values()), by_time


def test_a_video_only_environment_skips_images(
    bucket: LocalFolderStore, results: SQLiteResultStore
) -> None:
    pipeline = Pipeline(bucket, results, {"*": [VideoAnalyzer(DominantColourAnalyzer())]})
    bucket.write(BETA + "still.jpg", jpeg())
    bucket.write(BETA + "clip.webm", make_video([(BLUE, 1)], container="webm", codec="libvpx-vp9"))
    still = event_for_key(bucket, BETA + "still.jpg", source="test")
    clip = event_for_key(bucket, BETA + "clip.webm", source="test")
    assert still is not None and clip is not None
    skipped = pipeline.process(still)
    assert skipped.action is Action.SKIPPED and "no image analyzer" in skipped.reason
    assert pipeline.process(clip).action is Action.STORED
    record = results.get("beta", BETA + "clip.webm")
    assert record is not None and record.labels[0]["Name"] == "Blue"
