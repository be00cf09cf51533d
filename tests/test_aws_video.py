"""Video through Rekognition Video: the handler starts a job (the video is not downloaded), the
completion handler stores the labels. S3, SQS, DynamoDB and SNS are moto's server over HTTP;
moto does not implement StartLabelDetection / GetLabelDetection, so those two calls go to a
botocore ``Stubber`` (requests checked against the service model, responses shaped as in
AWS's documentation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from eventlens.analyzers import registry
from eventlens.analyzers.rekognition_video import MAX_LABEL_ENTRIES, RekognitionVideoAnalyzer
from eventlens.aws import handler as lambda_handler
from eventlens.aws import video_jobs
from eventlens.hooks.sns import SnsNotifier
from eventlens.imaging import ImageInput, ImageRejected
from eventlens.results.dynamodb import DynamoDBResultStore
from eventlens.results.record import Record
from eventlens.settings import Mode, Settings

if TYPE_CHECKING:
    from botocore.stub import Stubber

    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]

BETA = "rekognition-input/beta/"
KEY = BETA + "clips/launch.mp4"
TOPIC = "arn:aws:sns:us-east-1:123456789012:AmazonRekognition-eventlens-video"
ROLE = "arn:aws:iam::123456789012:role/eventlens-rekognition-video"


def rekognition_stub() -> Stubber:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "rekognition", region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    stub = Stubber(client)
    stub.activate()
    return stub


def label(name: str, confidence: float, timestamp: int, *parents: str) -> dict[str, Any]:
    return {
        "Timestamp": timestamp,
        "Label": {"Name": name, "Confidence": confidence,
                  "Parents": [{"Name": p} for p in parents], "Instances": []},
        "StartTimestampMillis": timestamp, "EndTimestampMillis": timestamp + 500,
        "DurationMillis": 500,
    }  # fmt: skip


METADATA = {
    "Codec": "h264", "DurationMillis": 4000, "Format": "QuickTime / MOV", "FrameRate": 25.0,
    "FrameHeight": 720, "FrameWidth": 1280, "ColorRange": "LIMITED",
}  # fmt: skip


@pytest.fixture
def video_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Stubber]]:
    stub = rekognition_stub()
    saved = registry.FACTORIES["rekognition-video"]
    registry.register(
        "rekognition-video",
        lambda c: RekognitionVideoAnalyzer(
            c.settings.video_topic_arn, c.settings.video_role_arn, client=stub.client
        ),
    )
    for name, value in {
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": stack.tables["beta"],
        "EVENTLENS_ANALYZERS": "rekognition,rekognition-video",
        "EVENTLENS_VIDEO_TOPIC_ARN": TOPIC,
        "EVENTLENS_VIDEO_ROLE_ARN": ROLE,
        "EVENTLENS_FAILURE_TOPIC_ARN": stack.topic_arn,
        "EVENTLENS_MAX_BYTES": "1000",  # smaller than the video: it must not be downloaded
    }.items():
        monkeypatch.setenv(name, value)
    lambda_handler.reset()
    monkeypatch.setattr(video_jobs, "_jobs", None)
    yield stack, stub
    lambda_handler.reset()
    registry.FACTORIES["rekognition-video"] = saved


def start_job(stack: Stack, stub: Stubber, job_id: str) -> Record:
    stub.add_response(
        "start_label_detection",
        {"JobId": job_id},
        {
            "Video": {"S3Object": {"Bucket": stack.bucket, "Name": KEY}},
            "MinConfidence": 50.0,
            "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
            "JobTag": "beta",
        },
    )
    stack.put_image(KEY, b"\0\0\0\x18ftypmp42" + b"x" * 5000)
    # handled and deleted, as the event source mapping does: an undeleted message would come
    # back after the test queue's 1-s visibility and reach a later call's batch
    assert stack.handle_queued(1) == {"batchItemFailures": []}
    record = DynamoDBResultStore({"beta": stack.tables["beta"]}).get("beta", KEY)
    assert record is not None
    return record


def completion(job_id: str, status: str = "SUCCEEDED", tag: str = "beta") -> dict[str, Any]:
    message = {
        "JobId": job_id, "Status": status, "API": "StartLabelDetection", "JobTag": tag,
        "Timestamp": 1764580000000, "Video": {"S3ObjectName": KEY, "S3Bucket": "b"},
    }  # fmt: skip
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


def use_jobs(stack: Stack, stub: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env(mode=Mode.AWS)
    jobs = video_jobs.VideoJobs(
        settings,
        DynamoDBResultStore({"beta": stack.tables["beta"]}),
        SnsNotifier(stack.topic_arn),
        client=stub.client,
    )
    monkeypatch.setattr(video_jobs, "_jobs", jobs)


def test_a_video_starts_a_job_and_its_completion_stores_the_labels(
    video_env: tuple[Stack, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, stub = video_env
    started = start_job(stack, stub, "job-1")
    assert started.ok, started.error  # not "file too large": nothing was downloaded
    assert started.findings["video"] == {"JobId": "job-1", "JobStatus": "IN_PROGRESS", "Labels": []}
    assert started.analysis_method == "rekognition-video" and started.size > 1000

    get = {"JobId": "job-1", "MaxResults": 1000, "SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS"}
    first_page = {
        "JobStatus": "SUCCEEDED", "VideoMetadata": METADATA, "LabelModelVersion": "3.0",
        "NextToken": "page-2",
        "Labels": [label("Rocket", 91.5, 0, "Vehicle"), label("Sky", 97.0, 0)],
    }  # fmt: skip
    second_page = {
        "JobStatus": "SUCCEEDED", "VideoMetadata": METADATA, "LabelModelVersion": "3.0",
        "Labels": [label("Rocket", 99.0, 2000, "Vehicle")],
    }  # fmt: skip
    stub.add_response("get_label_detection", first_page, get)
    stub.add_response("get_label_detection", second_page, {**get, "NextToken": "page-2"})
    use_jobs(stack, stub, monkeypatch)
    result = video_jobs.handler(completion("job-1"))
    assert result == {"jobs": {"job-1": "stored: 2 labels"}}
    stub.assert_no_pending_responses()

    record = DynamoDBResultStore({"beta": stack.tables["beta"]}).get("beta", KEY)
    assert record is not None and record.ok
    assert [(x["Name"], x["Confidence"]) for x in record.labels] == [
        ("Rocket", 99.0),
        ("Sky", 97.0),
    ]
    video = record.findings["video"]
    assert video["JobStatus"] == "SUCCEEDED" and len(video["Labels"]) == 3
    assert video["Labels"][2] == {
        "Timestamp": 2000, "Label": {"Name": "Rocket", "Confidence": 99.0,
                                     "Parents": [{"Name": "Vehicle"}]},
        "StartTimestampMillis": 2000, "EndTimestampMillis": 2500, "DurationMillis": 500,
    }  # fmt: skip
    assert (record.width, record.height) == (1280, 720)
    assert "ColorRange" not in video["VideoMetadata"]  # the offline analyzer's fields only

    # the same completion again (SNS delivers at least once) changes nothing
    assert video_jobs.handler(completion("job-1"))["jobs"]["job-1"].startswith("skipped")


def test_stale_foreign_and_failed_jobs(
    video_env: tuple[Stack, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, stub = video_env
    start_job(stack, stub, "job-new")
    use_jobs(stack, stub, monkeypatch)
    # a job the record no longer names (the key was uploaded again since) writes nothing
    assert video_jobs.handler(completion("job-old"))["jobs"]["job-old"].startswith("skipped")
    # a job of the prod environment is prod's to store
    other = video_jobs.handler(completion("job-new", tag="prod"))["jobs"]["job-new"]
    assert other.startswith("skipped: job of 'prod'")
    # not a label-detection completion (e.g. a failure notice on a shared topic): ignored
    assert video_jobs.handler({"Records": [{"Sns": {"Message": "{}"}}]}) == {"jobs": {}}
    # a job whose record is not written yet (or gone): Lambda is asked to retry
    stack.dynamodb.delete_item(TableName=stack.tables["beta"], Key={"filename": {"S": KEY}})
    with pytest.raises(video_jobs.JobNotRecorded):
        video_jobs.handler(completion("job-new"))
    start_job(stack, stub, "job-new")

    stub.add_response(
        "get_label_detection",
        {"JobStatus": "FAILED", "StatusMessage": "Unsupported codec", "Labels": []},
    )
    assert video_jobs.handler(completion("job-new", "FAILED"))["jobs"]["job-new"] == (
        "failed: Rekognition Video job failed: Unsupported codec"
    )
    record = DynamoDBResultStore({"beta": stack.tables["beta"]}).get("beta", KEY)
    assert record is not None and not record.ok
    (notice,) = stack.failure_messages()
    assert notice["key"] == KEY and "Unsupported codec" in notice["error"]


def test_start_rejections_and_long_videos_are_bounded() -> None:
    stub = rekognition_stub()
    analyzer = RekognitionVideoAnalyzer(TOPIC, ROLE, client=stub.client)
    with pytest.raises(ImageRejected, match="S3 bucket only"):
        analyzer.analyze(ImageInput(b"", "v.mp4", "/local/folder", media="video"))
    stub.add_client_error("start_label_detection", "VideoTooLargeException")
    with pytest.raises(ImageRejected, match="VideoTooLargeException"):
        analyzer.analyze(ImageInput(b"", "v.mp4", "bucket-a", media="video"))
    with pytest.raises(ValueError, match="EVENTLENS_VIDEO_TOPIC_ARN"):
        RekognitionVideoAnalyzer(None, ROLE)

    from eventlens.analyzers.rekognition_video import label_detection

    many = [label(f"L{i}", 60.0, i * 10) for i in range(MAX_LABEL_ENTRIES + 5)]
    stub.add_response("get_label_detection", {"JobStatus": "SUCCEEDED", "Labels": many})
    findings = label_detection(stub.client, "job")
    assert len(findings["Labels"]) == MAX_LABEL_ENTRIES and findings["Truncated"] is True
