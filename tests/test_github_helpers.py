"""eventlens.github: changed-image detection (real git repos) and the markdown report."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventlens.cli import github as github_cli
from eventlens.github.changed_images import (
    GitError,
    changed_images,
    is_image_path,
    is_null_sha,
    split_nul,
)
from eventlens.github.records import RecordReader
from eventlens.github.report import REPORT_MARKER, escape_cell, render_report, top_labels

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return proc.stdout.strip()


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git not on PATH")
    r = tmp_path / "repo"
    r.mkdir()
    _git(r, "init", "-q", "-b", "main")
    (r / "images").mkdir()
    (r / "images" / "keep.jpg").write_bytes(b"old")
    (r / "images" / "to-delete.png").write_bytes(b"x")
    (r / "images" / "to-rename.jpeg").write_bytes(b"rename me")
    (r / "README.md").write_text("hi")
    return r


def test_changed_images_filters_and_handles_odd_names(repo: Path) -> None:
    base = _commit(repo, "base")
    (repo / "images" / "keep.jpg").write_bytes(b"modified")
    (repo / "images" / "to-delete.png").unlink()
    _git(repo, "mv", "images/to-rename.jpeg", "images/renamed.jpeg")
    (repo / "images" / "with space é.PNG").write_bytes(b"new")
    (repo / "images" / "pipe|star*.webp").write_bytes(b"new")
    (repo / "images" / "line\nbreak.jpg").write_bytes(b"new")
    (repo / "docs.txt").write_text("not an image")
    (repo / "images" / "noext").write_bytes(b"x")
    head = _commit(repo, "change")

    got = changed_images(base, head, repo=repo)
    assert got == sorted(
        [
            "images/keep.jpg",
            "images/renamed.jpeg",
            "images/with space é.PNG",
            "images/pipe|star*.webp",
            "images/line\nbreak.jpg",
        ]
    )


def test_changed_images_extension_override(repo: Path) -> None:
    base = _commit(repo, "base")
    (repo / "a.jpg").write_bytes(b"1")
    (repo / "b.png").write_bytes(b"2")
    head = _commit(repo, "two")
    assert changed_images(base, head, repo=repo, extensions=["png"]) == ["b.png"]
    assert changed_images(base, head, repo=repo, extensions=[".JPG"]) == ["a.jpg"]


def test_null_base_lists_head_commit_files(repo: Path) -> None:
    first = _commit(repo, "first")
    assert changed_images("0" * 40, first, repo=repo) == [
        "images/keep.jpg",
        "images/to-delete.png",
        "images/to-rename.jpeg",
    ]
    (repo / "second.webp").write_bytes(b"2")
    second = _commit(repo, "second")
    assert changed_images(None, second, repo=repo) == ["second.webp"]


def test_no_images_changed_is_empty(repo: Path) -> None:
    base = _commit(repo, "base")
    (repo / "README.md").write_text("changed")
    head = _commit(repo, "docs only")
    assert changed_images(base, head, repo=repo) == []


def test_unknown_revision_raises_git_error(repo: Path) -> None:
    head = _commit(repo, "base")
    with pytest.raises(GitError, match="failed"):
        changed_images("deadbeef" * 5, head, repo=repo)


def test_helpers() -> None:
    assert is_image_path("a/b/c.JPEG")
    assert is_image_path(".hidden.png")
    assert not is_image_path("a.jpg.txt")
    assert not is_image_path("jpg")
    assert split_nul(b"a b\0\xc3\xa9.jpg\0") == ["a b", "é.jpg"]
    assert is_null_sha("0000000000000000000000000000000000000000")
    assert is_null_sha("") and is_null_sha(None)
    assert not is_null_sha("a1b2c3")


def test_cli_changed_images_outputs(repo: Path, tmp_path: Path) -> None:
    base = _commit(repo, "base")
    (repo / "new one.jpg").write_bytes(b"1")
    (repo / "z.png").write_bytes(b"2")
    head = _commit(repo, "two")
    gh_out = tmp_path / "gh_output"

    res = runner.invoke(
        github_cli.app,
        [
            "changed-images",
            "--base",
            base,
            "--head",
            head,
            "--repo",
            str(repo),
            "--null",
            "--github-output",
            str(gh_out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.stdout == "new one.jpg\0z.png\0"
    assert gh_out.read_text() == "count=2\nany=true\n"

    res = runner.invoke(
        github_cli.app,
        ["changed-images", "--base", base, "--head", head, "--repo", str(repo), "--json"],
    )
    assert json.loads(res.stdout) == ["new one.jpg", "z.png"]

    res = runner.invoke(
        github_cli.app,
        ["changed-images", "--base", head, "--head", head, "--repo", str(repo)],
    )
    assert res.exit_code == 0 and res.stdout == ""


def test_cli_changed_images_bad_sha_exits_2(repo: Path) -> None:
    head = _commit(repo, "base")
    res = runner.invoke(
        github_cli.app,
        ["changed-images", "--base", "1" * 40, "--head", head, "--repo", str(repo)],
    )
    assert res.exit_code == 2
    assert "fetch-depth: 0" in res.stderr


# --- report -------------------------------------------------------------------------------


def _record(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "filename": "rekognition-input/beta/a.jpg",
        "status": "ok",
        "environment": "beta",
        "labels": [
            {"Name": "Cat", "Confidence": Decimal("97.123")},
            {"Name": "Animal", "Confidence": Decimal("99.5")},
            {"Name": "Pet", "Confidence": 80},
        ],
    }
    base.update(kw)
    return base


def test_report_table_sorted_labels_and_statuses() -> None:
    md = render_report(
        [
            ("rekognition-input/beta/a.jpg", _record()),
            (
                "rekognition-input/beta/b.jpg",
                _record(status="failed", labels=[], error="InvalidImageFormat: bad | bytes"),
            ),
            ("rekognition-input/beta/c.jpg", None),
        ],
        environment="beta",
    )
    lines = md.splitlines()
    assert lines[0] == REPORT_MARKER
    assert "3 image(s): 1 failed, 1 missing, 1 ok" in md
    rows = [line for line in lines if line.startswith("| rekognition")]
    assert len(rows) == 3
    assert "Animal (99.5%), Cat (97.1%), Pet (80.0%)" in rows[0]
    assert "✅ ok" in rows[0]
    assert "❌ failed" in rows[1] and r"InvalidImageFormat: bad \| bytes" in rows[1]
    assert "⏳ missing" in rows[2]
    # every row has exactly the 4 columns: unescaped pipes are the 5 separators only
    for row in rows:
        assert row.replace("\\|", "").count("|") == 5


def test_report_escapes_hostile_names() -> None:
    key = "rekognition-input/beta/<img src=x>|**bold**\n[link](http://x) -->.jpg"
    md = render_report(
        [(key, _record(labels=[{"Name": "a|b", "Confidence": 50}]))], environment="beta"
    )
    row = next(line for line in md.splitlines() if line.startswith("| rekognition"))
    assert "<img" not in row and "&lt;img src=x&gt;" in row
    assert "-->" not in md.replace(REPORT_MARKER, "")
    assert r"\*\*bold\*\*" in row and r"\[link\]" in row
    assert "\n" not in row
    assert row.replace("\\|", "").count("|") == 5
    assert r"a\|b (50.0%)" in row


def test_report_empty_and_top_n() -> None:
    md = render_report([], environment="prod")
    assert md.startswith(REPORT_MARKER) and "No changed images." in md
    labels = [{"Name": f"L{i}", "Confidence": i} for i in range(10)]
    assert [n for n, _ in top_labels({"labels": labels}, limit=3)] == ["L9", "L8", "L7"]
    assert escape_cell("a_b") == r"a\_b"


def test_cli_report_uses_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store: dict[str, Mapping[str, Any]] = {"k/a.jpg": _record(filename="k/a.jpg")}
    calls: list[tuple[str, str]] = []

    def factory(backend: str, table: str, region: str | None, endpoint: str | None) -> RecordReader:
        calls.append((backend, table))
        return store.get

    monkeypatch.setattr(github_cli, "reader_factory", factory)
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("k/b.jpg\nk/a.jpg\n")
    out = tmp_path / "report.md"
    res = runner.invoke(
        github_cli.app,
        [
            "report",
            "--env",
            "prod",
            "--backend",
            "dynamodb",
            "k/a.jpg",
            "--keys-file",
            str(keys_file),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert calls == [("dynamodb", "prod_results")]
    md = out.read_text()
    assert md.startswith(REPORT_MARKER)
    assert "eventlens labels (prod)" in md
    rows = [line for line in md.splitlines() if line.startswith("| k/")]
    assert [r.split("|")[1].strip() for r in rows] == ["k/a.jpg", "k/b.jpg"]
    assert "⏳ missing" in rows[1]


def test_cli_report_rejects_unknown_backend() -> None:
    res = runner.invoke(github_cli.app, ["report", "--backend", "mongodb", "x.jpg"])
    assert res.exit_code != 0
    assert "unsupported backend" in res.output


def test_dynamodb_reader_against_moto() -> None:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    with moto.mock_aws():
        ddb = boto3.resource("dynamodb", region_name="eu-west-1")
        table = ddb.create_table(
            TableName="beta_results",
            KeySchema=[{"AttributeName": "filename", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "filename", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table.put_item(Item=_record(filename="rekognition-input/beta/a.jpg"))
        read = github_cli.make_reader("dynamodb", "beta_results", "eu-west-1", None)
        got = read("rekognition-input/beta/a.jpg")
        assert got is not None and got["status"] == "ok"
        assert read("rekognition-input/beta/nope.jpg") is None
        md = render_report([("rekognition-input/beta/a.jpg", got)], environment="beta")
        assert "Animal (99.5%)" in md


def test_sqlite_reader_reads_local_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlens.results.record import Record
    from eventlens.results.sqlite import SQLiteResultStore

    db = tmp_path / "r.db"
    store = SQLiteResultStore(db, {"beta": "beta_results"})
    store.put(
        Record(
            "rekognition-input/beta/a.jpg", "beta", labels=[{"Name": "Animal", "Confidence": 99.5}]
        )
    )
    store.close()
    monkeypatch.setenv("EVENTLENS_DB", str(db))
    read = github_cli.make_reader("sqlite", "beta_results", None, None)
    got = read("rekognition-input/beta/a.jpg")
    assert got is not None and got["status"] == "ok"
    assert read("rekognition-input/beta/nope.jpg") is None
    md = render_report([("rekognition-input/beta/a.jpg", got)], environment="beta")
    assert "Animal (99.5%)" in md


def test_extension_set_matches_the_analyzers() -> None:
    from eventlens.github.changed_images import DEFAULT_IMAGE_EXTENSIONS
    from eventlens.imaging import IMAGE_EXTENSIONS

    assert frozenset(IMAGE_EXTENSIONS) == DEFAULT_IMAGE_EXTENSIONS


def test_merge_base_ignores_changes_landed_on_base(repo: Path) -> None:
    _commit(repo, "root")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.png").write_bytes(b"f")
    head = _commit(repo, "feature image")
    _git(repo, "checkout", "-q", "main")
    (repo / "images" / "keep.jpg").write_bytes(b"changed on main after the branch point")
    base = _commit(repo, "main moved on")

    assert changed_images(base, head, repo=repo, merge_base=True) == ["feature.png"]
    # a two-dot diff would also report main's change to keep.jpg (as a modification)
    assert changed_images(base, head, repo=repo) == ["feature.png", "images/keep.jpg"]


def test_missing_base_falls_back_to_head_commit(repo: Path) -> None:
    _commit(repo, "root")
    (repo / "pushed.webp").write_bytes(b"p")
    head = _commit(repo, "pushed")
    gone = "1234567" * 5 + "12345"
    with pytest.raises(GitError):
        changed_images(gone, head, repo=repo)
    assert changed_images(gone, head, repo=repo, missing_base_falls_back=True) == ["pushed.webp"]


def test_stdlib_entry_point_runs_without_the_package(repo: Path, tmp_path: Path) -> None:
    """The workflows run `PYTHONPATH=src python -m eventlens.github` before any install."""
    import os
    import sys

    base = _commit(repo, "base")
    (repo / "é z.jpg").write_bytes(b"1")
    head = _commit(repo, "img")
    gh_out = tmp_path / "out"
    src = Path(__file__).resolve().parents[1] / "src"
    proc = subprocess.run(
        [
            sys.executable,
            "-S",  # no site-packages: proves only the standard library is needed
            "-m",
            "eventlens.github",
            "changed-images",
            "--base",
            base,
            "--head",
            head,
            "--repo",
            str(repo),
            "--merge-base",
            "-0",
            "--github-output",
            str(gh_out),
        ],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == "é z.jpg\0".encode()
    assert gh_out.read_text() == "count=1\nany=true\n"

    proc = subprocess.run(
        [sys.executable, "-S", "-m", "eventlens.github", "changed-images", "--head", "nope"],
        capture_output=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    assert proc.returncode == 2 and b"fetch-depth: 0" in proc.stderr
