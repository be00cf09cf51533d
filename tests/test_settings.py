"""The one settings model: the settings reference's tables generated from it, one vocabulary for
both modes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from eventlens.settings import Mode, Settings, options, read
from eventlens.settings_docs import readme_with_tables
from tests.processes import EVENTLENS

ROOT = Path(__file__).resolve().parent.parent


def test_the_settings_reference_tables_are_generated_from_the_model() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert readme_with_tables(text) == text, "run: eventlens settings --readme docs/settings.md"


def test_the_settings_command_rewrites_the_tables_of_a_docs_page(tmp_path: Path) -> None:
    page = tmp_path / "settings.md"
    current = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    stale = current.replace("| `--max-labels` | `EVENTLENS_MAX_LABELS` | `10` |", "| stale |")
    assert stale != current
    page.write_text(stale, encoding="utf-8")
    done = subprocess.run(
        [EVENTLENS, "settings", "--readme", str(page)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert page.read_text(encoding="utf-8") == current


def test_a_page_without_the_settings_blocks_is_one_line_and_left_alone(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    page.write_text("# eventlens\n", encoding="utf-8")
    done = subprocess.run(
        [EVENTLENS, "settings", "--readme", str(page)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "no <!-- settings:local --> block" in done.stderr
    assert "docs/settings.md" in done.stderr and "Traceback" not in done.stderr
    assert page.read_text(encoding="utf-8") == "# eventlens\n"


def test_every_eventlens_variable_the_code_names_is_a_declared_setting() -> None:
    declared = {o.variable for o in options().values()}
    declared |= {old for o in options().values() for old in o.deprecated}
    named = set()
    for path in (ROOT / "src" / "eventlens").rglob("*.py"):
        named |= set(re.findall(r"\bEVENTLENS_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    assert named - declared == set()


def test_both_modes_read_the_same_variables_with_their_own_defaults() -> None:
    environ = {"EVENTLENS_MAX_LABELS": "3", "EVENTLENS_ANALYZERS": "labels,faces"}
    local = Settings.from_env(environ)
    aws = Settings.from_env(environ, mode=Mode.AWS)
    assert (local.max_labels, aws.max_labels) == (3, 3)
    assert local.analyzers == aws.analyzers == {"*": ["labels", "faces"]}
    assert (local.max_bytes, aws.max_bytes) == (50 * 1024 * 1024, 15 * 1024 * 1024)
    assert (local.max_attempts, aws.max_attempts) == (5, 3)
    assert (local.branch, aws.branch) == ("local", "main")


def test_values_are_checked_and_the_message_names_the_variable() -> None:
    with pytest.raises(ValueError, match=r"EVENTLENS_MIN_CONFIDENCE=101\.0: must be at most 100"):
        Settings.from_env({"EVENTLENS_MIN_CONFIDENCE": "101"})
    with pytest.raises(ValueError, match="EVENTLENS_WORKERS='0': must be at least 1"):
        read("workers", {"EVENTLENS_WORKERS": "0"})
    with pytest.raises(ValueError, match="--batch-size='x' is not a number"):
        Settings.from_env({}, batch_size="x")


def test_the_old_analyzer_variable_is_read_locally_too(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env({"EVENTLENS_ANALYZER": "Bundled"})
    assert settings.analyzers_for("beta") == ["labels"]
    assert "EVENTLENS_ANALYZER is deprecated" in caplog.text


def test_a_bad_variable_is_one_line_for_any_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from eventlens.cli.main import app

    for command in (["dlq", "list"], ["results", "list", "--env", "beta"], ["run", "--once"]):
        result = CliRunner().invoke(
            app, [*command, "--root", str(tmp_path)], env={"EVENTLENS_MAX_LABELS": "x"}
        )
        assert result.exit_code == 2, (command, result.output)
        assert "EVENTLENS_MAX_LABELS='x' is not a number" in result.output
        assert "Traceback" not in result.output
