"""``eventlens models install`` / ``build``: the bundled models' packages fetched, verified
and installed, their weights converted once to ONNX and cached."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from eventlens.cli.options import LabelModelOption, load_settings
from eventlens.cli.render import console, err_console
from eventlens.convert.cache import ModelCacheUnwritable

if TYPE_CHECKING:
    from eventlens.analyzers.labels.analyzer import LabelModel

app = typer.Typer(help="Install, build or inspect the bundled label model.", no_args_is_help=True)


@app.command()
def install(
    force: Annotated[
        bool, typer.Option("--force", help="Fetch and convert even what is installed")
    ] = False,
    label_model: LabelModelOption = None,
) -> None:
    """Fetch every model package the label model needs (pinned versions; the sha256 of each
    download is verified), install it, and convert the weights to ONNX. One line per failure;
    exits 1 when any failed."""
    from rich.progress import Progress

    from eventlens.analyzers.labels.analyzer import label_model as known_label_model
    from eventlens.analyzers.model_packages import optional, required
    from eventlens.cli.model_install import InstallFailed
    from eventlens.cli.model_install import install as install_package

    try:
        model = known_label_model(load_settings(label_model=label_model).label_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    packages = [p for p in required(model) + optional(model) if force or not p.installed()]
    failed = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("installing", total=len(packages) + 1)
        for package in packages:
            progress.update(task, description=f"{package.requirement} ({package.registry})")
            try:
                install_package(package)
                console.print(
                    f"installed {package.requirement} ({package.licence}; sha256 verified)",
                    highlight=False,
                )
            except InstallFailed as exc:
                failed.append(str(exc))
                err_console.print(f"[red]failed[/red] {exc}", highlight=False)
            progress.advance(task)
        progress.update(task, description="converting to ONNX")
        try:
            paths = _build(model, force)
        except Exception as exc:  # one line per failure, whatever broke
            failed.append(f"converting: {exc}")
            err_console.print(f"[red]failed[/red] converting: {exc}", highlight=False)
            paths = []
        progress.advance(task)
    for path in paths:
        console.print(f"model ready: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if failed:
        raise typer.Exit(1)


def _build(model: LabelModel, force: bool) -> list[Path]:
    from eventlens.analyzers.labels.model_cache import build_model
    from eventlens.analyzers.objects import build_models

    paths = [build_model(force=force, variant=model.classifier)]
    paths += build_models(force=force) if model.people else []
    if model.objects_min_score is not None:
        from eventlens.analyzers.objects import nanodet

        paths += [nanodet.build_model(force)] if nanodet.is_available() else []
    return paths


@app.command()
def build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached")] = False,
    label_model: LabelModelOption = None,
) -> None:
    """Convert the packaged weights of the label model (classifier, person, face and object
    detectors) to ONNX (done once, then cached)."""
    from eventlens.analyzers.labels.analyzer import label_model as known_label_model

    try:
        model = known_label_model(load_settings(label_model=label_model).label_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        paths = _build(model, force)
    except ModelCacheUnwritable as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    for path in paths:
        console.print(f"model ready: {path} ({path.stat().st_size / 1e6:.1f} MB)")
