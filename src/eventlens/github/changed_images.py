"""List the image files a push or pull request added, modified or renamed.

Uses ``git diff --name-only --diff-filter=AMR -z`` so deleted files are ignored, renames report
the new path, and names with spaces, newlines or non-ASCII characters come through verbatim
(``-z`` disables git's path quoting).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from eventlens.errors import Permanent

# The same set as eventlens.imaging.IMAGE_EXTENSIONS (a test keeps them equal). Not imported
# from there so that this module needs only the standard library: the workflows run it with
# PYTHONPATH=src before installing the package, to skip the install when no image changed.
DEFAULT_IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
)

_NULL_SHA = re.compile(r"^0+$")

GitRunner = Callable[[Sequence[str], Path], bytes]


class GitError(Permanent, RuntimeError):
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


def commit_exists(rev: str, *, repo: Path | str = ".", git: GitRunner = run_git) -> bool:
    try:
        git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], Path(repo))
    except GitError:
        return False
    return True


def changed_images(
    base: str | None,
    head: str,
    *,
    repo: Path | str = ".",
    extensions: Iterable[str] = DEFAULT_IMAGE_EXTENSIONS,
    merge_base: bool = False,
    missing_base_falls_back: bool = False,
    git: GitRunner = run_git,
) -> list[str]:
    """Image paths (relative to the repository root) added/modified/renamed from base to head.

    ``base`` may be missing or all zeros (the ``before`` of a branch's first push); then the
    files of the ``head`` commit itself are listed, as they are when ``base`` is not in the
    repository (a force-push) and ``missing_base_falls_back`` is set. With ``merge_base``
    the diff starts at the merge base of the two (``base...head``, what a pull request
    shows), so changes that landed on the base branch meanwhile are not included.
    Output is sorted and de-duplicated.
    """
    cwd = Path(repo)
    if (
        not is_null_sha(base)
        and missing_base_falls_back
        and base is not None
        and not commit_exists(base, repo=cwd, git=git)
    ):
        base = None
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
        revs = [f"{base}...{head}"] if merge_base else [base, head]
        args = ["diff", "--name-only", "--diff-filter=AMR", "-z", *revs]
    paths = split_nul(git(args, cwd))
    exts = normalise_extensions(extensions)
    return sorted({p for p in paths if is_image_path(p, exts)})


def write_paths(paths: list[str], *, null: bool, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(paths, ensure_ascii=False) + "\n")
    elif null:
        sys.stdout.write("".join(f"{p}\0" for p in paths))
    else:
        sys.stdout.writelines(f"{p}\n" for p in paths)
    sys.stdout.flush()


def write_github_output(path: Path, paths: list[str]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"count={len(paths)}\nany={'true' if paths else 'false'}\n")
