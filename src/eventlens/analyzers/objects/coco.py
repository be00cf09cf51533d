"""COCO's 80 object classes as Rekognition-named labels with ``Instances``.

Names follow Rekognition's (``Car``, ``Dog``, ``Cup``, ``Mobile Phone``); where the classifier's
taxonomy has a label of the same name the two merge into one (``analyzers.labels.merge``).
The parents listed here are for labels only the detector gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlens.analyzers.objects.ssd import Detection

_VEHICLE = ("Vehicle", "Transportation")
_ANIMAL = ("Mammal", "Animal")
_WILD = ("Wildlife", "Mammal", "Animal")
_SPORT = ("Sport",)
_FRUIT = ("Fruit", "Food", "Produce")
_VEGETABLE = ("Vegetable", "Food", "Produce")
_APPLIANCE = ("Appliance", "Electrical Device")
_FURNITURE = ("Furniture",)
_ELECTRONICS = ("Electronics",)
_CUTLERY = ("Cutlery", "Tableware")

#: (COCO name, Rekognition name, parents), in the network's class order
CLASSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("person", "Person", ()),
    ("bicycle", "Bicycle", _VEHICLE),
    ("car", "Car", _VEHICLE),
    ("motorcycle", "Motorcycle", _VEHICLE),
    ("airplane", "Airplane", ("Aircraft", *_VEHICLE)),
    ("bus", "Bus", _VEHICLE),
    ("train", "Train", _VEHICLE),
    ("truck", "Truck", _VEHICLE),
    ("boat", "Boat", ("Watercraft", *_VEHICLE)),
    ("traffic light", "Traffic Light", ("Light",)),
    ("fire hydrant", "Fire Hydrant", ("Hydrant",)),
    ("stop sign", "Stop Sign", ("Road Sign", "Sign", "Symbol")),
    ("parking meter", "Parking Meter", ()),
    ("bench", "Bench", _FURNITURE),
    ("bird", "Bird", ("Animal",)),
    ("cat", "Cat", ("Pet", *_ANIMAL)),
    ("dog", "Dog", ("Pet", "Canine", *_ANIMAL)),
    ("horse", "Horse", _ANIMAL),
    ("sheep", "Sheep", ("Livestock", *_ANIMAL)),
    ("cow", "Cow", ("Cattle", "Livestock", *_ANIMAL)),
    ("elephant", "Elephant", _WILD),
    ("bear", "Bear", _WILD),
    ("zebra", "Zebra", _WILD),
    ("giraffe", "Giraffe", _WILD),
    ("backpack", "Backpack", ("Bag",)),
    ("umbrella", "Umbrella", ()),
    ("handbag", "Handbag", ("Bag", "Accessories")),
    ("tie", "Tie", ("Accessories", "Clothing")),
    ("suitcase", "Suitcase", ("Baggage",)),
    ("frisbee", "Frisbee", ("Toy",)),
    ("skis", "Skis", _SPORT),
    ("snowboard", "Snowboard", _SPORT),
    ("sports ball", "Ball", _SPORT),
    ("kite", "Kite", ("Toy",)),
    ("baseball bat", "Baseball Bat", _SPORT),
    ("baseball glove", "Baseball Glove", _SPORT),
    ("skateboard", "Skateboard", _SPORT),
    ("surfboard", "Surfboard", _SPORT),
    ("tennis racket", "Racket", _SPORT),
    ("bottle", "Bottle", ()),
    ("wine glass", "Wine Glass", ("Glass",)),
    ("cup", "Cup", ()),
    ("fork", "Fork", _CUTLERY),
    ("knife", "Knife", _CUTLERY),
    ("spoon", "Spoon", _CUTLERY),
    ("bowl", "Bowl", ("Tableware",)),
    ("banana", "Banana", _FRUIT),
    ("apple", "Apple", _FRUIT),
    ("sandwich", "Sandwich", ("Food",)),
    ("orange", "Orange", ("Citrus Fruit", *_FRUIT)),
    ("broccoli", "Broccoli", _VEGETABLE),
    ("carrot", "Carrot", _VEGETABLE),
    ("hot dog", "Hot Dog", ("Food",)),
    ("pizza", "Pizza", ("Food",)),
    ("donut", "Donut", ("Sweets", "Food")),
    ("cake", "Cake", ("Dessert", "Food")),
    ("chair", "Chair", _FURNITURE),
    ("couch", "Couch", _FURNITURE),
    ("potted plant", "Potted Plant", ("Plant",)),
    ("bed", "Bed", _FURNITURE),
    ("dining table", "Dining Table", ("Table", *_FURNITURE)),
    ("toilet", "Toilet", ()),
    ("tv", "Monitor", ("Screen", *_ELECTRONICS)),
    ("laptop", "Laptop", ("Computer", "Pc", *_ELECTRONICS)),
    ("mouse", "Computer Mouse", ("Computer Hardware", "Hardware", *_ELECTRONICS)),
    ("remote", "Remote Control", _ELECTRONICS),
    ("keyboard", "Computer Keyboard", ("Computer Hardware", "Hardware", *_ELECTRONICS)),
    ("cell phone", "Mobile Phone", ("Phone", *_ELECTRONICS)),
    ("microwave", "Microwave", _APPLIANCE),
    ("oven", "Oven", _APPLIANCE),
    ("toaster", "Toaster", _APPLIANCE),
    ("sink", "Sink", ()),
    ("refrigerator", "Refrigerator", _APPLIANCE),
    ("book", "Book", ("Publication",)),
    ("clock", "Clock", ()),
    ("vase", "Vase", ("Pottery", "Jar")),
    ("scissors", "Scissors", ()),
    ("teddy bear", "Teddy Bear", ("Toy",)),
    ("hair drier", "Hair Dryer", _APPLIANCE),
    ("toothbrush", "Toothbrush", ()),
)
PERSON = 0


def instance(detection: Detection, confidence: float) -> dict[str, Any]:
    """A ``Instances`` entry: the box as ratios of the image, and its confidence."""
    left, top, right, bottom = detection.box
    box = {
        "Width": round(right - left, 6),
        "Height": round(bottom - top, 6),
        "Left": round(left, 6),
        "Top": round(top, 6),
    }
    return {"BoundingBox": box, "Confidence": round(confidence, 4)}


def grouped(
    detections: list[Detection],
    confidence: Callable[[Detection], float],
    min_confidence: float,
    skip: frozenset[int],
) -> dict[int, list[dict[str, Any]]]:
    """Each class's instances (best first) at ``min_confidence`` or more; ``confidence`` maps a
    detection to its 0..100 confidence; classes in ``skip`` are left out."""
    out: dict[int, list[dict[str, Any]]] = {}
    for detection in sorted(detections, key=lambda d: -d.score):
        if detection.class_id in skip:
            continue
        value = confidence(detection)
        if value >= min_confidence:
            out.setdefault(detection.class_id, []).append(instance(detection, value))
    return out
