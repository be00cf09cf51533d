"""``eventlens models build|info``: the bundled model, converted once to ONNX and cached."""

from __future__ import annotations

from typing import Annotated

import typer

from eventlens.cli.render import console

app = typer.Typer(help="Build or inspect the bundled label model.", no_args_is_help=True)


@app.command()
def build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached")] = False,
) -> None:
    """Convert the packaged EfficientNet-Lite0 weights to ONNX (done once, then cached)."""
    from eventlens.analyzers.labels.model_cache import build_model

    path = build_model(force=force)
    console.print(f"model ready: {path} ({path.stat().st_size / 1e6:.1f} MB)")
