"""Edits to the WordNet hierarchy that make its parents useful labels (chosen on the
evaluation set's tuning part, ``bench/eval_labels.py``).

WordNet's chains are correct but often unhelpful as labels ("Vertebrate", "Dwelling",
"Defensive Structure") and miss the broad labels people search for ("Building", "Plant",
"Text", "Outdoors"). Renamed parents keep their place in the chain; hidden ones are dropped
(their extra parents stay); extra parents are added after a label wherever it occurs in a chain.
"""

from __future__ import annotations

RENAMED = {
    "Geological Formation": "Landscape",
    "Flora": "Plant",
}
HIDDEN = frozenset(
    {
        "Vertebrate",
        "Dwelling",
        "Housing",
        "Residence",
        "Religious Residence",
        "Defensive Structure",
        "Rescue Equipment",
        "Communication",
        "Medium",
        "Print Media",
        "Press",
        "Shelter",
        "Memorial",
        "Natural Depression",
        "Mount",
        "Landing",
        "Fortification",
        "House",  # the parent of palaces and castles (which get Building instead)
    }
)
_BUILDING = ("Building", "Architecture")
_TEXT = ("Text",)
_PLANT = ("Plant",)
_WATERSIDE = ("Water", "Outdoors", "Nature")
_PATTERN = ("Pattern",)
EXTRA_PARENTS: dict[str, tuple[str, ...]] = {
    # places and structures
    "House": _BUILDING,
    "Castle": _BUILDING,
    "Shop": _BUILDING,
    "Place of Worship": ("Architecture",),
    "Bell Tower": ("Tower", *_BUILDING),
    "Tower": _BUILDING,
    "Triumphal Arch": ("Architecture",),
    "Greenhouse": _PLANT,
    "Landscape": ("Nature", "Outdoors"),
    "Shore": _WATERSIDE,
    "Boat": ("Water",),
    "Pier": ("Water", "Outdoors"),
    "Dock": ("Water", "Outdoors"),
    "Breakwater": ("Water", "Outdoors"),
    "Boathouse": ("Water", "Outdoors"),
    # plants
    "Plant Pot": ("Potted Plant", *_PLANT),
    "Corn": _PLANT,
    "Ear of Corn": _PLANT,
    "Rapeseed": _PLANT,
    "Cardoon": _PLANT,
    "Hay": ("Grass", *_PLANT),
    "Acorn": _PLANT,
    "Rose Hip": _PLANT,
    # things that are mostly text
    "Menu": _TEXT,
    "Crossword": _TEXT,
    "Dust Jacket": ("Book", *_TEXT),
    "Website": _TEXT,
    "Brass Memorial Plaque": _TEXT,
    "Comic Book": ("Book", *_TEXT),
    "Street Sign": _TEXT,
    "Scoreboard": _TEXT,
    # surfaces that are mostly a repeated pattern (what textures and close-ups resemble)
    **dict.fromkeys(
        (
            "Honeycomb",
            "Maze",
            "Window Screen",
            "Mosquito Net",
            "Fire Screen",
            "Chain-Link Fence",
            "Chain Mail",
            "Doormat",
            "Prayer Rug",
            "Dishcloth",
            "Wool",
            "Velvet Fabric",
            "Quilt",
            "Shower Curtain",
            "Tile Roof",
        ),
        _PATTERN,
    ),
}


def edit_chain(chain: list[str]) -> list[str]:
    """A class's [name, parents ...] with the edits applied; the class name itself is never
    hidden, and no name appears twice."""
    out: list[str] = []
    for i, name in enumerate(chain):
        name = RENAMED.get(name, name)
        shown = () if i > 0 and name in HIDDEN else (name,)
        for label in (*shown, *EXTRA_PARENTS.get(name, ())):
            if label not in out:
                out.append(label)
    return out
