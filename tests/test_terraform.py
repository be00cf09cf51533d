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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "infra" / "terraform"
PROVIDER_MIRROR = Path("/opt/tf-plugins")
REGION = "eu-west-1"
BUCKET = "eventlens-tf-test"
GITHUB_REPO = "example-org/eventlens"

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
        self.timings[args[0]] = time.monotonic() - started
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

    def destroy(self) -> subprocess.CompletedProcess[str]:
        proc = self.tf.run("destroy", "-auto-approve", "-no-color", *self.var_args)
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
    ]
    deployment = Deployment(tf, endpoint, {}, var_args)
    try:
        tf.run("init", "-backend=false", "-no-color")
        tf.run("apply", "-auto-approve", "-no-color", *var_args)
        outputs = json.loads(tf.run("output", "-json").stdout)
        deployment.outputs = {k: v["value"] for k, v in outputs.items()}
        # moto applies a bucket policy's Deny statements without evaluating their conditions,
        # so the TLS-only Deny (aws:SecureTransport = false) would reject every request to the
        # plain-HTTP emulator. Keep the applied policy for the assertions, then lift it.
        s3 = deployment.client("s3")
        deployment.bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        s3.delete_bucket_policy(Bucket=BUCKET)
        yield deployment
    finally:
        try:
            if not deployment.destroyed and (mod / "terraform.tfstate").exists():
                tf.run("destroy", "-auto-approve", "-no-color", *var_args, check=False)
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
    assert out["github_actions_role_arn"].endswith(":role/eventlens-github-actions")


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
        policy = json.loads(attrs["Policy"])
        stmt = policy["Statement"][0]
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
    }

    alarms = {
        a["AlarmName"]: a for a in deployment.client("cloudwatch").describe_alarms()["MetricAlarms"]
    }
    assert set(alarms) == {
        "rekognition-beta-handler-errors",
        "rekognition-prod-handler-errors",
        "eventlens-beta-dlq-depth",
        "eventlens-prod-dlq-depth",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic_arn]
    assert alarms["eventlens-beta-dlq-depth"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "eventlens-beta-events-dlq"}
    ]


@pytest.mark.slow
def test_lambdas_and_event_source_mappings(deployment: Deployment) -> None:
    lam = deployment.client("lambda")
    for env in ("beta", "prod"):
        cfg = lam.get_function_configuration(FunctionName=f"rekognition-{env}-handler")
        assert cfg["Handler"] == "eventlens.aws.handler.handler"
        assert cfg["Runtime"] in ("python3.11", "python3.12")
        assert cfg["MemorySize"] == 256
        assert cfg["Timeout"] == 60
        variables = cfg["Environment"]["Variables"]
        assert variables["EVENTLENS_ENVIRONMENT"] == env
        assert variables["EVENTLENS_RESULTS_TABLE"] == f"{env}_results"
        assert variables["EVENTLENS_RESULTS_BACKEND"] == "dynamodb"
        assert variables["EVENTLENS_PREFIX"] == f"rekognition-input/{env}/"
        assert variables["EVENTLENS_ANALYZER"] == "rekognition"
        assert variables["EVENTLENS_FAILURE_TOPIC_ARN"] == deployment.outputs["failure_topic_arn"]
        assert {"EVENTLENS_MIN_CONFIDENCE", "EVENTLENS_MAX_LABELS", "EVENTLENS_TTL_DAYS"} <= set(
            variables
        )

        # moto ignores the FunctionName filter, so filter on the function ARN here.
        mappings = [
            m
            for m in lam.list_event_source_mappings()["EventSourceMappings"]
            if m["FunctionArn"] == cfg["FunctionArn"]
        ]
        assert len(mappings) == 1
        assert mappings[0]["EventSourceArn"].endswith(f":eventlens-{env}-events")
        assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _role_policy(deployment: Deployment, role: str) -> list[dict[str, Any]]:
    iam = deployment.client("iam")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 1
    doc = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc))
    statements: list[dict[str, Any]] = doc["Statement"]
    return statements


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.mark.slow
def test_lambda_roles_are_least_privilege(deployment: Deployment) -> None:
    for env, other in (("beta", "prod"), ("prod", "beta")):
        statements = _role_policy(deployment, f"eventlens-{env}-handler")
        by_sid = {s["Sid"]: s for s in statements}
        assert _as_list(by_sid["ReadOwnPrefix"]["Resource"]) == [
            f"arn:aws:s3:::{BUCKET}/rekognition-input/{env}/*"
        ]
        assert _as_list(by_sid["WriteOwnTable"]["Resource"])[0].endswith(f":table/{env}_results")
        assert _as_list(by_sid["ConsumeOwnQueue"]["Resource"])[0].endswith(
            f":eventlens-{env}-events"
        )
        assert _as_list(by_sid["DetectLabels"]["Action"]) == ["rekognition:DetectLabels"]
        flat = json.dumps(statements)
        assert f"{other}_results" not in flat and f"rekognition-input/{other}/" not in flat
        for stmt in statements:
            for action in _as_list(stmt["Action"]):
                assert "*" not in action, f"wildcard action {action} in {env} role"
            if stmt["Sid"] not in ("DetectLabels", "XRayTraces"):
                assert stmt["Resource"] != "*", f"{stmt['Sid']} must name its resources"


@pytest.mark.slow
def test_github_oidc_role(deployment: Deployment) -> None:
    iam = deployment.client("iam")
    role = iam.get_role(RoleName="eventlens-github-actions")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(urllib.parse.unquote(trust))
    stmt = trust["Statement"][0]
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert stmt["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    assert stmt["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"] == (
        f"repo:{GITHUB_REPO}:*"
    )
    assert stmt["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == (
        "sts.amazonaws.com"
    )

    statements = _role_policy(deployment, "eventlens-github-actions")
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert actions == sorted(
        [
            "s3:PutObject",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:DescribeTable",
        ]
    )
    read = next(s for s in statements if s["Sid"] == "ReadResults")
    ddb = deployment.client("dynamodb")
    tables = [ddb.describe_table(TableName=f"{env}_results")["Table"]["TableArn"]
              for env in ("beta", "prod")]  # fmt: skip
    assert sorted(_as_list(read["Resource"])) == sorted(tables + [f"{t}/index/*" for t in tables])
    upload = next(s for s in statements if s["Sid"] == "UploadInputImages")
    assert sorted(_as_list(upload["Resource"])) == [
        f"arn:aws:s3:::{BUCKET}/rekognition-input/beta/*",
        f"arn:aws:s3:::{BUCKET}/rekognition-input/prod/*",
    ]


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
        "EVENTLENS_ANALYZER": "bundled",
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


@pytest.mark.slow
def test_variable_validation_rejects_bad_analyzer(deployment: Deployment) -> None:
    args = [a for a in deployment.var_args if not a.startswith("-var=analyzer=")]
    proc = deployment.tf.run(
        "plan",
        "-no-color",
        "-refresh=false",
        "-lock=false",
        *args,
        "-var=analyzer=gpt",
        check=False,
    )
    assert proc.returncode != 0
    assert "analyzer must be" in proc.stderr
    args = [a for a in args if not a.startswith("-var=lambda_runtime=")]
    proc = deployment.tf.run(
        "plan", "-no-color", "-refresh=false", "-lock=false", *args,
        "-var=analyzer=bundled", "-var=lambda_runtime=python3.11", check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "needs lambda_runtime python3.12 or later" in " ".join(proc.stderr.split())


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
    assert sorted(f["filter_prefix"] for f in after["lambda_function"]) == [
        "rekognition-input/beta/",
        "rekognition-input/prod/",
    ]
    for role in ("beta", "prod"):
        # the SQS statement disappears from the execution roles (its queue is gone)
        assert actions[f'aws_iam_role_policy.handler["{role}"]'] == ["update"]


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
    }
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
