"""Folders: a record's path below its environment's prefix (``holiday/coffee.png`` rather than
``coffee.png``), shortened for cards, and the folders of a listing to browse into."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventlens.results.base import ResultStore
from eventlens.routing import DEFAULT_ROUTES

SHORT = 34  # characters a card's path may take before its leading folders give way to "…/"


def default_prefixes(environments: Sequence[str]) -> dict[str, str]:
    """The default routes' prefixes of these environments ("" for any other)."""
    known = {route.environment: route.prefix for route in DEFAULT_ROUTES}
    return {env: known.get(env, "") for env in environments}


def relative_path(key: str, env_prefix: str) -> str:
    """``key`` below ``env_prefix`` (the whole key when it is not below it)."""
    return key[len(env_prefix) :] if env_prefix and key.startswith(env_prefix) else key


def short_path(path: str, limit: int = SHORT) -> str:
    """The path, or as many trailing parts as fit after "…/" (the file name always stays)."""
    if len(path) <= limit or "/" not in path:
        return path
    parts = path.split("/")
    kept = [parts.pop()]
    while parts and len("…/" + "/".join([parts[-1], *kept])) <= limit:
        kept.insert(0, parts.pop())
    return "…/" + "/".join(kept)


@dataclass(frozen=True, slots=True)
class Folder:
    name: str
    prefix: str  # the key prefix that lists it
    records: int = 0


def breadcrumbs(env_prefix: str, prefix: str) -> list[Folder]:
    """The folders from the environment's top to ``prefix``: each a link up."""
    crumbs = [Folder("top", env_prefix)]
    below = relative_path(prefix, env_prefix)
    current = env_prefix
    for part in filter(None, below.split("/")):
        current += part + "/"
        crumbs.append(Folder(part, current))
    return crumbs


def subfolders(store: ResultStore, env: str, prefix: str) -> list[Folder]:
    """The folders directly below ``prefix`` with how many records each holds (any depth)."""
    counts: Counter[str] = Counter()
    for key in store.live_keys(env, prefix=prefix):
        rest = key[len(prefix) :]
        if "/" in rest:
            counts[rest.split("/", 1)[0]] += 1
    return [Folder(name, f"{prefix}{name}/", n) for name, n in sorted(counts.items())]


def folder_of(key: str) -> str:
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


def env_prefix_of(prefixes: Mapping[str, str], env: str) -> str:
    return prefixes.get(env, "")
