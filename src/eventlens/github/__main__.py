"""``python -m eventlens.github changed-images ...`` with only the standard library.

The workflows call this before installing the package (``PYTHONPATH=src``) so a pull request
without images finishes in seconds. It mirrors ``eventlens github changed-images``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eventlens.github.changed_images import (
    DEFAULT_IMAGE_EXTENSIONS,
    GitError,
    changed_images,
    write_github_output,
    write_paths,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventlens.github")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("changed-images", help="image files added/modified/renamed")
    p.add_argument("--base", default=None)
    p.add_argument("--head", required=True)
    p.add_argument("--repo", type=Path, default=Path("."))
    p.add_argument("--ext", action="append", default=None)
    p.add_argument("--merge-base", action="store_true")
    p.add_argument("--missing-base-falls-back", action="store_true")
    p.add_argument("--null", "-0", action="store_true")
    p.add_argument("--json", dest="as_json", action="store_true")
    p.add_argument("--github-output", type=Path, default=None)
    args = parser.parse_args(argv)

    try:
        paths = changed_images(
            args.base,
            args.head,
            repo=args.repo,
            extensions=args.ext or DEFAULT_IMAGE_EXTENSIONS,
            merge_base=args.merge_base,
            missing_base_falls_back=args.missing_base_falls_back,
        )
    except GitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("hint: check out with fetch-depth: 0 so both commits exist.", file=sys.stderr)
        return 2
    write_paths(paths, null=args.null, as_json=args.as_json)
    print(f"{len(paths)} changed image(s)", file=sys.stderr)
    if args.github_output is not None:
        write_github_output(args.github_output, paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
