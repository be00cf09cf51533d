"""``eventlens aws package``: reproducible zips that really run (pip reaches PyPI or its cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from eventlens.aws.package import (
    FIXED_TIME,
    UNZIPPED_LIMIT,
    analyzers_of,
    build_package,
    people_in_collection,
    requirements_for,
    target_interpreter,
    write_zip,
)
from eventlens.cli.main import app
from tests.images import jpeg
from tests.lambda_task import run_task, shipped_bytecode

if TYPE_CHECKING:
    from tests.aws_fixtures import Stack

pytest_plugins = ["tests.aws_fixtures"]


def test_zip_writer_is_deterministic_and_normalises_metadata(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "b.py").write_text("b = 1\n")
    (source / "pkg" / "a.py").write_text("a = 1\n")
    (source / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    (source / "tool.sh").write_text("#!/bin/sh\n")
    (source / "tool.sh").chmod(0o700)
    write_zip(source, tmp_path / "one.zip")
    os.utime(source / "pkg" / "a.py", (1, 1))  # a different mtime must not matter
    (source / "pkg" / "b.py").chmod(0o600)  # nor does a different permission
    write_zip(source, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["pkg/a.py", "pkg/b.py", "tool.sh"]
    assert {i.date_time for i in infos} == {FIXED_TIME}
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes == {"pkg/a.py": 0o644, "pkg/b.py": 0o644, "tool.sh": 0o755}


def test_zip_writer_keeps_only_the_target_versions_bytecode_beside_its_source(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    cache = source / "pkg" / "__pycache__"
    cache.mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("a = 1\n")
    for name in (
        "a.cpython-312.pyc",  # kept
        "a.cpython-311.pyc",  # another version
        "a.cpython-312.opt-1.pyc",  # optimised: never imported without -O
        "gone.cpython-312.pyc",  # its source is not shipped
    ):
        (cache / name).write_bytes(b"pyc")
    (source / "pkg" / "stray.pyc").write_bytes(b"pyc")  # outside __pycache__
    write_zip(source, tmp_path / "with.zip", "cpython-312")
    write_zip(source, tmp_path / "without.zip")
    with zipfile.ZipFile(tmp_path / "with.zip") as archive:
        assert archive.namelist() == ["pkg/__pycache__/a.cpython-312.pyc", "pkg/a.py"]
    with zipfile.ZipFile(tmp_path / "without.zip") as archive:
        assert archive.namelist() == ["pkg/a.py"]


def test_bytecode_is_compiled_by_the_runtimes_python_or_left_out_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """This interpreter is a python3.11: the eventlens modules of a python3.11 zip come with
    sound cpython-311 bytecode. With no interpreter of the runtime's version found, the zip has
    none, and one warning says so."""
    report = build_package(
        tmp_path / "with.zip", "rekognition", runtime="python3.11", with_dependencies=False
    )
    assert report.bytecode == sys.implementation.cache_tag == "cpython-311"
    with zipfile.ZipFile(report.path) as archive:
        archive.extractall(tmp_path / "task")
    shipped = shipped_bytecode(tmp_path / "task", Path(sys.executable))
    assert shipped.problems == [] and shipped.uncompiled == [] and shipped.pyc > 100

    import eventlens.aws.package as package

    monkeypatch.setattr(package, "target_interpreter", lambda runtime: None)
    with caplog.at_level("WARNING", logger="eventlens.aws.package"):
        report = build_package(
            tmp_path / "without.zip", "rekognition", runtime="python3.11", with_dependencies=False
        )
    assert report.bytecode is None and "no bytecode" in report.summary()
    with zipfile.ZipFile(report.path) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".pyc")]
    (warning,) = [r for r in caplog.records if r.name == "eventlens.aws.package"]
    assert "no python3.11 interpreter found" in warning.getMessage()


def test_a_package_carries_what_its_analyzers_need_once() -> None:
    spec = "beta=rekognition,rekognition-faces,duplicates;prod=bundled"
    assert analyzers_of(spec) == ("rekognition", "rekognition-faces", "duplicates", "labels")
    needs = requirements_for(analyzers_of(spec))
    assert needs[:3] == ("pillow", "aws-lambda-powertools", "typing-extensions")
    assert needs.count("numpy") == 1 and "onnxruntime" in needs and "boto3" not in needs
    assert requirements_for(analyzers_of("rekognition")) == needs[:3]
    # people with rekognition-faces: a Rekognition face collection, no face model to carry
    spec = "beta=rekognition,rekognition-faces,people;prod=rekognition"
    assert people_in_collection(spec)
    lean = requirements_for(analyzers_of(spec), people_in_collection=True)
    assert "numpy" in lean
    assert not {"dlib-bin", "face-recognition-models", "onnxruntime"} & set(lean)
    assert not people_in_collection("beta=rekognition-faces,people;prod=labels,people")
    assert "dlib-bin" in requirements_for(analyzers_of("beta=rekognition-faces,people;prod=people"))
    assert analyzers_of("bundled") == ("labels",)  # the old variant names
    with pytest.raises(ValueError, match="AGPL"):
        requirements_for(["moderation"])  # never bundled; rekognition-moderation instead
    with pytest.raises(ValueError, match="unknown analyzer 'gpt'"):
        requirements_for(["gpt"])


@pytest.mark.slow
def test_rekognition_package_is_reproducible_small_and_without_boto3(tmp_path: Path) -> None:
    runner = CliRunner()
    shas = []
    for name in ("a.zip", "b.zip"):
        result = runner.invoke(
            app, ["aws", "package", "--out", str(tmp_path / name), "--analyzer", "rekognition",
                  "--json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        shas.append(json.loads(result.stdout[result.stdout.index("{") :])["sha256"])
    assert shas[0] == shas[1]
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        unzipped = sum(i.file_size for i in archive.infolist())
        bytecode = sum(i.file_size for i in archive.infolist() if i.filename.endswith(".pyc"))
    assert "eventlens/aws/handler.py" in names and "PIL/__init__.py" in names
    assert not [n for n in names if n.startswith(("boto3/", "botocore/", "numpy/", "onnxruntime/"))]
    assert not [n for n in names if n.startswith("eventlens/samples/")]
    # small: the sources and libraries within a tenth of the limit (as before the package
    # shipped bytecode), the bytecode (5 MB) within a quarter of that
    assert unzipped - bytecode < UNZIPPED_LIMIT / 10
    assert bytecode < (unzipped - bytecode) / 4
    # bytecode: the target Python's only, none stale, for every module (the deterministic zip
    # above shows it compiles reproducibly); without a python3.12 here, none at all
    python = target_interpreter("python3.12")
    if python is None:
        assert not [n for n in names if n.endswith(".pyc")]
        return
    assert "eventlens/aws/__pycache__/handler.cpython-312.pyc" in names
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        archive.extractall(tmp_path / "task")
    shipped = shipped_bytecode(tmp_path / "task", python.path)
    assert shipped.tag == "cpython-312" and shipped.pyc > 100
    assert shipped.problems == [] and shipped.uncompiled == []


def run_from_zip(
    task: Path, stack: Stack, extra_env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The extracted zip in a fresh interpreter of this machine's Python, boto3 from this
    environment's site-packages (as the Lambda runtime provides it)."""
    import boto3

    runtime_site = Path(boto3.__file__).resolve().parent.parent
    run = run_task(task, runtime_site, stack, extra_env, cwd, [sys.executable, "-S", "-I"])
    if run.returncode == 0:
        assert run.result == {"batchItemFailures": []}
    return subprocess.CompletedProcess([], run.returncode, run.stdout, run.stderr)


@pytest.mark.slow
def test_the_packaged_handler_runs_from_the_extracted_zip(stack: Stack, tmp_path: Path) -> None:
    report = build_package(tmp_path / "lambda.zip", "rekognition", runtime="python3.11")
    task = tmp_path / "task"
    with zipfile.ZipFile(report.path) as archive:
        archive.extractall(task)
    key = "rekognition-input/beta/from zip.jpg"
    stack.put_image(key, jpeg())
    done = run_from_zip(task, stack, {"EVENTLENS_ANALYZER": "rekognition"}, tmp_path)
    assert done.returncode == 0, done.stderr
    item = stack.dynamodb.get_item(TableName=stack.tables["beta"], Key={"filename": {"S": key}})
    assert item["Item"]["status"] == {"S": "ok"}
    assert item["Item"]["analysis_method"] == {"S": "rekognition"}


@pytest.mark.slow
def test_bundled_package_carries_the_converted_model_and_runs_without_converting(
    stack: Stack, tmp_path: Path
) -> None:
    """The bundled variant, built for this machine's Python (cp311, manylinux_2_28), runs from
    the extracted zip with the ONNX model converted at build time: nothing is written to /tmp."""
    from tests.labels_support import photo

    report = build_package(
        tmp_path / "bundled.zip", "bundled", runtime="python3.11", pin=True,
        platforms=["manylinux_2_28_{arch}", "manylinux2014_{arch}"],
    )  # fmt: skip
    assert report.model_included and report.within_limits
    task = tmp_path / "task"
    with zipfile.ZipFile(report.path) as archive:
        names = archive.namelist()
        archive.extractall(task)
    models = [
        n for n in names if n.startswith("eventlens/data/model-cache/") and n.endswith(".onnx")
    ]
    assert models
    from eventlens.analyzers.objects import blazeface, people

    if people.is_available() and blazeface.is_available():  # the default's detectors too
        assert {Path(n).name for n in models} >= {
            people.model_path().name,
            people.float_model_path().name,
            blazeface.model_path().name,
        }
    assert "eventlens/data/imagenet_taxonomy.json" in names and "onnxruntime/__init__.py" in names
    # the label model's 18 MB weights stay out, their key kept: the converted model runs
    assert not [n for n in names if n.endswith(".pth")]
    assert "eventlens/data/model-cache/efficientnet-lite0.weights-key.json" in names
    from eventlens.analyzers.labels import taxonomy

    # the label taxonomy built, for these sources: a cold start reads it
    assert f"eventlens/data/model-cache/{taxonomy.kept_file(Path()).name}" in names
    assert report.unzipped_bytes < UNZIPPED_LIMIT  # bytecode included
    assert report.bytecode == sys.implementation.cache_tag  # this Python is the target's
    shipped = shipped_bytecode(task, Path(sys.executable))
    assert shipped.problems == [] and shipped.uncompiled == [] and shipped.pyc > 1000
    key = "rekognition-input/beta/chelsea.jpg"
    stack.put_image(key, photo("chelsea"))
    scratch = tmp_path / "lambda-tmp"
    scratch.mkdir()
    done = run_from_zip(
        task, stack, {"EVENTLENS_ANALYZER": "bundled", "TMPDIR": str(scratch)}, tmp_path
    )
    assert done.returncode == 0, done.stderr
    item = stack.dynamodb.get_item(TableName=stack.tables["beta"], Key={"filename": {"S": key}})
    assert item["Item"]["analysis_method"] == {"S": "bundled-efficientnet-lite0"}
    assert "Cat" in [label["M"]["Name"]["S"] for label in item["Item"]["labels"]["L"]]
    assert "CACHE " + str(task / "eventlens" / "data" / "model-cache") in done.stdout


@pytest.mark.slow
def test_the_people_package_builds_its_sdist_only_models_and_leaves_the_68_point_model_out(
    tmp_path: Path,
) -> None:
    """face-recognition-models is published as an sdist only (``--only-binary`` cannot take
    it): it is built into a wheel here. Its 68-point landmark model (not free for commercial
    use, never loaded) stays out of the zip; the 5-point aligner and the descriptor go in."""
    report = build_package(tmp_path / "people.zip", "people", bytecode=False)
    names = set(zipfile.ZipFile(report.path).namelist())
    models = "face_recognition_models/models/"
    assert f"{models}dlib_face_recognition_resnet_model_v1.dat" in names
    assert f"{models}shape_predictor_5_face_landmarks.dat" in names
    assert not [n for n in names if "68_face_landmarks" in n]
    assert any(n.startswith("_dlib_pybind11") for n in names)
    assert report.within_limits and report.unzipped_bytes < UNZIPPED_LIMIT
