"""Pages of the documentation site made from the code at build time (mkdocs-gen-files runs this;
see mkdocs.yml): the home page from README.md, the CLI reference from the Typer app, the
architecture diagrams from the import-linter layers and the port classes, and copies of the
repository's own Markdown files that the pages link to."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "eventlens"
ARCHITECTURE_MARKER = "<!-- generated: architecture -->"
PIPELINE_INTRO = (
    "The pipeline's steps (its module's docstring) and the ports its constructor takes, with the "
    "classes that implement them:"
)
PORTS_INTRO = (
    "Every port, with its adapters (the classes deriving from it, or for a `Protocol` the "
    "classes that have its methods):"
)

#: repository files the pages link to, copied to the same path inside the site, so that a link
#: such as ``bench/RESULTS.md`` reads the same in docs/ as it did in the README
COPIED = ["CONTRIBUTING.md", "CHANGELOG.md", "bench/RESULTS.md", "bench/eval_set/*.md"]


def home_page(readme: str) -> str:
    """README.md as the site's home page: links into docs/ become links within the site."""
    text = readme.replace("](docs/", "](")
    return text.replace("](README.md)", "](index.md)")


def copied_page(text: str) -> str:
    return text.replace("](README.md)", "](index.md)")


def cli_reference() -> str:
    """Typer's own Markdown for every command, from the installed ``eventlens`` app."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cli.md"
        command = [sys.executable, "-m", "typer", "eventlens.cli.main", "utils", "docs"]
        subprocess.run(
            [*command, "--name", "eventlens", "--title", "CLI reference", "--output", str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.read_text(encoding="utf-8")


def layers_diagram(pyproject: Path) -> str:
    """The ``layers`` contract of ``[tool.importlinter]`` as a Mermaid flowchart, top to bottom."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    lines = ["```mermaid", "flowchart TB"]
    for number, layer in enumerate(contract["layers"]):
        shown = re.sub(r"\beventlens\.", "", layer).replace(" : ", ", ")
        lines.append(f'  L{number}["{shown}"]')
    lines += [f"  L{n} --> L{n + 1}" for n in range(len(contract["layers"]) - 1)]
    lines.append("```")
    independent = [c for c in config["contracts"] if c["type"] == "independence"]
    notes = [f"- {c['name']}: {', '.join(f'`{m}`' for m in c['modules'])}" for c in independent]
    title = f"**{contract['name']}** (an arrow: may import; `a | b`: independent siblings):"
    return "\n".join([title, "", *lines, "", *notes])


@dataclass
class ClassInfo:
    name: str
    module: str
    bases: list[str]
    methods: set[str]
    doc: str
    subclasses: list[ClassInfo] = field(default_factory=list)


def _base_name(base: ast.expr) -> str:
    """``ModelAnalyzer`` for ``ModelAnalyzer[LabelModel]``, ``ABC`` for ``abc.ABC``."""
    if isinstance(base, ast.Subscript):
        base = base.value
    return ast.unparse(base).rsplit(".", 1)[-1]


def _classes() -> Iterator[ClassInfo]:
    for path in sorted(SOURCE.rglob("*.py")):
        module = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                bases = [_base_name(b) for b in node.bases]
                methods = {
                    n.name
                    for n in node.body
                    if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
                }
                doc = (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ")
                yield ClassInfo(node.name, module, bases, methods, doc)


def _pipeline() -> tuple[list[str], list[str]]:
    """The steps named in the pipeline module's docstring, and the port classes its
    constructor takes (from the annotations of ``Pipeline.__init__``)."""
    tree = ast.parse((SOURCE / "pipeline.py").read_text(encoding="utf-8"))
    summary = (ast.get_docstring(tree) or "").split(":", 1)[-1].strip().rstrip(".")
    steps = [s.strip() for s in summary.split("→")]
    (pipeline,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Pipeline"]
    (init,) = [n for n in pipeline.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    annotations = [ast.unparse(a.annotation) for a in init.args.args if a.annotation]
    return steps, annotations


def _adapters(port: ClassInfo, every: list[ClassInfo]) -> list[ClassInfo]:
    """Concrete classes under ``port``: subclasses (transitively), or for a Protocol the
    classes that define all of its methods."""
    if "Protocol" in port.bases:
        return [c for c in every if c is not port and port.methods <= c.methods]
    found: list[ClassInfo] = []
    names = {port.name}
    grew = True
    while grew:
        grew = False
        for c in every:
            if c not in found and names & set(c.bases):
                found.append(c)
                names.add(c.name)
                grew = True
    return found


def ports_section() -> str:
    every = list(_classes())
    steps, annotations = _pipeline()
    taken = [c for c in every if any(re.search(rf"\b{c.name}\b", a) for a in annotations)]
    # a port is what the pipeline takes and something implements (not Router, not Settings)
    ports = [c for c in taken if _adapters(c, every)]
    declared = [
        c
        for c in every
        if {"ABC", "Protocol"} & set(c.bases) and c.name not in {p.name for p in ports}
    ]
    diagram = ["```mermaid", "flowchart LR", '  subgraph P["Pipeline (eventlens/pipeline.py)"]']
    diagram.append("    direction LR")
    diagram += [f'    S{n}["{step}"]' for n, step in enumerate(steps)]
    diagram += [f"    S{n} --> S{n + 1}" for n in range(len(steps) - 1)]
    diagram.append("  end")
    table = ["| port | declared in | what it is | adapters |", "|---|---|---|---|"]
    for port in ports + declared:
        adapters = _adapters(port, every)
        if port in ports:
            names = "<br/>".join(a.name for a in adapters)
            diagram.append(f'  P --> {port.name}[["{port.name}"]]')
            diagram.append(f'  {port.name} -. adapters .- {port.name}_adapters("{names}")')
        shown = ", ".join(f"`{a.name}` ({a.module.removeprefix('eventlens.')})" for a in adapters)
        table.append(f"| `{port.name}` | `{port.module}` | {port.doc or '-'} | {shown} |")
    diagram.append("```")
    return "\n".join([PIPELINE_INTRO, "", *diagram, "", PORTS_INTRO, "", *table])


def architecture_page(page: str) -> str:
    layers = layers_diagram(ROOT / "pyproject.toml")
    generated = f"## The ports and the one pipeline\n\n{ports_section()}\n\n## Layers\n\n{layers}"
    if ARCHITECTURE_MARKER not in page:
        raise ValueError(f"docs/architecture.md has no {ARCHITECTURE_MARKER}")
    return page.replace(ARCHITECTURE_MARKER, generated)


def _copied_files() -> Iterator[Path]:
    for pattern in COPIED:
        yield from sorted(ROOT.glob(pattern))


def main() -> None:
    import mkdocs_gen_files  # only inside ``mkdocs build``

    def write(name: str, text: str) -> None:
        with mkdocs_gen_files.open(name, "w") as out:
            out.write(text)

    write("index.md", home_page((ROOT / "README.md").read_text(encoding="utf-8")))
    mkdocs_gen_files.set_edit_path("index.md", "../README.md")
    write("cli.md", cli_reference())
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    write("architecture.md", architecture_page(architecture))
    for path in _copied_files():
        name = path.relative_to(ROOT).as_posix()
        write(name, copied_page(path.read_text(encoding="utf-8")))
        mkdocs_gen_files.set_edit_path(name, f"../{name}")


if __name__ != "docs_pages":  # run by mkdocs-gen-files (runpy) or as a script
    main()
