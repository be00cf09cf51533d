"""Scene-label levers for the default label model, measured on the evaluation set's TUNING part.

    .venv/bin/python bench/label_levers.py

Each row is the default (``lite0-people``) with one set of broad scene labels: labels that sum
many ImageNet classes, get ``100 x mass ^ SCENE_POWER`` and stay below 80 (``SCENE_CAP``), as
"Outdoors" and "Nature" do. A lever is worth adopting when it labels photos that had no label
>= 55 and the label it adds is an accepted one nearly always (last column), without raising
the confident-wrong share. Each row runs the same classifier and detectors on the same photos
(``LabelAnalyzer(taxonomy=...)``), so the rows differ in labels alone. Never runs the held-out
part.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_labels import Photo, score
from bench.eval_set.collect import collect, photo_path
from eventlens.analyzers.labels.analyzer import LabelAnalyzer
from eventlens.analyzers.labels.label_edits import EXTRA_PARENTS, SCENE_LABELS
from eventlens.analyzers.labels.taxonomy import Taxonomy, variant_taxonomy
from eventlens.imaging import ImageInput

#: Candidate "Indoors": furniture, home appliances, rooms and the things that stand in them.
INDOOR_CLASSES = (
    "Barber Chair", "Bassinet", "Bookcase", "Chiffonier", "China Cabinet", "Cradle",
    "Infant Bed", "Desk", "Dining Table", "Entertainment Center", "Filing Cabinet",
    "Folding Chair", "Four-Poster Bed", "Medicine Cabinet", "Pool Table", "Rocking Chair",
    "Couch", "Table Lamp", "Throne", "Toilet Seat", "Wardrobe", "Dishwasher",
    "Espresso Machine", "Clothes Iron", "Microwave Oven", "Refrigerator", "Sewing Machine",
    "Toaster", "Vacuum Cleaner", "Waffle Iron", "Washing Machine", "Library", "Altar",
    "Pipe Organ", "Grand Piano", "Upright Piano", "Bathtub", "Pillow", "Lampshade",
    "Desktop Computer", "CRT Monitor", "Monitor", "Television", "Computer Keyboard",
    "Computer Mouse", "Printer", "Photocopier", "Space Heater", "Radiator", "Stove",
    "Plate Rack", "Wall Clock", "Projector", "Laptop Computer", "Notebook Computer",
    "Hand-Held Computer", "Sink", "Soap Dispenser",
)  # fmt: skip
#: ... and the rooms, shops and soft furnishings that the first try added (they also stand for
#: shop fronts, theatre entrances and textures: the "broad" row).
INDOOR_BROAD_EXTRA = (
    "Home Theater", "Movie Theater", "Restaurant", "Barbershop", "Bookstore", "Candy Store",
    "Tobacco Shop", "Toy Store", "Shoe Store", "Butcher Shop", "Bakery", "Grocery Store",
    "Crossword", "Jigsaw Puzzle", "Prayer Rug", "Doormat", "Fire Screen", "Shower Curtain",
    "Window Shade", "Quilt", "Dishcloth", "Bath Towel", "Paper Towel", "Toilet Paper",
    "Sliding Door", "Ping-Pong Ball", "Candle", "Wine Bottle", "Beer Glass",
)  # fmt: skip
#: Candidate "Monument": statues' plinths, fountains, obelisks, plaques.
MONUMENT_CLASSES = (
    "Pedestal", "Fountain", "Obelisk", "Megalith", "Totem Pole", "Triumphal Arch",
    "Brass Memorial Plaque",
)  # fmt: skip
OUTDOOR_NATURE = frozenset({"Outdoors", "Nature"})


def levers() -> dict[str, tuple[Taxonomy, str | None]]:
    """Row name -> (taxonomy, the label the lever adds or recalibrates)."""
    text_only_before = {
        k: v for k, v in EXTRA_PARENTS.items() if k not in ("Envelope", "Slide Rule")
    }

    def scene(label: str, classes: tuple[str, ...]) -> tuple[Taxonomy, str]:
        taxonomy = variant_taxonomy(
            SCENE_LABELS | {label}, {**EXTRA_PARENTS, **{c: (label,) for c in classes}}
        )
        missing = set(classes) - set(taxonomy.names)
        if missing:
            raise ValueError(f"not ImageNet classes: {sorted(missing)}")
        return taxonomy, label

    return {
        "Outdoors, Nature (round 3)": (variant_taxonomy(OUTDOOR_NATURE, text_only_before), None),
        "+ Text, its 8 classes of round 3": (
            variant_taxonomy(OUTDOOR_NATURE | {"Text"}, text_only_before),
            "Text",
        ),
        "**+ Text, + envelope, slide rule (adopted)**": (
            variant_taxonomy(SCENE_LABELS, EXTRA_PARENTS),
            "Text",
        ),
        "adopted + Food as a scene label": (
            variant_taxonomy(SCENE_LABELS | {"Food"}, EXTRA_PARENTS),
            "Food",
        ),
        f"adopted + Indoors ({len(INDOOR_CLASSES)} classes)": scene("Indoors", INDOOR_CLASSES),
        f"adopted + Indoors, broad ({len(INDOOR_CLASSES + INDOOR_BROAD_EXTRA)} classes)": scene(
            "Indoors", INDOOR_CLASSES + INDOOR_BROAD_EXTRA
        ),
        f"adopted + Monument ({len(MONUMENT_CLASSES)} classes)": scene(
            "Monument", MONUMENT_CLASSES
        ),
    }


def labels_with(taxonomy: Taxonomy, photos: list[Photo]) -> list[list[dict[str, Any]]]:
    analyzer = LabelAnalyzer(10, 55.0, model="lite0-people", taxonomy=taxonomy)
    images = [ImageInput(photo_path(p).read_bytes(), str(p["id"])) for p in photos]
    found = []
    for start in range(0, len(images), 8):
        for result in analyzer.analyze_batch(images[start : start + 8]):
            if isinstance(result, Exception):
                raise result
            found.append(result["Labels"])
    return found


def main() -> None:
    photos: list[Photo] = [p for p in collect() if p["split"] == "tune"]
    print(f"tuning part: {len(photos)} photos, lite0-people; load {os.getloadavg()[0]:.2f}")
    print("| scene labels | top-5 hit | no label @55 | confident (>=80) wrong "
          "| photos with the lever's label >= 55: accepted |")  # fmt: skip
    print("|" + "---|" * 5)
    for name, (taxonomy, added) in levers().items():
        labels = labels_with(taxonomy, photos)
        s = score(photos, labels, 0.0)
        shown = [
            p for p, found in zip(photos, labels, strict=True)
            if any(lab["Name"] == added for lab in found)
        ]  # fmt: skip
        wrong = [str(p["id"]) for p in shown if added not in p["accepted"]]
        share = "-" if added is None else f"{len(shown) - len(wrong)} of {len(shown)}"
        share += f" (not: {', '.join(wrong)})" if wrong else ""
        print(f"| {name} | {s.top5:.0%} | {s.no_label:.0%} | {s.confident_wrong:.0%} | {share} |")


if __name__ == "__main__":
    main()
