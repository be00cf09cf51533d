"""The Terraform module in infra/terraform, proven by running it.

fmt/init/validate run offline from the provider mirror. The apply tests start a moto server on
127.0.0.1 (free port), apply a scratch copy of the module with an ``override.tf`` generated from
``emulator.tf.example``, check the resources over the AWS APIs with boto3, push an image through
S3 -> SQS (and into the real handler when it exists), then destroy and check the bucket is gone.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import rekognition_collection_emulator
from tests.iam_policy import allowed

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "infra" / "terraform"
PROVIDER_MIRROR = Path("/opt/tf-plugins")
REGION = "eu-west-1"
BUCKET = "eventlens-tf-test"
LOG_BUCKET = f"{BUCKET}-access-logs"  # on by default: prod is a production environment
GITHUB_REPO = "example-org/eventlens"
BETA_ANALYZERS = ["rekognition", "rekognition-faces", "duplicates", "rekognition-video", "people"]

pytestmark = pytest.mark.terraform


def _require_terraform() -> str:
    exe = shutil.which("terraform")
    if exe is None:
        pytest.skip("terraform not on PATH")
    if not (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip("AWS provider mirror /opt/tf-plugins missing")
    return exe


@dataclass
class Terraform:
    """Runs terraform in one working directory with an isolated CLI config and data dir."""

    exe: str
    workdir: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        proc = subprocess.run(
            [self.exe, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.timings[args[0]] = self.timings.get(args[0], 0.0) + time.monotonic() - started
        if check and proc.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        return proc


def _terraform(tmp: Path, workdir: Path) -> Terraform:
    exe = _require_terraform()
    cli_config = tmp / "terraform.tfrc"
    cli_config.write_text(
        'provider_installation {\n  filesystem_mirror {\n    path = "/opt/tf-plugins"\n  }\n}\n'
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_")) or k in ("TF_LOG",)
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_DATA_DIR=str(tmp / "tf-data"),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    return Terraform(exe, workdir, env)


def _copy_module(dest: Path) -> Path:
    shutil.copytree(
        MODULE_DIR,
        dest,
        ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "*.tfstate*", "override.tf", "terraform.tfvars"
        ),
    )
    return dest


# --- static checks -------------------------------------------------------------------------


def test_fmt_check(tmp_path: Path) -> None:
    tf = _terraform(tmp_path, MODULE_DIR)
    proc = tf.run("fmt", "-check", "-recursive", "-diff", check=False)
    assert proc.returncode == 0, f"terraform fmt would change files:\n{proc.stdout}"


def test_module_has_no_emulator_endpoints() -> None:
    for tf_file in MODULE_DIR.glob("*.tf"):
        text = tf_file.read_text()
        assert "127.0.0.1" not in text and "localhost" not in text, tf_file.name
        assert not re.search(r"^\s*endpoints\s*\{", text, re.MULTILINE), (
            f"{tf_file.name} must not override provider endpoints"
        )
    assert not (MODULE_DIR / "override.tf").exists(), "override.tf must never be committed"


def test_init_and_validate(tmp_path: Path) -> None:
    mod = _copy_module(tmp_path / "module")
    tf = _terraform(tmp_path, mod)
    tf.run("init", "-backend=false", "-no-color")
    proc = tf.run("validate", "-json", "-no-color")
    result = json.loads(proc.stdout)
    assert result["valid"] is True, result
    assert result["error_count"] == 0


# --- against the moto emulator ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fake_lambda_zip(path: Path) -> Path:
    # Terraform only needs a zip to upload; moto stores it without running it.
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("eventlens/__init__.py", "")
        zf.writestr("eventlens/aws/__init__.py", "")
        zf.writestr("eventlens/aws/handler.py", "def handler(event, context):\n    return {}\n")
    return path


@dataclass
class Deployment:
    tf: Terraform
    endpoint: str
    outputs: dict[str, Any]
    var_args: list[str]
    bucket_policy: dict[str, Any] = field(default_factory=dict)
    log_bucket_policy: dict[str, Any] = field(default_factory=dict)
    queue_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    destroyed: bool = False

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def destroy(self, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The deploy guide's teardown: lift the tables' deletion protection, then destroy."""
        self.tf.run(
            "apply", "-auto-approve", "-no-color", "-refresh=false", *self.var_args,
            "-var=dynamodb_deletion_protection=false", check=check,
        )  # fmt: skip
        proc = self.tf.run("destroy", "-auto-approve", "-no-color", *self.var_args, check=check)
        self.destroyed = True
        return proc


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    _require_terraform()
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")

    tmp = tmp_path_factory.mktemp("tf-apply")
    mod = _copy_module(tmp / "module")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    example = (mod / "emulator.tf.example").read_text()
    assert "http://127.0.0.1:5000" in example
    (mod / "override.tf").write_text(example.replace("http://127.0.0.1:5000", endpoint))

    rekognition_collection_emulator.install()  # beta's face collection (moto has none)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    tf = _terraform(tmp, mod)
    var_args = [
        f"-var=bucket_name={BUCKET}",
        f"-var=aws_region={REGION}",
        f"-var=github_repo={GITHUB_REPO}",
        f"-var=lambda_package_path={_fake_lambda_zip(tmp / 'lambda.zip')}",
        "-var=bucket_force_destroy=true",
        "-var=trigger_mode=sqs",
        "-var=analyzer=rekognition",
        f"-var=analyzers={{beta={json.dumps(BETA_ANALYZERS)}}}",
        "-var=reserved_concurrency=10",
    ]
    deployment = Deployment(tf, endpoint, {}, var_args)
    try:
        tf.run("init", "-backend=false", "-no-color")
        # First everything but the Lambda parts (as before a first package exists). moto
        # applies a bucket policy's Deny statements without evaluating their conditions, so the
        # TLS-only Deny (aws:SecureTransport = false) would reject every request to the
        # plain-HTTP emulator, the module's upload of the Lambda zip included. Keep the applied
        # policy for the assertions and lift it; then apply the whole module without refreshing,
        # so that terraform does not put the policy back.
        tf.run("apply", "-auto-approve", "-no-color", *var_args, "-var=create_lambdas=false")
        s3 = deployment.client("s3")
        deployment.bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        s3.delete_bucket_policy(Bucket=BUCKET)
        deployment.log_bucket_policy = json.loads(s3.get_bucket_policy(Bucket=LOG_BUCKET)["Policy"])
        s3.delete_bucket_policy(Bucket=LOG_BUCKET)
        # moto drops a queue's policy whenever another attribute of it is set, which the
        # second apply does (moto's RedrivePolicy reads back reformatted): keep them as applied
        sqs = deployment.client("sqs")
        for env in ("beta", "prod"):
            url = sqs.get_queue_url(QueueName=f"eventlens-{env}-events")["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            deployment.queue_policies[env] = json.loads(attrs["Attributes"]["Policy"])
        tf.run("apply", "-auto-approve", "-no-color", "-refresh=false", *var_args)
        outputs = json.loads(tf.run("output", "-json").stdout)
        deployment.outputs = {k: v["value"] for k, v in outputs.items()}
        yield deployment
    finally:
        try:
            if not deployment.destroyed and (mod / "terraform.tfstate").exists():
                deployment.destroy(check=False)
        finally:
            server.stop()
            print(
                "terraform timings (s): "
                + ", ".join(f"{k}={v:.1f}" for k, v in deployment.tf.timings.items())
            )


@pytest.mark.slow
def test_outputs(deployment: Deployment) -> None:
    out = deployment.outputs
    assert out["bucket_name"] == BUCKET
    assert out["table_names"] == {"beta": "beta_results", "prod": "prod_results"}
    assert out["function_names"] == {
        "beta": "rekognition-beta-handler",
        "prod": "rekognition-prod-handler",
    }
    assert set(out["queue_urls"]) == {"beta", "prod"}
    assert out["failure_topic_arn"].endswith(":eventlens-failures")
    roles = out["github_actions_role_arns"]
    assert set(roles) == {"beta", "prod"}
    assert roles["beta"].endswith(":role/eventlens-github-beta")
    assert roles["prod"].endswith(":role/eventlens-github-prod")
    assert out["lambda_package_s3_uri"] == f"s3://{BUCKET}/lambda-artifacts/eventlens-lambda.zip"
    assert out.get("ecr_repository_url") is None  # Zip packages (a null output is left out)
    assert out["hash_table_names"] == {"beta": "beta_image_hashes"}
    assert out["people_table_names"] == {"beta": "beta_people"}
    assert out["people_collection_ids"] == {"beta": "beta_people"}  # rekognition-faces + people
    assert out["video_job_function_names"] == {"beta": "rekognition-beta-video-jobs"}
    assert out["dashboard_name"] == "eventlens"
    assert out["access_log_bucket_name"] == LOG_BUCKET


@pytest.mark.slow
def test_bucket_is_private_versioned_encrypted(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    pab = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert pab == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = deployment.bucket_policy  # as applied by terraform (see the fixture)
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1 and deny[0]["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert deny[0]["Principal"] == "*" or deny[0]["Principal"] == {"AWS": "*"}
    assert sorted(_as_list(deny[0]["Resource"])) == [
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/*",
    ]

    lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    images = lifecycle["input-images"]
    assert images["Transitions"][0] == {"Days": 30, "StorageClass": "STANDARD_IA"}
    assert images["Expiration"]["Days"] == 365
    assert images["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


@pytest.mark.slow
def test_tables_have_pitr_ttl_and_sse(deployment: Deployment) -> None:
    ddb = deployment.client("dynamodb")
    for table in ("beta_results", "prod_results"):
        desc = ddb.describe_table(TableName=table)["Table"]
        assert desc["KeySchema"] == [{"AttributeName": "filename", "KeyType": "HASH"}]
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert desc["SSEDescription"]["Status"] == "ENABLED"
        (index,) = desc["GlobalSecondaryIndexes"]
        assert index["IndexName"] == "by_time" and index["KeySchema"] == [
            {"AttributeName": "environment", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ]
        assert index["Projection"]["ProjectionType"] == "ALL"
        backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    # the duplicates analyzer's index, for beta only (prod does not run it)
    hashes = ddb.describe_table(TableName="beta_image_hashes")["Table"]
    assert hashes["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"},
    ]  # fmt: skip
    (by_sha,) = hashes["GlobalSecondaryIndexes"]
    assert by_sha["IndexName"] == "by_sha256" and by_sha["Projection"] == {
        "ProjectionType": "INCLUDE", "NonKeyAttributes": ["filename"],
    }  # fmt: skip
    assert "prod_image_hashes" not in ddb.list_tables()["TableNames"]
    # the people analyzer's faces and people, for beta only
    people = ddb.describe_table(TableName="beta_people")["Table"]
    assert people["KeySchema"] == hashes["KeySchema"]
    assert people["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert people["SSEDescription"]["Status"] == "ENABLED"
    (by_seq,) = people["LocalSecondaryIndexes"]
    assert by_seq["IndexName"] == "by_seq" and by_seq["KeySchema"][1] == {
        "AttributeName": "seq", "KeyType": "RANGE",
    }  # fmt: skip
    (by_person,) = people["GlobalSecondaryIndexes"]
    assert by_person["IndexName"] == "by_person"
    assert by_person["Projection"]["ProjectionType"] == "KEYS_ONLY"
    backups = ddb.describe_continuous_backups(TableName="beta_people")
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert "prod_people" not in ddb.list_tables()["TableNames"]


@pytest.mark.slow
def test_the_production_tables_are_protected_against_deletion(deployment: Deployment) -> None:
    ddb = deployment.client("dynamodb")
    protected = {
        table: ddb.describe_table(TableName=table)["Table"].get("DeletionProtectionEnabled")
        for table in ("beta_results", "prod_results", "beta_image_hashes", "beta_people")
    }
    assert protected == {
        "beta_results": False, "prod_results": True, "beta_image_hashes": False,
        "beta_people": False,
    }  # fmt: skip
    with pytest.raises(ddb.exceptions.ClientError, match="DeletionProtectionEnabled"):
        ddb.delete_table(TableName="prod_results")
    assert "prod_results" in ddb.list_tables()["TableNames"]


@pytest.mark.slow
def test_bucket_access_is_logged_into_a_private_log_bucket(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    assert s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"] == {
        "TargetBucket": LOG_BUCKET,
        "TargetPrefix": f"{BUCKET}/",
    }
    assert s3.get_bucket_versioning(Bucket=LOG_BUCKET)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=LOG_BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    pab = s3.get_public_access_block(Bucket=LOG_BUCKET)["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=LOG_BUCKET)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (expiry,) = s3.get_bucket_lifecycle_configuration(Bucket=LOG_BUCKET)["Rules"]
    assert expiry["Expiration"]["Days"] == 365

    statements = {s["Sid"]: s for s in deployment.log_bucket_policy["Statement"]}
    delivery = statements["S3ServerAccessLogsFromTheImagesBucket"]
    assert delivery["Effect"] == "Allow"
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert _as_list(delivery["Action"]) == ["s3:PutObject"]
    assert _as_list(delivery["Resource"]) == [f"arn:aws:s3:::{LOG_BUCKET}/{BUCKET}/*"]
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def _plan(deployment: Deployment, name: str, overrides: Sequence[str]) -> dict[str, Any]:
    """The JSON plan with some variables changed (each plan costs ~10-20 s of provider start)."""
    deployment.tf.run(
        "plan", "-no-color", "-refresh=false", "-lock=false", f"-out={name}.tfplan",
        *_with(deployment, overrides),
    )  # fmt: skip
    plan: dict[str, Any] = json.loads(deployment.tf.run("show", "-json", f"{name}.tfplan").stdout)
    return plan


@pytest.mark.slow
def test_access_logging_and_deletion_protection_follow_the_variables(
    deployment: Deployment,
) -> None:
    def plan(name: str, *overrides: str) -> dict[str, Any]:
        return _plan(deployment, name, overrides)

    def changes(result: dict[str, Any]) -> dict[str, list[str]]:
        """Deletions and creations, and the tables' changes (the Lambda functions and policies
        show updates in every plan against moto, as moto reads some attributes back changed)."""
        return {
            rc["address"]: rc["change"]["actions"]
            for rc in result["resource_changes"]
            if {"delete", "create"} & set(rc["change"]["actions"])
            or (
                rc["address"].startswith("aws_dynamodb_table.")
                and rc["change"]["actions"] != ["no-op"]
            )
        }

    off = changes(plan("nologs", "-var=s3_access_logging=false"))
    assert off == {
        address: ["delete"]
        for address in (
            "aws_s3_bucket.access_logs[0]",
            "aws_s3_bucket_ownership_controls.access_logs[0]",
            "aws_s3_bucket_public_access_block.access_logs[0]",
            "aws_s3_bucket_versioning.access_logs[0]",
            "aws_s3_bucket_server_side_encryption_configuration.access_logs[0]",
            "aws_s3_bucket_lifecycle_configuration.access_logs[0]",
            "aws_s3_bucket_policy.access_logs[0]",
            "aws_s3_bucket_logging.images[0]",
        )
    }

    every = plan("protect", "-var=dynamodb_deletion_protection=true")
    tables = (
        'aws_dynamodb_table.results["beta"]', 'aws_dynamodb_table.hashes["beta"]',
        'aws_dynamodb_table.people["beta"]',
    )  # fmt: skip
    assert changes(every) == {address: ["update"] for address in tables}
    for address in tables:
        assert _changed_attrs(every, address) == {"deletion_protection_enabled": (False, True)}

    # environments that say nothing of production: neither access logs nor protection
    plain = changes(plan(
        "plain",
        '-var=environments={beta={prefix="rekognition-input/beta/",table_name="beta_results",'
        'log_retention_days=7,ttl_days=30},prod={prefix="rekognition-input/prod/",'
        'table_name="prod_results",log_retention_days=14}}',
    ))  # fmt: skip
    assert plain == off | {'aws_dynamodb_table.results["prod"]': ["update"]}


@pytest.mark.slow
def test_queues_have_dlq_redrive_and_visibility(deployment: Deployment) -> None:
    sqs = deployment.client("sqs")
    for env, url in deployment.outputs["queue_urls"].items():
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(f":eventlens-{env}-events-dlq")
        assert int(redrive["maxReceiveCount"]) == 3
        assert int(attrs["VisibilityTimeout"]) >= 6 * 60
        assert attrs["SqsManagedSseEnabled"] == "true"
        stmt = deployment.queue_policies[env]["Statement"][0]  # as applied (see the fixture)
        assert stmt["Principal"] == {"Service": "s3.amazonaws.com"}
        assert stmt["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"


@pytest.mark.slow
def test_topic_log_groups_and_alarms(deployment: Deployment) -> None:
    topic_arn = deployment.outputs["failure_topic_arn"]
    sns = deployment.client("sns")
    attrs = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attrs.get("KmsMasterKeyId"), "failure topic must be encrypted"
    # in sqs mode the functions do not subscribe to Lambda's dead letters (direct mode only)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [s for s in subscriptions if s["Protocol"] == "lambda"] == []

    logs = deployment.client("logs")
    groups = {
        g["logGroupName"]: g.get("retentionInDays")
        for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/rekognition-")[
            "logGroups"
        ]
    }
    assert groups == {
        "/aws/lambda/rekognition-beta-handler": 7,
        "/aws/lambda/rekognition-prod-handler": 14,
        "/aws/lambda/rekognition-beta-video-jobs": 7,
    }

    alarms = {
        a["AlarmName"]: a for a in deployment.client("cloudwatch").describe_alarms()["MetricAlarms"]
    }
    assert set(alarms) == {
        "rekognition-beta-handler-errors",
        "rekognition-prod-handler-errors",
        "rekognition-beta-video-jobs-errors",
        "eventlens-beta-dlq-depth",
        "eventlens-prod-dlq-depth",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic_arn]
    assert alarms["eventlens-beta-dlq-depth"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "eventlens-beta-events-dlq"}
    ]


@pytest.mark.slow
def test_dashboard_shows_throughput_errors_duration_and_dlq_per_environment(
    deployment: Deployment,
) -> None:
    body = deployment.client("cloudwatch").get_dashboard(DashboardName="eventlens")
    widgets = json.loads(body["DashboardBody"])["widgets"]
    for env in ("beta", "prod"):
        mine = {w["properties"]["title"]: w["properties"] for w in widgets
                if w["properties"]["title"].startswith(f"{env}:")}  # fmt: skip
        assert len(mine) == 4, sorted(mine)
        metrics = {
            title.split(": ")[1].split(" (")[0]: props["metrics"] for title, props in mine.items()
        }
        dims = ["environment", env, "service", "eventlens"]  # as Powertools Metrics writes them
        assert ["eventlens", "Processed", *dims] == metrics["throughput"][0][:6]
        assert ["eventlens", "Failed", *dims] == metrics["errors"][0][:6]
        assert ["AWS/Lambda", "Errors", "FunctionName", f"rekognition-{env}-handler"] in metrics[
            "errors"
        ]
        assert ["eventlens", "DurationMs", *dims] == metrics["duration"][0][:6]
        dlq = metrics["DLQ depth"][0]
        assert dlq[:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
        assert dlq[2:4] == ["QueueName", f"eventlens-{env}-events-dlq"]
        assert {p["region"] for p in mine.values()} == {REGION}


@pytest.mark.slow
def test_lambdas_run_the_uploaded_package_with_derived_settings(deployment: Deployment) -> None:
    lam = deployment.client("lambda")
    package = deployment.client("s3").get_object(
        Bucket=BUCKET, Key="lambda-artifacts/eventlens-lambda.zip"
    )
    assert zipfile.ZipFile(io.BytesIO(package["Body"].read())).namelist()  # the zip, uploaded
    for env in ("beta", "prod"):
        function = lam.get_function(FunctionName=f"rekognition-{env}-handler")
        cfg = function["Configuration"]
        # from S3 (AWS refuses direct uploads over 50 MB), the version the module uploaded
        assert function["Code"]["RepositoryType"] == "S3"
        assert function["Code"]["Location"].endswith("/lambda-artifacts/eventlens-lambda.zip")
        assert function["Concurrency"] == {"ReservedConcurrentExecutions": 10}
        assert cfg["Handler"] == "eventlens.aws.handler.handler"
        assert cfg["Runtime"] in ("python3.12", "python3.13")
        # beta runs the people analyzer's face models: one vCPU by default
        assert cfg["MemorySize"] == (1769 if env == "beta" else 256)
        assert cfg["Timeout"] == 60
        variables = cfg["Environment"]["Variables"]
        assert variables["EVENTLENS_ENVIRONMENT"] == env
        assert variables["EVENTLENS_RESULTS_TABLE"] == f"{env}_results"
        assert variables["EVENTLENS_RESULTS_BACKEND"] == "dynamodb"
        assert variables["EVENTLENS_PREFIX"] == f"rekognition-input/{env}/"
        assert variables["EVENTLENS_FAILURE_TOPIC_ARN"] == deployment.outputs["failure_topic_arn"]
        assert variables["EVENTLENS_MAX_PIXELS"] == "120000000"
        assert {"EVENTLENS_MIN_CONFIDENCE", "EVENTLENS_MAX_LABELS", "EVENTLENS_TTL_DAYS"} <= set(
            variables
        )
        assert "EVENTLENS_ANALYZER" not in variables  # the deprecated single-name variable
        # the handler gives up on exactly the receive after which SQS would dead-letter
        queue = deployment.client("sqs").get_queue_attributes(
            QueueUrl=deployment.outputs["queue_urls"][env], AttributeNames=["RedrivePolicy"]
        )
        receives = json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"]
        assert variables["EVENTLENS_MAX_ATTEMPTS"] == str(receives) == "3"

        # moto ignores the FunctionName filter, so filter on the function ARN here.
        mappings = [
            m
            for m in lam.list_event_source_mappings()["EventSourceMappings"]
            if m["FunctionArn"] == cfg["FunctionArn"]
        ]
        assert len(mappings) == 1
        assert mappings[0]["EventSourceArn"].endswith(f":eventlens-{env}-events")
        assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    beta = lam.get_function_configuration(FunctionName="rekognition-beta-handler")
    prod = lam.get_function_configuration(FunctionName="rekognition-prod-handler")
    beta_vars, prod_vars = beta["Environment"]["Variables"], prod["Environment"]["Variables"]
    assert beta_vars["EVENTLENS_ANALYZERS"] == ",".join(BETA_ANALYZERS)
    assert prod_vars["EVENTLENS_ANALYZERS"] == "rekognition"  # from var.analyzer
    assert beta_vars["EVENTLENS_HASHES_TABLE"] == "beta_image_hashes"
    assert beta_vars["EVENTLENS_PEOPLE_TABLE"] == "beta_people"
    assert beta_vars["EVENTLENS_PEOPLE_COLLECTION"] == "beta_people"
    assert beta_vars["EVENTLENS_VIDEO_TOPIC_ARN"].endswith(
        ":AmazonRekognition-eventlens-video-jobs"
    )
    assert beta_vars["EVENTLENS_VIDEO_ROLE_ARN"].endswith(":role/eventlens-rekognition-video")
    assert not {
        "EVENTLENS_HASHES_TABLE", "EVENTLENS_VIDEO_TOPIC_ARN", "EVENTLENS_PEOPLE_TABLE",
        "EVENTLENS_PEOPLE_COLLECTION",
    } & set(prod_vars)  # fmt: skip


@pytest.mark.slow
def test_rekognition_video_completions_reach_only_their_environments_function(
    deployment: Deployment,
) -> None:
    lam = deployment.client("lambda")
    video = lam.get_function_configuration(FunctionName="rekognition-beta-video-jobs")
    assert video["Handler"] == "eventlens.aws.video_jobs.handler"
    assert video["Environment"]["Variables"]["EVENTLENS_RESULTS_TABLE"] == "beta_results"
    sns = deployment.client("sns")
    topic = deployment.client("lambda").get_function_configuration(
        FunctionName="rekognition-beta-handler"
    )["Environment"]["Variables"]["EVENTLENS_VIDEO_TOPIC_ARN"]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Protocol"] == "lambda" and subscription["Endpoint"] == video["FunctionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
    assert attributes["Attributes"]["FilterPolicyScope"] == "MessageBody"
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {
        "JobTag": ["beta"], "API": ["StartLabelDetection"],
    }  # fmt: skip

    # the role Rekognition publishes with: trusted by Rekognition, publishing to that topic only
    iam = deployment.client("iam")
    trust = _document(
        iam.get_role(RoleName="eventlens-rekognition-video")["Role"]["AssumeRolePolicyDocument"]
    )
    service = ("Service", "rekognition.amazonaws.com")
    account = {"aws:SourceAccount": "123456789012"}
    assert allowed([trust], "sts:AssumeRole", context=account, principal=service)
    assert not allowed(
        [trust], "sts:AssumeRole", context=account, principal=("Service", "lambda.amazonaws.com")
    )
    policy = {"Statement": _role_policy(deployment, "eventlens-rekognition-video")}
    assert allowed([policy], "sns:Publish", topic)
    assert not allowed([policy], "sns:Publish", deployment.outputs["failure_topic_arn"])

    jobs = {"Statement": _role_policy(deployment, "eventlens-beta-video-jobs")}
    table = deployment.client("dynamodb").describe_table(TableName="beta_results")["Table"][
        "TableArn"
    ]
    assert allowed([jobs], "rekognition:GetLabelDetection", "*")
    assert allowed([jobs], "dynamodb:PutItem", table)
    assert not allowed([jobs], "dynamodb:PutItem", table.replace("beta_results", "prod_results"))
    assert not allowed([jobs], "rekognition:StartLabelDetection", "*")


def _role_policy(deployment: Deployment, role: str) -> list[dict[str, Any]]:
    iam = deployment.client("iam")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 1
    doc = _document(iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"])
    statements: list[dict[str, Any]] = doc["Statement"]
    return statements


def _document(doc: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _arns(deployment: Deployment) -> dict[str, str]:
    ddb = deployment.client("dynamodb")
    return {
        f"{env}_table": ddb.describe_table(TableName=f"{env}_results")["Table"]["TableArn"]
        for env in ("beta", "prod")
    } | {
        "hashes": ddb.describe_table(TableName="beta_image_hashes")["Table"]["TableArn"],
        "people": ddb.describe_table(TableName="beta_people")["Table"]["TableArn"],
    }


@pytest.mark.slow
def test_lambda_roles_are_least_privilege(deployment: Deployment) -> None:
    arns = _arns(deployment)
    bucket = f"arn:aws:s3:::{BUCKET}"
    for env, other in (("beta", "prod"), ("prod", "beta")):
        statements = _role_policy(deployment, f"eventlens-{env}-handler")
        flat = json.dumps(statements)
        assert f"{other}_results" not in flat and f"rekognition-input/{other}/" not in flat
        for stmt in statements:
            for action in _as_list(stmt["Action"]):
                assert "*" not in action, f"wildcard action {action} in {env} role"
            if stmt["Sid"] not in ("Rekognition", "XRayTraces"):
                assert stmt["Resource"] != "*", f"{stmt['Sid']} must name its resources"
        role = [{"Statement": statements}]
        own, others = f"rekognition-input/{env}/a/cat.jpg", f"rekognition-input/{other}/cat.jpg"
        assert allowed(role, "s3:GetObject", f"{bucket}/{own}")
        assert not allowed(role, "s3:GetObject", f"{bucket}/{others}")
        assert not allowed(role, "s3:PutObject", f"{bucket}/{own}")  # never writes back
        # a missing key answers 404 (skipped), not 403 (retried): S3 checks ListBucket with
        # s3:prefix = the key
        assert allowed(role, "s3:ListBucket", bucket, {"s3:prefix": own})
        assert not allowed(role, "s3:ListBucket", bucket, {"s3:prefix": others})
        assert not allowed(role, "s3:ListBucket", bucket)  # no listing of the whole bucket
        assert allowed(role, "dynamodb:PutItem", arns[f"{env}_table"])
        assert not allowed(role, "dynamodb:PutItem", arns[f"{other}_table"])
        assert not allowed(role, "dynamodb:DeleteItem", arns[f"{env}_table"])
        assert allowed(role, "rekognition:DetectLabels", "*")

    beta = [{"Statement": _role_policy(deployment, "eventlens-beta-handler")}]
    prod = [{"Statement": _role_policy(deployment, "eventlens-prod-handler")}]
    # each role calls only its own analyzers' APIs
    assert allowed(beta, "rekognition:DetectFaces", "*")
    assert allowed(beta, "rekognition:StartLabelDetection", "*")
    assert not allowed(beta, "rekognition:DetectText", "*")
    for action in ("DetectFaces", "StartLabelDetection", "DetectModerationLabels"):
        assert not allowed(prod, f"rekognition:{action}", "*")
    assert allowed(beta, "dynamodb:BatchWriteItem", arns["hashes"])
    assert allowed(beta, "dynamodb:Query", arns["hashes"] + "/index/by_sha256")
    assert not allowed(prod, "dynamodb:Query", arns["hashes"])
    # people: the transactions' writes on its own table and its indexes, nothing on prod's
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        assert allowed(beta, f"dynamodb:{action}", arns["people"]), action
        assert not allowed(prod, f"dynamodb:{action}", arns["people"]), action
    assert allowed(beta, "dynamodb:Query", arns["people"] + "/index/by_seq")
    assert allowed(beta, "dynamodb:Query", arns["people"] + "/index/by_person")
    assert not allowed(beta, "dynamodb:Scan", arns["people"])  # forget is the CLI's, not the role's
    # people with rekognition-faces: exactly the collection actions, on beta's collection only
    collection = deployment.client("rekognition").describe_collection(CollectionId="beta_people")
    faces = collection["CollectionARN"]
    assert faces.endswith(":collection/beta_people")
    for action in ("IndexFaces", "SearchFaces", "DeleteFaces"):
        assert allowed(beta, f"rekognition:{action}", faces), action
        assert not allowed(beta, f"rekognition:{action}", faces.replace("beta_", "prod_"))
        assert not allowed(prod, f"rekognition:{action}", faces), action
    for action in ("ListFaces", "DeleteCollection", "CreateCollection", "SearchFacesByImage"):
        assert not allowed(beta, f"rekognition:{action}", faces), action
    statements = _role_policy(deployment, "eventlens-beta-handler")
    (own,) = [s for s in statements if s["Sid"] == "OwnFaceCollection"]
    assert _as_list(own["Resource"]) == [faces]
    video_role = "arn:aws:iam::123456789012:role/eventlens-rekognition-video"
    to_rekognition = {"iam:PassedToService": "rekognition.amazonaws.com"}
    assert allowed(beta, "iam:PassRole", video_role, to_rekognition)
    assert not allowed(
        beta, "iam:PassRole", video_role, {"iam:PassedToService": "ec2.amazonaws.com"}
    )
    assert not allowed(prod, "iam:PassRole", video_role, to_rekognition)


def _token(subject: str, audience: str = "sts.amazonaws.com") -> dict[str, str]:
    """The claims GitHub's OIDC token carries, as condition keys."""
    return {
        "token.actions.githubusercontent.com:sub": subject,
        "token.actions.githubusercontent.com:aud": audience,
    }


@pytest.mark.slow
def test_github_roles_pull_requests_write_beta_only_and_main_prod_only(
    deployment: Deployment,
) -> None:
    iam = deployment.client("iam")
    arns = _arns(deployment)
    bucket = f"arn:aws:s3:::{BUCKET}"
    provider = (
        "Federated",
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    )
    repo = f"repo:{GITHUB_REPO}"
    subjects = {"beta": f"{repo}:pull_request", "prod": f"{repo}:ref:refs/heads/main"}
    strangers = [
        f"{repo}:ref:refs/heads/feature-x",   # a push to another branch
        f"{repo}:environment:prod",           # a job with a GitHub environment
        "repo:someone-else/eventlens:pull_request",
        f"{repo}:pull_request:extra",
    ]  # fmt: skip
    for env, other in (("beta", "prod"), ("prod", "beta")):
        role = iam.get_role(RoleName=f"eventlens-github-{env}")["Role"]
        trust = [_document(role["AssumeRolePolicyDocument"])]
        assume = "sts:AssumeRoleWithWebIdentity"
        assert allowed(trust, assume, context=_token(subjects[env]), principal=provider)
        assert not allowed(trust, assume, context=_token(subjects[other]), principal=provider)
        for subject in strangers:
            assert not allowed(trust, assume, context=_token(subject), principal=provider), subject
        assert not allowed(
            trust, assume, context=_token(subjects[env], "other"), principal=provider
        )

        statements = _role_policy(deployment, f"eventlens-github-{env}")
        assert sorted(a for s in statements for a in _as_list(s["Action"])) == sorted(
            ["s3:PutObject", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
             "dynamodb:DescribeTable"]
        )  # fmt: skip
        policy = [{"Statement": statements}]
        assert allowed(policy, "s3:PutObject", f"{bucket}/rekognition-input/{env}/pr-7/a.png")
        assert not allowed(policy, "s3:PutObject", f"{bucket}/rekognition-input/{other}/a.png")
        assert not allowed(
            policy, "s3:PutObject", f"{bucket}/lambda-artifacts/eventlens-lambda.zip"
        )
        assert not allowed(policy, "s3:GetObject", f"{bucket}/rekognition-input/{env}/a.png")
        assert allowed(policy, "dynamodb:GetItem", arns[f"{env}_table"])
        assert allowed(policy, "dynamodb:Query", arns[f"{env}_table"] + "/index/by_time")
        assert not allowed(policy, "dynamodb:GetItem", arns[f"{other}_table"])
        assert not allowed(policy, "dynamodb:PutItem", arns[f"{env}_table"])
    assert "eventlens-github-actions" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def _jpeg_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, format="JPEG")
    return buf.getvalue()


def _receive_all(sqs: Any, url: str, want: int, timeout: float = 20) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < want and time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        messages.extend(batch)
    return messages


def _s3_keys(messages: list[dict[str, Any]]) -> list[str]:
    keys = []
    for msg in messages:
        body = json.loads(msg["Body"])
        for record in body.get("Records", []):
            keys.append(urllib.parse.unquote_plus(record["s3"]["object"]["key"]))
    return keys


@pytest.mark.slow
def test_upload_reaches_only_the_beta_queue(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    sqs = deployment.client("sqs")
    queues = deployment.outputs["queue_urls"]
    key = "rekognition-input/beta/x.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=_jpeg_bytes(), ContentType="image/jpeg")

    messages = _receive_all(sqs, queues["beta"], want=2)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert any(b.get("Event") == "s3:TestEvent" for b in bodies), bodies
    assert _s3_keys(messages) == [key]
    record = next(b for b in bodies if "Records" in b)["Records"][0]
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == BUCKET
    for msg in messages:
        sqs.delete_message(QueueUrl=queues["beta"], ReceiptHandle=msg["ReceiptHandle"])

    # removals are subscribed too (the handler marks the record deleted). Not exercised by a
    # delete here: moto sends no notification for the delete marker of a versioned bucket.
    configs = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    assert {tuple(sorted(c["Events"])) for c in configs} == {
        ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
    }

    prod = _receive_all(sqs, queues["prod"], want=2, timeout=3)
    assert _s3_keys(prod) == [], "a beta upload must not reach the prod queue"
    for msg in prod:
        sqs.delete_message(QueueUrl=queues["prod"], ReceiptHandle=msg["ReceiptHandle"])


@dataclass
class _Context:
    function_name: str = "rekognition-beta-handler"
    aws_request_id: str = "test-request"
    memory_limit_in_mb: int = 256

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.mark.slow
def test_handler_processes_sqs_batch_into_dynamodb(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = deployment.client("s3")
    sqs = deployment.client("sqs")
    url = deployment.outputs["queue_urls"]["beta"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    key = "rekognition-input/beta/photos/red square é.jpg"  # space + non-ASCII: URL-encoded
    s3.put_object(Bucket=BUCKET, Key=key, Body=_jpeg_bytes(), ContentType="image/jpeg")
    messages = _receive_all(sqs, url, want=1)
    assert key in _s3_keys(messages)

    env = {
        "AWS_ENDPOINT_URL": deployment.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "EVENTLENS_ENVIRONMENT": "beta",
        "EVENTLENS_RESULTS_TABLE": "beta_results",
        "EVENTLENS_RESULTS_BACKEND": "dynamodb",
        "EVENTLENS_ANALYZERS": "labels",
        "EVENTLENS_PREFIX": "rekognition-input/beta/",
        "EVENTLENS_FAILURE_TOPIC_ARN": deployment.outputs["failure_topic_arn"],
        "EVENTLENS_MIN_CONFIDENCE": "0",
        "EVENTLENS_MAX_LABELS": "5",
        "EVENTLENS_TTL_DAYS": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }
    from eventlens.aws import handler as handler_module  # type: ignore[import-not-found,unused-ignore]

    response = handler_module.handler(event, _Context())
    assert response == {"batchItemFailures": []} or not response.get("batchItemFailures"), response

    items = deployment.client("dynamodb").scan(TableName="beta_results")["Items"]
    by_name = {item["filename"]["S"]: item for item in items}
    assert key in by_name, f"no record for {key!r}; table has {sorted(by_name)}"
    item = by_name[key]
    assert item["status"]["S"] == "ok", item
    assert item["environment"]["S"] == "beta"


def _with(deployment: Deployment, overrides: Sequence[str]) -> list[str]:
    """The deployment's ``-var=name=value`` arguments with ``overrides`` replacing their names."""
    names = {o.split("=")[1] for o in overrides}
    return [a for a in deployment.var_args if a.split("=")[1] not in names] + list(overrides)


def _plan_fails(deployment: Deployment, *overrides: str) -> str:
    """Plan with some variables changed; it must fail. Returns the error text, unwrapped."""
    proc = deployment.tf.run(
        "plan", "-no-color", "-refresh=false", "-lock=false", *_with(deployment, overrides),
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0, f"plan with {overrides} should fail"
    return " ".join(proc.stderr.split())


@pytest.mark.slow
def test_plan_refuses_settings_that_cannot_work(deployment: Deployment) -> None:
    # Terraform reports every failed validation of a plan at once: six in one plan
    errors = _plan_fails(
        deployment,
        "-var=analyzer=gpt",
        '-var=analyzers={staging=["gpt"]}',
        # the handler would wait for a 5th receive that SQS never makes (3 then the DLQ)
        "-var=handler_max_attempts=5",
        "-var=reserved_concurrency=5",  # below sqs_maximum_concurrency (10)
        '-var=github_oidc_subjects={beta="*"}',
    )
    for message in (
        "analyzer must be",
        "every key must be an environment",
        "analyzers: each list needs",
        "handler_max_attempts must be between 1 and sqs_max_receive_count",
        "reserved_concurrency must be at least sqs_maximum_concurrency",
        "exact subjects only",
    ):
        assert message in errors, message
    for bundled in ("-var=analyzer=bundled", '-var=analyzers={prod=["faces"]}'):
        # both refusals at once (each plan costs ~10 s of provider start-up)
        error = _plan_fails(
            deployment, bundled, "-var=lambda_runtime=python3.11", "-var=lambda_architecture=arm64",
            # more sandboxes kept initialised than may run (beside a valid reserved_concurrency:
            # Terraform checks nothing against a variable that failed its own validation)
            "-var=reserved_concurrency=10", "-var=provisioned_concurrency=11",
        )  # fmt: skip
        assert "needs lambda_runtime python3.12 or later" in error, bundled
        assert "is not supported with bundled analyzers" in error, bundled
        assert "provisioned_concurrency must not exceed reserved_concurrency" in error, bundled
    error = _plan_fails(deployment, "-var=package_type=Image")  # no image named
    assert "needs lambda_image_uri, or lambda_image_tag" in error


@pytest.mark.slow
def test_handler_memory_is_one_vcpu_where_a_bundled_model_runs(deployment: Deployment) -> None:
    """lambda_memory_mb unset: 1769 MB (one vCPU) for an environment with a bundled analyzer,
    256 MB for a Rekognition one; set, it is every handler's. The last plan also keeps sandboxes
    initialised (``provisioned_concurrency``, checked below: one plan fewer)."""
    for overrides, expected in (
        (['-var=analyzers={prod=["labels", "duplicates"]}'], {"beta": 256, "prod": 1769}),
        (["-var=analyzer=bundled"], {"beta": 1769, "prod": 1769}),
        (
            [
                "-var=analyzer=bundled",
                "-var=lambda_memory_mb=3538",
                "-var=provisioned_concurrency=2",
            ],
            {"beta": 3538, "prod": 3538},
        ),
    ):
        plan = _plan(deployment, "memory", overrides)
        found = {
            env: _after(plan, f'aws_lambda_function.handler["{env}"]')["memory_size"]
            for env in ("beta", "prod")
        }
        assert found == expected, overrides
    _assert_the_queue_invokes_the_live_alias(plan)


def _assert_the_queue_invokes_the_live_alias(plan: dict[str, Any]) -> None:
    """provisioned_concurrency > 0: each deploy publishes a version behind the alias ``live``,
    Lambda keeps that many of its sandboxes initialised, and the queue invokes the alias."""
    changes = {rc["address"]: rc["change"] for rc in plan["resource_changes"]}
    for env in ("beta", "prod"):
        assert _after(plan, f'aws_lambda_function.handler["{env}"]')["publish"] is True
        alias = _after(plan, f'aws_lambda_alias.live["{env}"]')
        assert alias["name"] == "live" and alias["function_name"] == f"rekognition-{env}-handler"
        config = _after(plan, f'aws_lambda_provisioned_concurrency_config.handler["{env}"]')
        assert config["qualifier"] == "live" and config["provisioned_concurrent_executions"] == 2
        mapping = changes[f'aws_lambda_event_source_mapping.sqs["{env}"]']
        # the alias's ARN, known only once it exists (the function's is known now)
        assert mapping["before"]["function_name"].endswith(f":rekognition-{env}-handler")
        assert mapping["after_unknown"].get("function_name") is True


@pytest.mark.slow
def test_image_package_plan_uses_ecr_and_derives_the_attempts(deployment: Deployment) -> None:
    """package_type = "Image": an ECR repository, functions from the image (the video-job one
    with its own command), no zip upload; and EVENTLENS_MAX_ATTEMPTS follows the receives."""
    overrides = ["-var=package_type=Image", "-var=lambda_image_tag=git-abc123",
                 "-var=sqs_max_receive_count=5"]  # fmt: skip
    plan = _plan(deployment, "image", overrides)
    actions = {rc["address"]: rc["change"]["actions"] for rc in plan["resource_changes"]}
    assert actions["aws_ecr_repository.lambda[0]"] == ["create"]
    assert actions["aws_ecr_repository_policy.lambda[0]"] == ["create"]
    assert actions["aws_s3_object.lambda_package[0]"] == ["delete"]
    repository = _after(plan, "aws_ecr_repository.lambda[0]")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    for env in ("beta", "prod"):
        function = _after(plan, f'aws_lambda_function.handler["{env}"]')
        assert function["package_type"] == "Image"
        assert function["handler"] is None and function["runtime"] is None
        assert function["s3_bucket"] is None
        assert function["environment"][0]["variables"]["EVENTLENS_MAX_ATTEMPTS"] == "5"
        queue = _after(plan, f'aws_sqs_queue.events["{env}"]')
        assert json.loads(queue["redrive_policy"])["maxReceiveCount"] == 5
    video = _after(plan, 'aws_lambda_function.video_jobs["beta"]')
    assert video["image_config"] == [
        {"command": ["eventlens.aws.video_jobs.handler"], "entry_point": None,
         "working_directory": None}
    ]  # fmt: skip
    pull = json.loads(_after(plan, "aws_ecr_repository_policy.lambda[0]")["policy"])
    (statement,) = pull["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(_as_list(statement["Condition"]["StringLike"]["aws:SourceArn"])) == sorted(
        f"arn:aws:lambda:{REGION}:123456789012:function:rekognition-{env}-{kind}"
        for env in ("beta", "prod")
        for kind in ("handler", "video-jobs")
    )


@pytest.mark.slow
def test_direct_trigger_mode_plan(deployment: Deployment) -> None:
    """Switching trigger_mode to "direct" wires S3 straight to the Lambdas and drops SQS."""
    args = [a for a in deployment.var_args if not a.startswith("-var=trigger_mode=")]
    deployment.tf.run(
        "plan",
        "-no-color",
        "-refresh=false",
        "-lock=false",
        "-out=direct.tfplan",
        *args,
        "-var=trigger_mode=direct",
    )
    plan = json.loads(deployment.tf.run("show", "-json", "direct.tfplan").stdout)
    actions = {rc["address"]: rc["change"]["actions"] for rc in plan["resource_changes"]}
    for env in ("beta", "prod"):
        assert actions[f'aws_lambda_permission.s3["{env}"]'] == ["create"]
        assert actions[f'aws_sqs_queue.events["{env}"]'] == ["delete"]
        assert actions[f'aws_sqs_queue.dlq["{env}"]'] == ["delete"]
        assert actions[f'aws_lambda_event_source_mapping.sqs["{env}"]'] == ["delete"]
        assert actions[f'aws_cloudwatch_metric_alarm.dlq_depth["{env}"]'] == ["delete"]
        # The functions stay. moto does not store dead_letter_config, so terraform plans to
        # set it again; nothing else may change.
        fn = f'aws_lambda_function.handler["{env}"]'
        assert actions[fn] in (["no-op"], ["update"])
        assert set(_changed_attrs(plan, fn)) <= {"dead_letter_config"}, _changed_attrs(plan, fn)
        # each function subscribes to the failure topic, for Lambda's dead letters only
        assert actions[f'aws_lambda_permission.dead_letters["{env}"]'] == ["create"]
        permission = _after(plan, f'aws_lambda_permission.dead_letters["{env}"]')
        assert permission["principal"] == "sns.amazonaws.com"
        assert permission["source_arn"] == deployment.outputs["failure_topic_arn"]
        subscription = _after(plan, f'aws_sns_topic_subscription.dead_letters["{env}"]')
        assert subscription["protocol"] == "lambda"
        assert subscription["topic_arn"] == deployment.outputs["failure_topic_arn"]
        assert subscription["endpoint"].endswith(f":function:rekognition-{env}-handler")
        assert subscription["filter_policy_scope"] == "MessageAttributes"
        assert json.loads(subscription["filter_policy"]) == {"ErrorCode": [{"exists": True}]}
    notification = next(
        rc
        for rc in plan["resource_changes"]
        if rc["address"] == "aws_s3_bucket_notification.images[0]"
    )
    print(
        "lambda changes in direct mode:",
        _changed_attrs(plan, 'aws_lambda_function.handler["beta"]'),
    )
    after = notification["change"]["after"]
    assert after["queue"] == []
    for subscription in after["lambda_function"]:
        assert sorted(subscription["events"]) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert sorted(f["filter_prefix"] for f in after["lambda_function"]) == [
        "rekognition-input/beta/",
        "rekognition-input/prod/",
    ]
    for role in ("beta", "prod"):
        # the SQS statement disappears from the execution roles (its queue is gone)
        assert actions[f'aws_iam_role_policy.handler["{role}"]'] == ["update"]
    # without DLQs the dashboard shows Lambda's own dead-letter metrics instead
    body = _after(plan, "aws_cloudwatch_dashboard.main")["dashboard_body"]
    assert "DeadLetterErrors" in body and "events-dlq" not in body


@pytest.mark.slow
def test_create_lambdas_false_keeps_storage_and_ci(deployment: Deployment) -> None:
    """create_lambdas = false (apply before a package exists) removes only Lambda parts."""
    deployment.tf.run(
        "plan",
        "-no-color",
        "-refresh=false",
        "-lock=false",
        "-out=nolambda.tfplan",
        *deployment.var_args,
        "-var=create_lambdas=false",
    )
    plan = json.loads(deployment.tf.run("show", "-json", "nolambda.tfplan").stdout)
    deleted = {
        rc["address"].split("[")[0]
        for rc in plan["resource_changes"]
        if rc["change"]["actions"] == ["delete"]
    }
    assert deleted == {
        "aws_lambda_function.handler",
        "aws_lambda_event_source_mapping.sqs",
        "aws_iam_role.handler",
        "aws_iam_role_policy.handler",
        "aws_cloudwatch_metric_alarm.lambda_errors",
        "aws_s3_object.lambda_package",
        # Rekognition Video's completion path: topic, roles, function, subscription, alarm
        "aws_sns_topic.video_jobs",
        "aws_iam_role.rekognition_video",
        "aws_iam_role_policy.rekognition_video",
        "aws_lambda_function.video_jobs",
        "aws_iam_role.video_jobs",
        "aws_iam_role_policy.video_jobs",
        "aws_lambda_permission.video_jobs",
        "aws_sns_topic_subscription.video_jobs",
    }  # tables (results and hashes), log groups, queues and the CI roles stay
    replaced = [
        rc["address"] for rc in plan["resource_changes"] if "create" in rc["change"]["actions"]
    ]
    assert replaced == []


@pytest.mark.slow
def test_zz_destroy_removes_bucket(deployment: Deployment) -> None:
    s3 = deployment.client("s3")
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    deployment.destroy()
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    tables = deployment.client("dynamodb").list_tables()["TableNames"]
    assert "beta_results" not in tables and "prod_results" not in tables
    assert deployment.client("sqs").list_queues().get("QueueUrls", []) == []
    print(
        "terraform timings (s): "
        + ", ".join(f"{k}={v:.1f}" for k, v in deployment.tf.timings.items())
    )


def test_deploy_guide_names_real_variables_and_outputs() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    declared = set(re.findall(r'^variable "([a-z0-9_]+)"', _module_text(), re.MULTILINE))
    outputs = set(re.findall(r'^output "([a-z0-9_]+)"', _module_text(), re.MULTILINE))
    table = guide[guide.index("| Variable | Default |") : guide.index("State is local")]
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:] if row.startswith("| `")]
    mentioned = {name for cell in first_cells for name in re.findall(r"`([a-z0-9_]+)`", cell)}
    assert mentioned and mentioned <= declared, mentioned - declared
    for name in re.findall(r"terraform output -raw ([a-z_]+)", guide):
        assert name in outputs, name


def _after(plan: dict[str, Any], address: str) -> dict[str, Any]:
    rc = next(r for r in plan["resource_changes"] if r["address"] == address)
    after: dict[str, Any] = rc["change"]["after"]
    return after


def _changed_attrs(plan: dict[str, Any], address: str) -> dict[str, Any]:
    rc = next(r for r in plan["resource_changes"] if r["address"] == address)
    before, after = rc["change"]["before"] or {}, rc["change"]["after"] or {}
    return {
        k: (before.get(k), after.get(k))
        for k in set(before) | set(after)
        if before.get(k) != after.get(k)
    }


def _module_text() -> str:
    return "\n".join(p.read_text() for p in sorted(MODULE_DIR.glob("*.tf")))
