"""Edits to the WordNet hierarchy that make its parents useful labels (chosen on the
evaluation set's tuning part, ``bench/eval_labels.py``).

WordNet's chains are correct but often unhelpful as labels ("Vertebrate", "Dwelling",
"Defensive Structure") and miss the broad labels people search for ("Building", "Plant",
"Text", "Outdoors"). Renamed parents keep their place in the chain; hidden ones are dropped
(their extra parents stay); extra parents are added after a label wherever it occurs in a chain.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    "Envelope": _TEXT,
    "Slide Rule": _TEXT,  # ImageNet's slide rules are close-ups of printed scales
    "Vessel": ("Outdoors",),
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


#: Classes whose WordNet parents mislead as labels, with the parents they get instead: ImageNet's
#: "cup" is a teacup, not the punch WordNet files it under; a menu is text, not food; hay,
#: rapeseed, corn and tree seeds are plants in these photos, not the "Fruit" people eat.
REPARENTED: dict[str, tuple[str, ...]] = {
    "Tea Cup": ("Cup", "Drinking Vessel", "Tableware", "Container"),
    "Menu": _TEXT,
    "Hay": ("Grass", *_PLANT),
    "Rapeseed": ("Flower", *_PLANT),
    "Corn": ("Grain", *_PLANT),
    "Ear of Corn": ("Grain", *_PLANT),
    "Acorn": ("Seed", *_PLANT),
    "Horse Chestnut Seed": ("Seed", *_PLANT),
    "Rose Hip": _PLANT,
    # WordNet's industrial plant: a sawmill is no "Plant" (the botanical label shares the name)
    "Sawmill": ("Factory", "Building"),
}

#: Classes whose photos are taken outdoors (landscapes get "Outdoors" through "Landscape", boats
#: and ships through "Vessel"): outdoor structures, street furniture, farm and snow vehicles,
#: aircraft, wild plants and fungi. "Outdoors" sums them, so a scene ImageNet has no class for
#: (a forest path, a beach) can still add up to it. Animals, cars and everyday objects are left
#: out: their photos are as often indoors.
OUTDOOR_CLASSES = frozenset(
    {
        # bridges, waterside and farm structures
        "Suspension Bridge", "Through Arch Bridge", "Viaduct", "Dam", "Breakwater", "Pier",
        "Dock", "Boathouse", "Barn", "Apiary", "Picket Fence", "Split-Rail Fence", "Stone Wall",
        "Park Bench", "Patio", "Swing", "Maypole", "Flagpole", "Birdhouse", "Sundial",
        # buildings seen from outside
        "Castle", "Palace", "Monastery", "Church", "Mosque", "Stupa", "Triumphal Arch",
        "Obelisk", "Megalith", "Totem Pole", "Water Tower", "Lighthouse", "Bell Tower",
        "Fountain", "Cliff Dwelling", "Yurt", "Tent", "Thatched Roof", "Tile Roof",
        # the street
        "Street Sign", "Traffic Light", "Parking Meter", "Mailbox", "Manhole Cover",
        # machines and vehicles that work outside
        "Solar Thermal Collector", "Radio Telescope", "Drilling Rig", "Construction Crane",
        "Snowplow", "Snowmobile", "Dog Sled", "Bobsleigh", "Lawn Mower", "Combine Harvester",
        "Tractor", "Farm Plow", "Horse-Drawn Vehicle", "Bullock Cart", "Airship", "Balloon",
        "Parachute",
        # aircraft, photographed against the sky (a wing seen from the cabin window)
        "Airplane", "Military Aircraft", "Airplane Wing", "Space Shuttle",
        # wild plants and fungi
        "Hay", "Rapeseed", "Yellow Lady's Slipper", "Rose Hip", "Acorn", "Horse Chestnut Seed",
        "Agaric", "Bolete", "Coral Fungus", "Gyromitra", "Stinkhorn Mushroom",
        "Earth Star Fungus", "Hen of the Woods Mushroom",
    }
)  # fmt: skip

#: Broad scene labels that sum many unrelated classes: a good guess, never a certainty, so their
#: confidence is capped below 80 like a fine-grained label's. ImageNet has no class for a page, a
#: sign or a screenful of text, only for things that carry text (menus, crosswords, book jackets,
#: street signs), so "Text" is calibrated like the outdoor scene labels.
SCENE_LABELS = frozenset({"Outdoors", "Nature", "Text"})


def edit_chain(
    chain: list[str], extra_parents: Mapping[str, tuple[str, ...]] = EXTRA_PARENTS
) -> list[str]:
    """A class's [name, parents ...] with the edits applied; the class name itself is never
    hidden, and no name appears twice. ``extra_parents``: ``EXTRA_PARENTS`` or a variant to
    try (``bench/label_levers.py``)."""
    if chain[0] in REPARENTED:
        chain = [chain[0], *REPARENTED[chain[0]]]
    if chain[0] in OUTDOOR_CLASSES:
        chain = [*chain, "Outdoors"]
    out: list[str] = []
    for i, name in enumerate(chain):
        name = RENAMED.get(name, name)
        shown = () if i > 0 and name in HIDDEN else (name,)
        for label in (*shown, *extra_parents.get(name, ())):
            if label not in out:
                out.append(label)
    return out
