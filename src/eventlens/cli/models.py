"""``eventlens models build``: the bundled models, converted once to ONNX and cached."""

from __future__ import annotations

from typing import Annotated

import typer

from eventlens.cli.options import LabelModelOption, load_settings
from eventlens.cli.render import console

app = typer.Typer(help="Build or inspect the bundled label model.", no_args_is_help=True)


@app.command()
def build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached")] = False,
    label_model: LabelModelOption = None,
) -> None:
    """Convert the packaged weights of the label model (classifier, person and face
    detectors) to ONNX (done once, then cached)."""
    from eventlens.analyzers.labels.analyzer import label_model as known_label_model
    from eventlens.analyzers.labels.model_cache import build_model
    from eventlens.analyzers.objects import build_models

    try:
        model = known_label_model(load_settings(label_model=label_model).label_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    paths = [build_model(force=force, variant=model.classifier)]
    if model.people:
        paths += build_models(force=force)
    for path in paths:
        console.print(f"model ready: {path} ({path.stat().st_size / 1e6:.1f} MB)")
