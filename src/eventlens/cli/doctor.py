"""``eventlens doctor``: what this machine runs the bundled models with, and whether they work."""

from __future__ import annotations

import platform
import sys

import typer

from eventlens import cpu
from eventlens.cli.options import JsonOption, LabelModelOption, load_settings
from eventlens.cli.render import console, print_json


def doctor(label_model: LabelModelOption = None, as_json: JsonOption = False) -> None:
    """Print the CPU's instruction sets, ONNX Runtime's version and providers, and each model
    of the label model in force: source, licence, cache files and its check on this machine.
    Exits 1 when one is missing or failed its check."""
    import onnxruntime as ort

    from eventlens.analyzers.installed import label_model_statuses
    from eventlens.analyzers.labels.analyzer import label_model as known_label_model

    try:
        model = known_label_model(load_settings(label_model=label_model).label_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    statuses = label_model_statuses(model)
    machine = {
        "machine": platform.machine(),
        "instruction_sets": cpu.instruction_sets(),
        "int8_dot_product": cpu.int8_dot_product(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
        "label_model": model.name,
    }
    if as_json:
        models = [
            {
                "name": s.name,
                "source": s.source,
                "licence": s.licence,
                "cache_files": [str(p) for p in s.cache_files],
                "state": s.state,
                "detail": s.detail,
            }
            for s in statuses
        ]
        print_json({**machine, "models": models})
    else:
        console.print(
            f"CPU: {machine['machine']}, {' '.join(machine['instruction_sets'])}",
            soft_wrap=True,
        )
        console.print(f"int8 kernels: {machine['int8_dot_product']}")
        console.print(
            f"Python {machine['python']}, onnxruntime {machine['onnxruntime']} "
            f"({', '.join(machine['providers'])})"
        )
        console.print(f"label model: {model.name}")
        for s in statuses:
            mark = "[green]ok[/green]" if s.ok else f"[red]{s.state}[/red]"
            console.print(f"  {mark} {s.name}: {s.detail}", highlight=False, soft_wrap=True)
            console.print(
                f"      source {s.source}; licence {s.licence}", highlight=False, soft_wrap=True
            )
            for path in s.cache_files:
                console.print(f"      cache {path}", highlight=False, soft_wrap=True)
    if not all(s.ok for s in statuses):
        sys.exit(1)
