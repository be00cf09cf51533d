"""Rekognition analyzer, SNS notifier, EMF metrics and settings: the parts with no wire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventlens.analyzers import registry
from eventlens.analyzers.rekognition import RekognitionAnalyzer, is_s3_bucket_name
from eventlens.events.base import ObjectEvent
from eventlens.hooks.powertools import report
from eventlens.hooks.sns import SnsNotifier, subject_for
from eventlens.imaging import ImageInput, ImageRejected
from eventlens.outcome import Action, Delivered, Outcome
from eventlens.results.record import Record, Status
from eventlens.settings import Mode, Settings
from tests.images import jpeg


def aws_settings(environ: dict[str, str]) -> Settings:
    return Settings.from_env(environ, mode=Mode.AWS)


def client_error(code: str, operation: str = "DetectLabels") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeRekognition:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def detect_labels(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {
            "Labels": [
                {"Name": "Cat", "Confidence": 98.123456, "Parents": [{"Name": "Animal"}],
                 "Instances": [{"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0.1,
                                                "Top": 0.2}, "Confidence": 97.0}],
                 "Aliases": [{"Name": "Kitty"}], "Categories": [{"Name": "Animals and Pets"}]},
                {"Name": "Blurry", "Confidence": 40.0},
            ],
            "LabelModelVersion": "3.0",
        }  # fmt: skip


def test_s3_object_is_used_for_s3_buckets_and_bytes_otherwise() -> None:
    fake = FakeRekognition()
    analyzer = RekognitionAnalyzer(max_labels=5, min_confidence=50, client=fake)
    data = jpeg()
    findings = analyzer.analyze(ImageInput(data, "in/cat.jpg", "my-bucket"))
    analyzer.analyze(ImageInput(data, "in/cat.jpg", "/home/ana/eventlens-bucket"))
    s3_call, bytes_call = fake.calls
    assert s3_call["Image"] == {"S3Object": {"Bucket": "my-bucket", "Name": "in/cat.jpg"}}
    assert bytes_call["Image"] == {"Bytes": data}
    assert s3_call["MaxLabels"] == 5 and s3_call["MinConfidence"] == 50
    assert findings["LabelModelVersion"] == "3.0"
    (cat,) = findings["Labels"]  # "Blurry" is under MinConfidence
    assert cat == {
        "Name": "Cat", "Confidence": 98.1235,
        "Instances": [{"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0.1, "Top": 0.2},
                       "Confidence": 97.0}],
        "Parents": [{"Name": "Animal"}], "Aliases": [{"Name": "Kitty"}],
        "Categories": [{"Name": "Animals and Pets"}],
    }  # fmt: skip


@pytest.mark.parametrize(
    "code", ["InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"]
)
def test_rekognition_rejections_become_image_rejected(code: str) -> None:
    analyzer = RekognitionAnalyzer(client=FakeRekognition(client_error(code)))
    with pytest.raises(ImageRejected, match=code):
        analyzer.analyze(ImageInput(jpeg(), "k.jpg", "bucket-a"))


def test_throttling_is_not_a_rejection_so_the_pipeline_retries() -> None:
    error = client_error("ProvisionedThroughputExceededException")
    analyzer = RekognitionAnalyzer(client=FakeRekognition(error))
    with pytest.raises(Exception) as caught:
        analyzer.analyze(ImageInput(jpeg(), "k.jpg", "bucket-a"))
    assert not isinstance(caught.value, ImageRejected)


def test_non_images_and_oversized_bytes_are_rejected_without_an_api_call() -> None:
    fake = FakeRekognition()
    analyzer = RekognitionAnalyzer(client=fake)
    with pytest.raises(ImageRejected):
        analyzer.analyze(ImageInput(b"not an image", "k.jpg", "bucket-a"))
    big = jpeg() + b"\0" * (5 * 1024 * 1024)
    with pytest.raises(ImageRejected, match="5 MB"):
        analyzer.analyze(ImageInput(big, "k.jpg", ""))
    assert fake.calls == []


def test_registry_knows_rekognition_and_the_client_retries_adaptively(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    analyzer = registry.create(
        "rekognition", registry.AnalyzerContext(Settings(max_labels=3, min_confidence=70))
    )
    assert isinstance(analyzer, RekognitionAnalyzer)
    assert (analyzer.name, analyzer.method) == ("labels", "rekognition")
    assert analyzer.model_version == "rekognition-detect-labels/max3-min70"
    retries = analyzer.client.meta.config.retries
    assert retries["mode"] == "adaptive" and retries["total_max_attempts"] >= 5


@pytest.mark.parametrize(
    ("bucket", "is_s3"),
    [("photos", True), ("my.photos-1", True), ("/tmp/x", False), ("", False), ("A_b", False)],
)
def test_bucket_name_detection(bucket: str, is_s3: bool) -> None:
    assert is_s3_bucket_name(bucket) is is_s3


class RecordingSns:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        if self.fail:
            raise client_error("InternalError", "Publish")
        self.published.append(kwargs)
        return {"MessageId": "1"}


def failed_record(key: str) -> Record:
    return Record(filename=key, environment="prod", status=Status.ERROR, error="corrupt JPEG")


def test_sns_notifier_publishes_a_short_subject_and_json_and_never_raises() -> None:
    sns = RecordingSns()
    key = "rekognition-input/prod/" + "very long name ☀ " * 10 + ".jpg"
    SnsNotifier("arn:topic", client=sns).failure(failed_record(key))
    (call,) = sns.published
    assert call["TopicArn"] == "arn:topic"
    assert len(call["Subject"]) <= 100 and call["Subject"].isascii()
    assert json.loads(call["Message"])["key"] == key
    assert json.loads(call["Message"])["error"] == "corrupt JPEG"
    SnsNotifier("arn:topic", client=RecordingSns(fail=True)).failure(failed_record("k"))
    assert "\n" not in subject_for(failed_record("a\nb.jpg"))


def outcome(action: Action) -> Outcome:
    return Outcome(ObjectEvent("b", "k.jpg"), action)


def test_metrics_count_actions_and_chunk_durations_through_powertools(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    reported = [Delivered(outcome(Action.STORED), 10.0, f"m{i}") for i in range(150)] + [
        Delivered(outcome(Action.FAILED), 5.0, "f"),
        Delivered(outcome(Action.RETRY), 1.0, "r"),
        Delivered(outcome(Action.SKIPPED), 0.1, "s"),
    ]
    caplog.set_level("INFO", logger="eventlens.aws.outcomes")
    report(reported, "prod")
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first, second = documents  # CloudWatch takes at most 100 values per metric and document
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "eventlens"
        assert sorted(directive["Dimensions"][0]) == ["environment", "service"]
        assert (document["environment"], document["service"]) == ("prod", "eventlens")
    counts = {name: first[name] for name in ("Processed", "Failed", "Retried", "Skipped")}
    assert counts == {"Processed": [150.0], "Failed": [1.0], "Retried": [1.0], "Skipped": [1.0]}
    assert len(first["DurationMs"]) + len(second["DurationMs"]) == 151
    assert "Processed" not in second  # counts are reported once
    lines = [r for r in caplog.records if r.getMessage() == "outcome"]
    assert len(lines) == 153 and lines[0].correlation_id == "m0"  # type: ignore[attr-defined]
    levels = {r.action: r.levelname for r in lines}  # type: ignore[attr-defined]
    assert levels == {"stored": "INFO", "failed": "ERROR", "retry": "WARNING", "skipped": "INFO"}


def test_settings_from_environment() -> None:
    settings = aws_settings(
        {
            "EVENTLENS_ENVIRONMENT": "prod",
            "EVENTLENS_ANALYZERS": "rekognition,duplicates",
            "EVENTLENS_PREFIX": "in/prod",
            "EVENTLENS_MAX_ATTEMPTS": "4",
            "EVENTLENS_TTL_DAYS": "30",
            "EVENTLENS_MIN_CONFIDENCE": "70.5",
            "EVENTLENS_MAX_LABELS": "5",
            "EVENTLENS_MAX_PIXELS": "1000000",
        }
    )
    assert settings.table == "prod_results" and settings.key_prefix == "in/prod/"
    assert settings.analyzer_names == ["rekognition", "duplicates"]
    assert settings.max_attempts == 4 and settings.max_pixels == 1_000_000
    assert (settings.ttl_days, settings.min_confidence, settings.max_labels) == (30, 70.5, 5)
    assert settings.hash_table == "prod_image_hashes"
    assert aws_settings({}).analyzer_names == ["rekognition"]
    with pytest.raises(ValueError, match="beta or prod"):
        aws_settings({"EVENTLENS_ENVIRONMENT": "staging"})
    with pytest.raises(ValueError, match="dynamodb"):
        aws_settings({"EVENTLENS_RESULTS_BACKEND": "sqlite"})
    with pytest.raises(ValueError, match="EVENTLENS_MAX_PIXELS='many' is not a number"):
        aws_settings({"EVENTLENS_MAX_PIXELS": "many"})


def test_analyzers_take_the_embedded_syntax_per_environment() -> None:
    spec = "beta=rekognition,rekognition-faces,duplicates;prod=bundled"
    beta = aws_settings({"EVENTLENS_ANALYZERS": spec})
    prod = aws_settings({"EVENTLENS_ANALYZERS": spec, "EVENTLENS_ENVIRONMENT": "prod"})
    assert beta.analyzer_names == ["rekognition", "rekognition-faces", "duplicates"]
    assert prod.analyzer_names == ["labels"]  # "bundled" is the old name of the label model
    # an environment the spec does not name falls back to the spec's default, or fails at start
    fallback = "labels;prod=rekognition"
    assert aws_settings({"EVENTLENS_ANALYZERS": fallback}).analyzer_names == ["labels"]
    with pytest.raises(ValueError, match="names no analyzers for 'beta'"):
        aws_settings({"EVENTLENS_ANALYZERS": "prod=rekognition"})


def test_the_deprecated_single_analyzer_variable_still_works_and_yields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = aws_settings({"EVENTLENS_ANALYZER": "Bundled"})
    assert old.analyzer_names == ["labels"]
    assert "EVENTLENS_ANALYZER is deprecated" in caplog.text
    both = {"EVENTLENS_ANALYZER": "bundled", "EVENTLENS_ANALYZERS": "rekognition,duplicates"}
    assert aws_settings(both).analyzer_names == ["rekognition", "duplicates"]
    assert "EVENTLENS_ANALYZER=bundled is ignored" in caplog.text
