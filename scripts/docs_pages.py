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
from html import escape
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
COPIED = [
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    "THIRD_PARTY_LICENSES.md",
    "bench/RESULTS.md",
    "bench/eval_set/*.md",
]


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


CHAR = 7.8  # px per character of 13 px monospace
BOX, GAP, PAD = 28, 18, 12  # box height, gap between rows, padding inside a box
STYLE = (
    "<style>.d rect{fill:#e8eaf6;stroke:#3949ab}.d .frame{fill:none;stroke-dasharray:4 3}"
    ".d text{font:13px monospace;fill:#1a237e}.d .head{font-weight:bold}"
    ".d line{stroke:#3949ab;stroke-width:1.5;marker-end:url(#arrow)}</style>"
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
    'markerHeight="8" orient="auto"><path d="M0,0L8,4L0,8z" fill="#3949ab"/></marker></defs>'
)


def _text(x: float, y: float, text: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle"{klass}>{escape(text)}</text>'


def _box(x: float, y: float, width: float, label: str, css: str = "") -> list[str]:
    return [
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{width:.0f}" height="{BOX}" rx="4"/>',
        _text(x + width / 2, y + BOX / 2 + 4, label, css),
    ]


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}"/>'


def _svg(width: float, height: float, parts: list[str], title: str) -> str:
    """One line of inline SVG (no blank line: Markdown passes it through untouched)."""
    return (
        f'<div class="diagram" markdown="0"><svg class="d" role="img" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" style="max-width:100%;height:auto">'
        f"<title>{escape(title)}</title>{STYLE}{''.join(parts)}</svg></div>"
    )


def layers_svg(layers: list[str], title: str) -> str:
    """One box per layer, top to bottom, an arrow from each to the one below it."""
    width = max(len(layer) for layer in layers) * CHAR + 2 * PAD
    parts: list[str] = []
    for row, layer in enumerate(layers):
        y = 1 + row * (BOX + GAP)
        parts += _box(1, y, width, layer)
        if row:
            parts.append(_arrow(1 + width / 2, y - GAP, 1 + width / 2, y - 1))
    return _svg(width + 2, len(layers) * (BOX + GAP) - GAP + 2, parts, title)


def pipeline_svg(steps: list[str], ports: list[tuple[str, list[str]]], title: str) -> str:
    """The pipeline's steps in a row inside a frame; below it each port with its adapters."""
    step_widths = [len(s) * CHAR + 2 * PAD for s in steps]
    row = sum(step_widths) + GAP * (len(steps) - 1)
    columns = [max(len(n) for n in [p, *a]) * CHAR + 2 * PAD for p, a in ports]
    wide = max(row + 2 * PAD, sum(columns) + GAP * (len(columns) - 1))
    parts = [
        f'<rect class="frame" x="1" y="1" width="{wide:.0f}" height="{BOX * 2 + PAD:.0f}" rx="6"/>',
        _text(1 + wide / 2, 18, "Pipeline (eventlens/pipeline.py)", "head"),
    ]
    x = 1 + (wide - row) / 2
    for step, width in zip(steps, step_widths, strict=True):
        if x > 1 + (wide - row) / 2:
            parts.append(_arrow(x - GAP, 28 + BOX / 2, x - 1, 28 + BOX / 2))
        parts += _box(x, 28, width, step)
        x += width + GAP
    top = BOX * 2 + PAD + 1 + 2 * GAP
    x = 1 + (wide - sum(columns) - GAP * (len(columns) - 1)) / 2
    for (port, adapters), width in zip(ports, columns, strict=True):
        parts.append(_arrow(x + width / 2, BOX * 2 + PAD + 1, x + width / 2, top - 1))
        parts += _box(x, top, width, port, "head")
        for n, adapter in enumerate(adapters):
            parts.append(_text(x + width / 2, top + BOX + 18 + n * 17, adapter))
        x += width + GAP
    height = top + BOX + 18 + max(len(a) for _, a in ports) * 17
    return _svg(wide + 2, height, parts, title)


def layers_diagram(pyproject: Path) -> str:
    """The ``layers`` contract of ``[tool.importlinter]`` drawn top to bottom."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    shown = [
        re.sub(r"\beventlens\.", "", layer).replace(" : ", ", ") for layer in contract["layers"]
    ]
    independent = [c for c in config["contracts"] if c["type"] == "independence"]
    notes = [f"- {c['name']}: {', '.join(f'`{m}`' for m in c['modules'])}" for c in independent]
    intro = f"**{contract['name']}** (an arrow: may import; `a | b`: independent siblings):"
    return "\n".join([intro, "", layers_svg(shown, contract["name"]), "", *notes])


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
                doc = ast.get_docstring(node) or ast.get_docstring(tree) or ""
                doc = doc.split("\n\n")[0].replace("\n", " ")
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
    table = ["| port | declared in | what it is | adapters |", "|---|---|---|---|"]
    drawn: list[tuple[str, list[str]]] = []
    for port in ports + declared:
        adapters = _adapters(port, every)
        if port in ports:
            drawn.append((port.name, [a.name for a in adapters]))
        shown = ", ".join(f"{a.name} ({a.module.removeprefix('eventlens.')})" for a in adapters)
        module = port.module.removeprefix("eventlens.")
        table.append(f"| **{port.name}** | {module} | {port.doc or '-'} | {shown} |")
    diagram = pipeline_svg(steps, drawn, "The pipeline and its ports")
    return "\n".join([PIPELINE_INTRO, "", diagram, "", PORTS_INTRO, "", *table])


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
