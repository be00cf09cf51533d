"""The documentation site builds in strict mode (a broken link or anchor fails it), with the
references generated from the code: every command, every setting, every import layer."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eventlens.settings import options

ROOT = Path(__file__).resolve().parent.parent
MISSING = [
    name
    for name in ("mkdocs", "material", "mkdocs_gen_files")
    if importlib.util.find_spec(name) is None
]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed: pip install -e '.[docs]' (the dev extra has it)",
)
# Material and MkDocs' plugins each print a banner about MkDocs 2.0 on every build
QUIET = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **QUIET},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def test_the_home_page_is_the_readme_with_the_dashboard_screenshot(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "scripts/demo" in home and "scripts/test" in home
    assert 'src="images/dashboard.png"' in home
    assert (site / "images" / "dashboard.png").stat().st_size > 10_000
    for linked in ("quick-start/", "architecture/", "settings/", "label-model/", "deploy/"):
        assert f'href="{linked}"' in home, linked


def test_the_cli_reference_lists_every_command_of_the_typer_app(site: Path) -> None:
    import typer.main

    from eventlens.cli.main import app

    cli = page(site, "cli")
    group = typer.main.get_group(app)
    assert len(group.commands) > 10
    for name, command in group.commands.items():
        assert f"<code>eventlens {name}</code>" in cli, name
        for sub in getattr(command, "commands", {}):
            assert f"<code>eventlens {name} {sub}</code>" in cli, f"{name} {sub}"


def test_the_settings_reference_lists_every_setting(site: Path) -> None:
    settings = page(site, "settings")
    for option in options().values():
        assert f"<code>{option.variable}</code>" in settings, option.variable


def test_the_architecture_page_draws_every_layer_and_port(site: Path) -> None:
    architecture = page(site, "architecture")
    diagrams = re.findall(r'<svg class="d".*?</svg>', architecture, re.S)
    assert len(diagrams) == 2
    pipeline, layers = (re.findall(r"<text[^>]*>(.*?)</text>", d) for d in diagrams)
    steps = ["route", "dedup", "fetch", "analyse", "store", "notify"]
    assert pipeline[:7] == ["Pipeline (eventlens/pipeline.py)", *steps]
    assert [t for t in pipeline if "ResultStore" in t][:3] == [
        "ResultStore",
        "DynamoDBResultStore",
        "SQLiteResultStore",
    ]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert len(layers) == len(contract["layers"])
    for drawn, layer in zip(layers, contract["layers"], strict=True):
        modules = [m.removeprefix("eventlens.") for m in re.split(r" [|:] ", layer)]
        assert re.split(r", | \| ", drawn) == modules
    assert "How a file becomes a record" in architecture


def test_a_broken_link_or_anchor_fails_the_strict_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    quick_start = docs / "quick-start.md"
    quick_start.write_text(
        quick_start.read_text(encoding="utf-8")
        + "\n[gone](no-such-page.md) and [nowhere](settings.md#no-such-anchor)\n",
        encoding="utf-8",
    )
    config = tmp_path / "mkdocs.yml"
    script = ROOT / "scripts" / "docs_pages.py"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\n"
        f"plugins:\n  - search\n  - gen-files:\n      scripts: ['{script}']\n",
        encoding="utf-8",
    )
    done = build(config, tmp_path / "site")
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "no-such-page.md" in said and "no-such-anchor" in said
    assert "Aborted with 2 warnings in strict mode" in said
