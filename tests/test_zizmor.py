"""zizmor (GitHub Actions security lint) over .github: no findings, even as an auditor.

Offline: the audits that ask GitHub's API (impostor commits, known-vulnerable actions) are left
out; Dependabot (.github/dependabot.yml) keeps the SHA pins current instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.tool_venv import tool_venv

ROOT = Path(__file__).resolve().parents[1]
ZIZMOR_SPEC = "zizmor==1.33.1"  # new zizmor versions add audits: bump deliberately

pytestmark = pytest.mark.infra_lint


@pytest.fixture(scope="session")
def zizmor() -> str:
    return tool_venv("zizmor-venv", [ZIZMOR_SPEC], "zizmor", env_var="ZIZMOR")


def run_zizmor(zizmor: str, target: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [zizmor, "--offline", "--persona=auditor", "--format=json", "--no-progress", str(target)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # exit codes 10-14 mean "findings of some severity"; anything else non-zero is a crash
    assert proc.returncode == 0 or 10 <= proc.returncode <= 14, proc.stderr[-2000:]
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def describe(finding: dict[str, Any]) -> str:
    where = finding["locations"][0]["symbolic"]["key"]["Local"]["given_path"]
    return f"{finding['ident']} in {where}: {finding['desc']}"


def test_workflows_and_dependabot_have_no_findings(zizmor: str) -> None:
    findings = run_zizmor(zizmor, ROOT / ".github")
    assert findings == [], "\n".join(describe(f) for f in findings)


def test_zizmor_reports_an_unsafe_workflow(zizmor: str, tmp_path: Path) -> None:
    """Guards the guard: the same invocation finds the mistakes this repository fixed."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: pull_request\n"
        "permissions:\n"
        "  contents: read\n"
        "  id-token: write\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: aws-actions/configure-aws-credentials@v4\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    idents = {f["ident"] for f in run_zizmor(zizmor, tmp_path / ".github")}
    assert {"unpinned-uses", "artipacked", "excessive-permissions", "template-injection"} <= idents
