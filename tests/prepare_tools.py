"""Install the linters' and release tools' virtualenvs (.cache/tools) before the suite runs, so
that the tests' time is spent testing (scripts/install-test-tools runs this). Each test still
installs its tool itself, or skips naming why, when this did not run or failed."""

from __future__ import annotations

import sys

from _pytest.outcomes import Skipped

from tests.test_checkov import CHECKOV_SPEC
from tests.test_deptry import DEPTRY_SPEC
from tests.test_release import RELEASE_TOOLS
from tests.test_zizmor import ZIZMOR_SPEC
from tests.tool_venv import tool_target, tool_venv


def main() -> int:
    steps = {
        "checkov": lambda: tool_venv("checkov-venv", [CHECKOV_SPEC], "checkov", env_var="CHECKOV"),
        "zizmor": lambda: tool_venv("zizmor-venv", [ZIZMOR_SPEC], "zizmor", env_var="ZIZMOR"),
        "build, twine": lambda: tool_venv(
            "release-venv", RELEASE_TOOLS, "twine", env_var="EVENTLENS_TWINE"
        ),
        "deptry": lambda: tool_target("deptry", [DEPTRY_SPEC], "deptry"),
    }
    failed = 0
    for name, install in steps.items():
        try:
            install()
        except Skipped as skipped:
            print(f"could not install {name}: {skipped.msg}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
