"""``eventlens github ...``: the logic the GitHub Actions workflows call.

Registered by the main CLI with ``app.add_typer(github.app, name="github")``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from eventlens.github.changed_images import (
    DEFAULT_IMAGE_EXTENSIONS,
    GitError,
    changed_images,
    write_github_output,
    write_paths,
)
from eventlens.github.records import RecordReader, read_all
from eventlens.github.report import render_report
from eventlens.results.base import ResultStore
from eventlens.settings import Settings
from eventlens.wiring import Backend, open_results

app = typer.Typer(
    help="Helpers for the GitHub Actions workflows (changed images, PR/summary report).",
    no_args_is_help=True,
)


def make_reader(
    backend: str, table: str, region: str | None, endpoint_url: str | None
) -> RecordReader:
    """Read records through the results store port (DynamoDB on AWS, SQLite locally)."""
    env = "report"
    store: ResultStore
    if backend == Backend.DYNAMODB:
        from eventlens.aws_clients import client
        from eventlens.results.dynamodb import DynamoDBResultStore

        kwargs: dict[str, Any] = {
            k: v for k, v in (("region_name", region), ("endpoint_url", endpoint_url)) if v
        }
        store = DynamoDBResultStore({env: table}, client("dynamodb", **kwargs))
    elif backend == Backend.SQLITE:
        store = open_results(
            Settings.from_env(),
            Backend.SQLITE,
            tables={env: table},
            read_only=True,
            must_exist=True,
        )
    else:
        raise typer.BadParameter(f"unsupported backend {backend!r} (dynamodb or sqlite)")

    def read(key: str) -> Mapping[str, Any] | None:
        record = store.get(env, key)
        return record.to_dict() if record is not None else None

    return read


# Tests replace this to read records without AWS: (backend, table, region, endpoint) -> reader.
reader_factory: Callable[[str, str, str | None, str | None], RecordReader] = make_reader


@app.command("changed-images")
def changed_images_cmd(
    head: Annotated[str, typer.Option(help="Head commit (the PR head or the pushed SHA).")],
    base: Annotated[
        str | None,
        typer.Option(help="Base commit; empty or all zeros lists the files of HEAD itself."),
    ] = None,
    repo: Annotated[Path, typer.Option(help="Repository working tree.")] = Path("."),
    ext: Annotated[
        list[str] | None,
        typer.Option(
            "--ext",
            help="Image extension to include (repeatable); default: common image types.",
        ),
    ] = None,
    merge_base: Annotated[
        bool, typer.Option(help="Diff from the merge base (BASE...HEAD), as a PR does.")
    ] = False,
    missing_base_falls_back: Annotated[
        bool,
        typer.Option(help="If BASE is not in the repository (force-push), list HEAD's files."),
    ] = False,
    null: Annotated[
        bool, typer.Option("--null", "-0", help="Separate paths with NUL (for xargs -0).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    github_output: Annotated[
        Path | None,
        typer.Option(help="Also append count=N and any=true|false to this file ($GITHUB_OUTPUT)."),
    ] = None,
) -> None:
    """Print image files added, modified or renamed between BASE and HEAD."""
    try:
        paths = changed_images(
            base,
            head,
            repo=repo,
            extensions=ext or DEFAULT_IMAGE_EXTENSIONS,
            merge_base=merge_base,
            missing_base_falls_back=missing_base_falls_back,
        )
    except GitError as exc:
        typer.echo(f"error: {exc}", err=True)
        typer.echo("hint: check out with fetch-depth: 0 so both commits exist.", err=True)
        raise typer.Exit(2) from exc

    write_paths(paths, null=null, as_json=as_json)
    typer.echo(f"{len(paths)} changed image(s)", err=True)
    if github_output is not None:
        write_github_output(github_output, paths)


@app.command("report")
def report_cmd(
    keys: Annotated[
        list[str] | None, typer.Argument(help="S3 keys (as printed by `eventlens upload`).")
    ] = None,
    env: Annotated[str, typer.Option("--env", help="Environment (beta|prod).")] = "beta",
    backend: Annotated[
        str, typer.Option(help="Results backend (dynamodb or sqlite).")
    ] = "dynamodb",
    table: Annotated[str | None, typer.Option(help="Results table; default <env>_results.")] = None,
    keys_file: Annotated[
        Path | None, typer.Option(help="Read more keys from this file, one per line.")
    ] = None,
    region: Annotated[str | None, typer.Option(envvar="AWS_REGION", help="AWS region.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(envvar="AWS_ENDPOINT_URL", help="AWS endpoint override.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Report heading.")] = None,
    footer: Annotated[str | None, typer.Option(help="Markdown appended below the table.")] = None,
    max_labels: Annotated[int, typer.Option(min=1, help="Labels shown per image.")] = 5,
    out: Annotated[
        Path | None, typer.Option(help="Write the markdown here instead of stdout.")
    ] = None,
) -> None:
    """Render a markdown table of labels per image (marker comment first)."""
    all_keys = list(keys or [])
    if keys_file is not None:
        all_keys += [line for line in keys_file.read_text(encoding="utf-8").splitlines() if line]
    all_keys = list(dict.fromkeys(all_keys))  # de-duplicate, keep order
    reader = reader_factory(backend, table or f"{env}_results", region, endpoint_url)
    markdown = render_report(
        read_all(reader, all_keys),
        environment=env,
        title=title,
        max_labels=max_labels,
        footer=footer,
    )
    if out is None:
        sys.stdout.write(markdown)
    else:
        out.write_text(markdown, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
