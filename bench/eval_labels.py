"""Score the label models on real photos: one command, prints a table per split.

    .venv/bin/python bench/eval_labels.py            # collects the photos on first use
    .venv/bin/python bench/eval_labels.py --details --split tune  # plus each photo's labels
    .venv/bin/python bench/eval_labels.py --fit      # fit the temperature on the tuning part
    .venv/bin/python bench/eval_labels.py --grid     # temperatures x caps on the tuning part
    .venv/bin/python bench/eval_labels.py --split all --by-category  # + the later held-out parts

``--split``: tune, heldout, heldout2, heldout3, heldout4, heldout5 (the later held-out parts),
both (tune + heldout, the default) or all; ``--details`` only for tune.

The photos, their sources, licences and accepted labels are in ``bench/eval_set/manifest.json``
(``bench/eval_set/collect.py`` fetches them from the packages into ``bench/out/eval-photos``).
Columns: top-5 hit rate (an accepted label among the first five), Person recall and precision,
the share of photos without a label at MinConfidence 55, the share with a label >= 80 that is
not accepted (confident wrong), the share of all labels shown (>= 55) that are accepted, the
share of photos with an accepted label at >= 90, the calibration gap (the shown labels' mean
confidence minus their share accepted), and ms per image (decode + models, batches of 8, this
process). ``--reliability`` adds, per part and model, the shown labels by 10-point bins.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_set.collect import collect, photo_path
from eventlens.analyzers.labels.analyzer import (
    DEFAULT_LABEL_MODEL,
    LABEL_MODELS,
    OBJECTS_MIN_SCORE,
    LabelAnalyzer,
    LabelModel,
)
from eventlens.analyzers.labels.calibration import Calibration
from eventlens.analyzers.labels.label_edits import SCENE_LABELS
from eventlens.imaging import ImageInput

#: the same fit on the capped model's scores (t = 0.5), the tried alternative
CALIBRATION_T05 = Calibration(
    {"fine": (0.4, -1.25), "broad": (1.48, -1.3), "scene": (0.64, 0.4)}, 60, "platt-t0.5"
)
MIN_CONFIDENCE = 55.0
CONFIDENT = 80.0
RIGHT_AND_SURE = 90.0
Photo = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scores:
    photos: int
    top5: float
    person_recall: float
    person_precision: float
    no_label: float
    confident_wrong: float
    #: of all labels shown (>= MinConfidence), the share that the photos' accepted lists name
    label_precision: float
    ms_per_image: float
    #: the share of photos with an accepted label at RIGHT_AND_SURE or more
    right_at_90: float = float("nan")
    #: the mean confidence of the shown labels (as a share) minus the share of them that is
    #: right: > 0 overconfident, < 0 underconfident
    calibration_gap: float = float("nan")


def settings() -> dict[str, LabelModel]:
    """What the table compares: the label model as it was before issue 10 (plain WordNet
    parents, no people) and after its first round (t=0.8, no caps), the shipped label models,
    and settings either side of the chosen ones."""
    before = LabelModel("before", 1.0, people=False, label_edits=False)
    first_round = LabelModel("lite0-people t=0.8", 0.8, people=True)
    no_caps = LabelModel("lite0-people t=0.5, no caps", 0.5, people=True)
    scene_mass = replace(
        LABEL_MODELS["lite0-people"], name="lite0-people, scene labels as summed", scene_power=1.0
    )
    two_views = LabelModel("lite0-people two views t=0.7", 0.7, people=True, two_views=True)
    sharp_broad = replace(
        LABEL_MODELS["lite0-people"],
        name="lite0-people, broad labels at t=0.5 (round 4)",
        broad_temperature=None,
    )
    objects = [
        replace(LABEL_MODELS["lite0-objects"], name=f"lite0-objects min score {m:g}",
                objects_min_score=m)
        for m in (0.5, 0.7)
    ] + [
        replace(LABEL_MODELS["lite0-calibrated"], name="lite0-calibrated + objects",
                objects_min_score=OBJECTS_MIN_SCORE),
        replace(LABEL_MODELS["lite0-people"], name="lite0-people calibrated at t=0.5",
                calibration=CALIBRATION_T05),
    ] + [
        replace(LABEL_MODELS["lite0-objects"], name=f"lite0-objects + NanoDet person {m:g}",
                objects_person_min_score=m)
        for m in (0.55, 0.6, 0.7)
    ]  # fmt: skip
    return {
        "lite0, WordNet parents (before #10)": before,
        "lite0-people t=0.8, no caps (first round)": first_round,
        **LABEL_MODELS,
    } | {m.name: m for m in (sharp_broad, scene_mass, no_caps, two_views, *objects)}


def grid(photos: list[Photo]) -> None:
    """The tuning part over temperatures and fine-label caps: how the default was chosen."""
    print("| temperature | cap 79 on labels of <= N classes | top-5 hit | no label @55 "
          "| confident (>=80) wrong |")  # fmt: skip
    print("|" + "---|" * 5)
    for t in (0.4, 0.5, 0.6, 0.7, 0.8):
        for fine in (0, 1, 6, 20, 60, 120):
            cap = 79.0 if fine else 100.0
            model = LabelModel("grid", t, people=True, fine_cap=cap, fine_classes=fine or 1)
            s = score(photos, *run(model, photos))
            print(f"| {t} | {fine or 'no cap'} | {s.top5:.0%} | {s.no_label:.0%} "
                  f"| {s.confident_wrong:.0%} |")  # fmt: skip
    print("\n| scene labels (Outdoors, Nature): 100 x mass ^ p | top-5 hit | no label @55 "
          "| confident (>=80) wrong | photos with a scene label >= 55: accepted |")  # fmt: skip
    print("|" + "---|" * 5)
    for power in (1.0, 0.7, 0.5, 0.4, 0.3, 0.2):
        model = replace(LABEL_MODELS["lite0-people"], name="grid", scene_power=power)
        labels, ms = run(model, photos)
        s = score(photos, labels, ms)
        right, shown = scene_precision(photos, labels)
        print(f"| p = {power:g} | {s.top5:.0%} | {s.no_label:.0%} | {s.confident_wrong:.0%} "
              f"| {right} of {shown} |")  # fmt: skip


def scene_precision(photos: list[Photo], labels: list[list[dict[str, Any]]]) -> tuple[int, int]:
    """How many photos got a broad scene label at MinConfidence, and on how many of them it
    was an accepted label."""
    right = shown = 0
    for photo, found in zip(photos, labels, strict=True):
        scene = {lab["Name"] for lab in found if lab["Name"] in SCENE_LABELS}
        if scene:
            shown += 1
            right += scene <= set(photo["accepted"])
    return right, shown


def run(model: LabelModel, photos: list[Photo]) -> tuple[list[list[dict[str, Any]]], float]:
    analyzer = LabelAnalyzer(max_labels=10, min_confidence=MIN_CONFIDENCE, model=model)
    analyzer.load()
    images = [ImageInput(photo_path(p).read_bytes(), str(p["id"])) for p in photos]
    start = time.perf_counter()
    results = []
    for i in range(0, len(images), 8):
        results += analyzer.analyze_batch(images[i : i + 8])
    elapsed = time.perf_counter() - start
    labels = []
    for photo, result in zip(photos, results, strict=True):
        if isinstance(result, Exception):
            raise RuntimeError(f"{photo['id']}: {result}")
        labels.append(result["Labels"])
    return labels, elapsed * 1000 / max(1, len(photos))


def _accepted(photo: Photo) -> set[str]:
    return {a.casefold() for a in photo["accepted"]}


def confidently_wrong(photo: Photo, found: list[dict[str, Any]]) -> bool:
    """A label at CONFIDENT or more that the photo's accepted labels do not list."""
    accepted = _accepted(photo)
    return any(
        lab["Confidence"] >= CONFIDENT and lab["Name"].casefold() not in accepted for lab in found
    )


def right_and_sure(photo: Photo, found: list[dict[str, Any]]) -> bool:
    """An accepted label at RIGHT_AND_SURE or more."""
    accepted = _accepted(photo)
    return any(
        lab["Confidence"] >= RIGHT_AND_SURE and lab["Name"].casefold() in accepted for lab in found
    )


def score(photos: list[Photo], labels: list[list[dict[str, Any]]], ms: float) -> Scores:
    top5 = sum(
        any(lab["Name"].casefold() in _accepted(p) for lab in found[:5])
        for p, found in zip(photos, labels, strict=True)
    )
    has_person = [any(lab["Name"] == "Person" for lab in found) for found in labels]
    truth = [bool(p["person"]) for p in photos]
    true_pos = sum(h and t for h, t in zip(has_person, truth, strict=True))
    wrong = sum(confidently_wrong(p, found) for p, found in zip(photos, labels, strict=True))
    n = len(photos)
    shown = [(p, lab) for p, found in zip(photos, labels, strict=True) for lab in found]
    right = sum(lab["Name"].casefold() in _accepted(p) for p, lab in shown)
    sure = sum(right_and_sure(p, found) for p, found in zip(photos, labels, strict=True))
    mean_confidence = sum(lab["Confidence"] for _, lab in shown) / 100 / max(1, len(shown))
    return Scores(
        photos=n,
        top5=top5 / n,
        person_recall=true_pos / max(1, sum(truth)),
        person_precision=true_pos / sum(has_person) if any(has_person) else float("nan"),
        no_label=sum(not found for found in labels) / n,
        confident_wrong=wrong / n,
        label_precision=right / len(shown) if shown else float("nan"),
        ms_per_image=ms,
        right_at_90=sure / n,
        calibration_gap=mean_confidence - right / len(shown) if shown else float("nan"),
    )


def reliability(photos: list[Photo], labels: list[list[dict[str, Any]]]) -> list[Bin]:
    """Shown labels by 10-point confidence bins (the last one 90-100): how many, their mean
    confidence and the share of them that is accepted."""
    bins: dict[int, list[tuple[float, bool]]] = {}
    for photo, found in zip(photos, labels, strict=True):
        for lab in found:
            low = min(90, int(lab["Confidence"] // 10 * 10))
            right = lab["Name"].casefold() in _accepted(photo)
            bins.setdefault(low, []).append((lab["Confidence"], right))
    return [
        Bin(low, len(members), sum(c for c, _ in members) / len(members),
            sum(r for _, r in members) / len(members))
        for low, members in sorted(bins.items())
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bin:
    low: int
    labels: int
    mean_confidence: float
    right: float


def print_reliability(title: str, model: str, bins: list[Bin]) -> None:
    print(f"\n{title}: {model}, reliability of the shown labels")
    print("| confidence | labels | mean confidence | right |")
    print("|---|---|---|---|")
    for b in bins:
        print(f"| {b.low}-{b.low + 10 if b.low < 90 else 100} | {b.labels} "
              f"| {b.mean_confidence:.0f} | {b.right:.0%} |")  # fmt: skip


def fit_calibration(photos: list[Photo], model: LabelModel) -> dict[str, tuple[float, float]]:
    """Platt scaling per label group on these photos: every label the classifier scores at
    ``CALIBRATION_FLOOR`` or more (before caps), right when the photo's accepted list names it."""
    from eventlens.analyzers.labels.calibration import GROUPS, Calibration, fit_platt
    from eventlens.analyzers.labels.preprocess import resize_for, to_input

    analyzer = LabelAnalyzer(model=replace(model, objects_min_score=None, people=False))
    session, taxonomy = analyzer.loaded()
    groups = Calibration({}, model.fine_classes, "fit").groups(taxonomy)
    names = [n.casefold() for n in taxonomy.names]
    samples: dict[int, list[tuple[float, bool]]] = {g: [] for g in range(len(GROUPS))}
    for photo in photos:
        image = ImageInput(photo_path(photo).read_bytes(), "x").decode(resize_for(analyzer.crop))
        scores = analyzer.classify(session, taxonomy, [to_input(image.image, analyzer.crop)])
        row = analyzer.uncapped(scores, taxonomy)[0]
        accepted = _accepted(photo)
        for idx in np.flatnonzero(row >= CALIBRATION_FLOOR):
            samples[int(groups[idx])].append((float(row[idx]), names[idx] in accepted))
    fitted = {}
    for g, group in enumerate(GROUPS):
        scores_right = np.array(samples[g], dtype=np.float64).reshape(-1, 2)
        fitted[group] = fit_platt(scores_right[:, 0], scores_right[:, 1])
        print(f"{group}: {len(scores_right)} labels, {scores_right[:, 1].mean():.0%} right; "
              f"slope, offset = {fitted[group]}")  # fmt: skip
    return fitted


#: labels scored below this (before caps) are left out of the calibration fit: they are never
#: shown, and the thousands of near-zero labels would swamp the fit
CALIBRATION_FLOOR = 20.0


def fit_temperature(photos: list[Photo], classifier: str = "lite0") -> float:
    """The temperature that maximises the likelihood of 'the model is right' on these photos:
    the probability mass of ImageNet classes that are, or lie under, an accepted label."""
    from eventlens.analyzers.labels.efficientnet_lite import INPUT_NAME, INPUT_SIZES, LOGITS_NAME
    from eventlens.analyzers.labels.preprocess import resize_for, to_input

    analyzer = LabelAnalyzer(model=LabelModel("fit", 1.0, people=False, classifier=classifier))
    session, taxonomy = analyzer.loaded()
    crop = INPUT_SIZES[classifier]
    inputs = [
        to_input(ImageInput(photo_path(p).read_bytes(), "x").decode(resize_for(crop)).image, crop)
        for p in photos
    ]
    (logits,) = session.run([LOGITS_NAME], {INPUT_NAME: np.stack(inputs)})
    names = [n.casefold() for n in taxonomy.names]
    masks = []
    for photo in photos:
        wanted = np.array([n in {a.casefold() for a in photo["accepted"]} for n in names])
        masks.append(taxonomy.membership[:, wanted].sum(axis=1) > 0)  # classes under them
    best_t, best_nll = 1.0, float("inf")
    for t in np.arange(0.3, 3.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        right = np.array([p[i, m].sum() for i, m in enumerate(masks)])
        nll = float(-np.log(np.clip(right, 1e-6, 1.0)).mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return round(best_t, 2)


#: Categories counted as another one when parts are re-weighted to the held-out part's mix.
CATEGORY_ALIASES = {"farm animals": "wild animals"}


@dataclass(frozen=True, slots=True)
class Counts:
    photos: int
    no_label: int
    confident_wrong: int
    right_at_90: int


def by_category(photos: list[Photo], labels: list[list[dict[str, Any]]]) -> dict[str, Counts]:
    """Per category: photos, how many got no label at MinConfidence, a confident wrong one, a
    right one at >= 90 (the same tests as ``score``)."""
    out: dict[str, Counts] = {}
    for photo, found in zip(photos, labels, strict=True):
        c = out.get(photo["category"], Counts(0, 0, 0, 0))
        out[photo["category"]] = Counts(
            c.photos + 1,
            c.no_label + (not found),
            c.confident_wrong + confidently_wrong(photo, found),
            c.right_at_90 + right_and_sure(photo, found),
        )
    return out


def reweighted(counts: dict[str, Counts], reference: dict[str, Counts]) -> tuple[float, float]:
    """(no-label share, confident-wrong share) with each category weighted as in
    ``reference``; reference categories missing from ``counts`` are left out."""
    merged: dict[str, Counts] = {}
    for category, c in counts.items():
        key = CATEGORY_ALIASES.get(category, category)
        m = merged.get(key, Counts(0, 0, 0, 0))
        merged[key] = Counts(
            m.photos + c.photos,
            m.no_label + c.no_label,
            m.confident_wrong + c.confident_wrong,
            m.right_at_90 + c.right_at_90,
        )
    weights = {k: r.photos for k, r in reference.items() if k in merged}
    total = sum(weights.values())
    no_label = sum(w * merged[k].no_label / merged[k].photos for k, w in weights.items())
    wrong = sum(w * merged[k].confident_wrong / merged[k].photos for k, w in weights.items())
    return no_label / total, wrong / total


def print_categories(
    name: str, per_category: dict[str, dict[str, Counts]], titles: dict[str, str]
) -> None:
    print(f"\n{name} by category (photos / no label @55 / confident wrong / right >= 90)")
    parts = list(per_category)
    categories = sorted({c for counts in per_category.values() for c in counts})
    print("| category | " + " | ".join(parts) + " |")
    print("|" + "---|" * (len(parts) + 1))
    for category in categories:
        cells = []
        for part in parts:
            c = per_category[part].get(category)
            cells.append(
                f"{c.photos} / {c.no_label} / {c.confident_wrong} / {c.right_at_90}" if c else "-"
            )
        print(f"| {category} | " + " | ".join(cells) + " |")
    reference = per_category.get("heldout")
    if reference is None or name != DEFAULT_LABEL_MODEL:
        return
    for part, counts in per_category.items():
        if part != "heldout":
            no_label, wrong = reweighted(counts, reference)
            print(f"{titles[part]}, re-weighted to the first held-out part's category mix: "
                  f"no label @55 {no_label:.0%}, confident wrong {wrong:.0%}")  # fmt: skip


def _percent(value: float) -> str:
    return "n/a" if value != value else f"{value:.0%}"  # NaN: no photo got the label


def print_table(title: str, rows: dict[str, Scores]) -> None:
    print(f"\n{title}")
    header = "| model / setting | photos | top-5 hit | Person recall | Person precision "
    header += "| no label @55 | confident (>=80) wrong | labels >= 55 accepted "
    header += "| right label >= 90 | calibration gap | ms/image |"
    print(header)
    print("|" + "---|" * 11)
    for name, s in rows.items():
        gap = "n/a" if s.calibration_gap != s.calibration_gap else f"{s.calibration_gap:+.0%}"
        print(
            f"| {name} | {s.photos} | {s.top5:.0%} | {s.person_recall:.0%} | "
            f"{_percent(s.person_precision)} | {s.no_label:.0%} | {s.confident_wrong:.0%} | "
            f"{_percent(s.label_precision)} | {s.right_at_90:.0%} | {gap} | "
            f"{s.ms_per_image:.0f} |"
        )


# --split choice -> the manifest splits it scores; "both" keeps its meaning from before heldout2.
PARTS: dict[str, tuple[str, ...]] = {
    "tune": ("tune",),
    "heldout": ("heldout",),
    "heldout2": ("heldout2",),
    "heldout3": ("heldout3",),
    "heldout4": ("heldout4",),
    "heldout5": ("heldout5",),
    "both": ("tune", "heldout"),
    "all": ("tune", "heldout", "heldout2", "heldout3", "heldout4", "heldout5"),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--details", action="store_true", help="print each photo's labels")
    parser.add_argument("--fit", action="store_true", help="fit the temperature (tuning part)")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the Platt calibration of lite0-calibrated-platt (tuning part; lite0-calibrated: "
        "bench/calibrate_labels.py)",
    )
    parser.add_argument(
        "--grid", action="store_true", help="temperatures x fine-label caps (tuning part)"
    )
    parser.add_argument("--only", help="comma-separated setting names to run")
    parser.add_argument(
        "--by-category",
        action="store_true",
        help="also each model's no-label, confident-wrong and right-at-90 counts per category, "
        "and the default's shares re-weighted to the held-out part's category mix",
    )
    parser.add_argument(
        "--reliability",
        action="store_true",
        help="also each model's shown labels by 10-point confidence bins, per part",
    )
    parser.add_argument(
        "--split",
        choices=tuple(PARTS),
        default="both",
        help="which part to score (develop with --split tune; held-out parts only to report)",
    )
    args = parser.parse_args()
    if args.details and args.split != "tune":
        parser.error("--details shows each photo's labels: only with --split tune")
    photos = collect()
    split = {s: [p for p in photos if p["split"] == s] for s in PARTS[args.split]}
    if args.grid:
        grid([p for p in photos if p["split"] == "tune"])
        return
    if args.calibrate:
        fitted = fit_calibration(
            [p for p in photos if p["split"] == "tune"], LABEL_MODELS["lite0-calibrated-platt"]
        )
        print(f"CALIBRATION = {fitted!r}")
        return
    if args.fit:
        for classifier in ("lite0", "lite1", "lite2"):
            fitted = fit_temperature([p for p in photos if p["split"] == "tune"], classifier)
            print(f"{classifier}: temperature fitted on the tuning part: {fitted}")
        return
    load = os.getloadavg()
    print(
        f"label evaluation on {platform.node()}: {os.cpu_count()} cores, load "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        + " + ".join(f"{len(members)} {part}" for part, members in split.items())
        + " photos"
    )
    chosen = settings()
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    tables: dict[str, dict[str, Scores]] = {part: {} for part in split}
    per_category: dict[str, dict[str, dict[str, Counts]]] = {name: {} for name in chosen}
    reliabilities: dict[str, dict[str, list[Bin]]] = {part: {} for part in split}
    for name, model in chosen.items():
        for part, members in split.items():
            labels, ms = run(model, members)
            tables[part][name] = score(members, labels, ms)
            if args.reliability:
                reliabilities[part][name] = reliability(members, labels)
            if args.by_category:
                per_category[name][part] = by_category(members, labels)
            if args.details:
                for photo, found in zip(members, labels, strict=True):
                    shown = ", ".join(f"{lab['Name']} {lab['Confidence']:.0f}" for lab in found)
                    print(f"  [{name} / {part}] {photo['id']}: {shown or '-'}")
    titles = {
        "tune": "tuning part (settings were chosen on it)",
        "heldout": "first held-out part (frozen since the first round, never tuned on; reported "
        "after each round since the fourth)",
        "heldout2": "second held-out part (collected after the fourth round, never tuned on; "
        "first run then)",
        "heldout3": "third held-out part (collected in the fifth round, never tuned on)",
        "heldout4": "fourth held-out part (issue 20: groups, small people, COCO objects; never "
        "tuned on)",
        "heldout5": "fifth held-out part (groups, small people, COCO objects again; never "
        "tuned on)",
    }
    for part, rows in tables.items():
        print_table(titles[part], rows)
        for name, bins in reliabilities[part].items():
            print_reliability(titles[part], name, bins)
    for name, counts in per_category.items():
        if counts:
            print_categories(name, counts, titles)


if __name__ == "__main__":
    main()
