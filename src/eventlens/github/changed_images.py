"""List the image files a push or pull request added, modified or renamed.

Uses ``git diff --name-only --diff-filter=AMR -z`` so deleted files are ignored, renames report
the new path, and names with spaces, newlines or non-ASCII characters come through verbatim
(``-z`` disables git's path quoting).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from eventlens.imaging import IMAGE_EXTENSIONS

# The same set the analyzers accept (jpg, jpeg, png, webp, gif, bmp, tif, tiff).
DEFAULT_IMAGE_EXTENSIONS: frozenset[str] = frozenset(IMAGE_EXTENSIONS)

_NULL_SHA = re.compile(r"^0+$")

GitRunner = Callable[[Sequence[str], Path], bytes]


class GitError(RuntimeError):
    """git failed (unknown revision, not a repository, shallow clone missing the base...)."""


def run_git(args: Sequence[str], cwd: Path) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args)} failed ({proc.returncode}): {stderr}")
    return proc.stdout


def normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    out = set()
    for ext in extensions:
        ext = ext.strip().lower()
        if not ext:
            continue
        out.add(ext if ext.startswith(".") else f".{ext}")
    return frozenset(out)


def is_image_path(path: str, extensions: Iterable[str] = DEFAULT_IMAGE_EXTENSIONS) -> bool:
    """True when ``path`` ends in one of ``extensions`` (case-insensitive, hidden names too)."""
    suffix = PurePosixPath(path).suffix.lower()
    return bool(suffix) and suffix in normalise_extensions(extensions)


def split_nul(output: bytes) -> list[str]:
    """Split ``git ... -z`` output into paths, decoding UTF-8 (surrogateescape for odd bytes)."""
    return [p.decode("utf-8", "surrogateescape") for p in output.split(b"\0") if p]


def is_null_sha(sha: str | None) -> bool:
    return sha is None or sha.strip() == "" or bool(_NULL_SHA.match(sha.strip()))


def changed_images(
    base: str | None,
    head: str,
    *,
    repo: Path | str = ".",
    extensions: Iterable[str] = DEFAULT_IMAGE_EXTENSIONS,
    git: GitRunner = run_git,
) -> list[str]:
    """Image paths (relative to the repository root) added/modified/renamed from base to head.

    ``base`` may be missing or all zeros (the ``before`` of a branch's first push); then the
    files of the ``head`` commit itself are listed. Output is sorted and de-duplicated.
    """
    cwd = Path(repo)
    if is_null_sha(base):
        args = [
            "diff-tree",
            "-r",
            "--root",
            "--no-commit-id",
            "--name-only",
            "--diff-filter=AMR",
            "-z",
            head,
        ]
    else:
        assert base is not None
        args = ["diff", "--name-only", "--diff-filter=AMR", "-z", base, head]
    paths = split_nul(git(args, cwd))
    exts = normalise_extensions(extensions)
    return sorted({p for p in paths if is_image_path(p, exts)})
