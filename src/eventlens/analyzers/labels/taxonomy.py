"""ImageNet-1k classes and their WordNet parents as Rekognition-style labels.

Building the edited taxonomy costs ~40 ms of Python; a Lambda package carries it built
(``keep_taxonomy``, at package build: ``taxonomy-<digest>.json`` in the model cache), which a
cold start reads instead when the digest of its sources (the class list, ``label_edits``, this
module) is still the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from eventlens.analyzers.labels import label_edits
from eventlens.analyzers.labels.label_edits import EXTRA_PARENTS, SCENE_LABELS, edit_chain

log = logging.getLogger("eventlens.labels")
#: The kept file's layout: a change here makes every kept file stale.
KEPT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Taxonomy:
    #: Every label: the 1000 class names (duplicates merged) and all their parents, after
    #: the edits in ``label_edits`` (renamed, hidden and added parents).
    names: tuple[str, ...]
    #: Each label's own parents, nearest first.
    parents: tuple[tuple[str, ...], ...]
    #: ``membership[c, l]`` is 1 when class ``c`` is label ``l`` or lies under it.
    membership: np.ndarray[Any, np.dtype[np.float32]]
    #: How many ImageNet classes each label sums: 1 for a fine-grained class (a species, a
    #: model) and for a parent with a single class under it, more for broader labels.
    class_counts: np.ndarray[Any, np.dtype[np.int64]]
    #: Broad scene labels (``label_edits.SCENE_LABELS``), capped like fine-grained ones.
    scene: np.ndarray[Any, np.dtype[np.bool_]]
    #: The classes under each label, label after label, and where each label's run starts:
    #: ``membership`` as sparse columns (1000 x 1713 with 4,451 ones), for ``label_sums``.
    classes_by_label: np.ndarray[Any, np.dtype[np.intp]]
    label_starts: np.ndarray[Any, np.dtype[np.intp]]

    def label_sums(self, probabilities: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Each label's summed class probability, per row of ``probabilities`` [n, 1000]:
        ``probabilities @ membership`` without the dense product, which cost more per batch
        than a quarter of the classifier's forward pass."""
        return np.add.reduceat(probabilities[:, self.classes_by_label], self.label_starts, axis=1)

    def parents_of(self, name: str) -> tuple[str, ...] | None:
        """A label's parents, or None when the taxonomy has no label of that name."""
        return self.parents[self.names.index(name)] if name in self.names else None


def _build(
    classes: list[dict[str, Any]],
    edited: bool = True,
    scene_labels: frozenset[str] = SCENE_LABELS,
    extra_parents: Mapping[str, tuple[str, ...]] = EXTRA_PARENTS,
) -> Taxonomy:
    chains = [[cls["name"], *cls["parents"]] for cls in classes]
    if edited:
        chains = [edit_chain(chain, extra_parents) for chain in chains]
    # A label's parents are the labels above it in EVERY chain it occurs in (nearest first, as
    # in its first chain): a label that several chains share, or one the edits add ("Outdoors",
    # "Text", "Plant"), does not inherit the rest of whichever chain it happens to sit in.
    parents: dict[str, tuple[str, ...]] = {}
    for chain in chains:
        for i, name in enumerate(chain):
            tail = tuple(chain[i + 1 :])
            if name in parents:
                parents[name] = tuple(p for p in parents[name] if p in tail)
            else:
                parents[name] = tail
    names = tuple(parents)
    index = {name: i for i, name in enumerate(names)}
    membership = np.zeros((len(classes), len(names)), dtype=np.float32)
    for c, chain in enumerate(chains):
        for name in chain:
            membership[c, index[name]] = 1.0
    counts = membership.sum(axis=0).astype(np.int64)
    scene = np.array([edited and n in scene_labels for n in names], dtype=np.bool_)
    labels, classes_by_label = np.nonzero(membership.T)  # label-major, every label has a class
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    return Taxonomy(
        names,
        tuple(parents[n] for n in names),
        membership,
        counts,
        scene,
        classes_by_label,
        starts,
    )


def _classes() -> list[dict[str, Any]]:
    text = (resources.files("eventlens") / "data" / "imagenet_taxonomy.json").read_text("utf-8")
    classes: list[dict[str, Any]] = json.loads(text)["classes"]
    if len(classes) != 1000:
        raise ValueError(f"taxonomy has {len(classes)} classes, expected 1000")
    return classes


@lru_cache(maxsize=2)
def load_taxonomy(edited: bool = True) -> Taxonomy:
    """The bundled taxonomy (``eventlens/data/imagenet_taxonomy.json``), in model output order;
    ``edited``: with the ``label_edits`` applied (WordNet's own chains otherwise). The edited
    one is read from the model cache when a package build kept it there (``keep_taxonomy``)."""
    if edited:
        kept = _kept()
        if kept is not None:
            return kept
    return _build(_classes(), edited)


def _sources_digest() -> str:
    """Names what the edited taxonomy is built from: the class list and the code."""
    digest = hashlib.sha256(f"format {KEPT_FORMAT}\0".encode())
    digest.update((resources.files("eventlens") / "data" / "imagenet_taxonomy.json").read_bytes())
    for source in (label_edits.__file__, __file__):
        digest.update(b"\0" + Path(source).read_bytes())
    return digest.hexdigest()[:16]


def kept_file(folder: Path | None = None) -> Path:
    """Where the built edited taxonomy is kept: in ``folder``, else the model cache."""
    from eventlens.convert.cache import cache_dir

    return (folder or cache_dir()) / f"taxonomy-{_sources_digest()}.json"


def keep_taxonomy(folder: Path | None = None) -> Path:
    """Write the edited taxonomy, built, into ``folder`` (else the model cache); returns the
    file. ``_kept`` reads it back field for field."""
    taxonomy = _build(_classes(), True)
    path = kept_file(folder)
    kept = {
        "names": taxonomy.names,
        "parents": taxonomy.parents,
        "classes_by_label": taxonomy.classes_by_label.tolist(),
        "label_starts": taxonomy.label_starts.tolist(),
        "scene": np.flatnonzero(taxonomy.scene).tolist(),
        "classes": int(taxonomy.membership.shape[0]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept, separators=(",", ":")), "utf-8")
    return path


def _kept() -> Taxonomy | None:
    """The kept edited taxonomy, or None (none kept, made from other sources, unreadable)."""
    try:
        data = json.loads(kept_file().read_text("utf-8"))
    except (OSError, ValueError) as error:
        log.debug("taxonomy: none kept (%s); building it", error)
        return None
    names = tuple(data["names"])
    classes_by_label = np.asarray(data["classes_by_label"], dtype=np.intp)
    label_starts = np.asarray(data["label_starts"], dtype=np.intp)
    counts = np.diff(np.append(label_starts, classes_by_label.size)).astype(np.int64)
    membership = np.zeros((data["classes"], len(names)), dtype=np.float32)
    membership[classes_by_label, np.repeat(np.arange(len(names)), counts)] = 1.0
    scene = np.zeros(len(names), dtype=np.bool_)
    scene[data["scene"]] = True
    parents = tuple(tuple(p) for p in data["parents"])
    return Taxonomy(names, parents, membership, counts, scene, classes_by_label, label_starts)


def variant_taxonomy(
    scene_labels: frozenset[str], extra_parents: Mapping[str, tuple[str, ...]]
) -> Taxonomy:
    """The edited taxonomy with other scene labels and extra parents: a lever to measure
    before it becomes an edit (``bench/label_levers.py``)."""
    return _build(_classes(), True, scene_labels, extra_parents)
