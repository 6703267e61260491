"""A small self-contained study (drawn line images, stimuli.csv, study.yaml) for tests,
the load bench and demos that must not depend on generated sketches."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

SYNTHETIC_CLASSES = ("boat", "chair", "cup", "house", "tree")
MORE_CLASSES = ("bird", "car", "clock", "fish", "hat", "key", "shoe")
"""With `n_classes` above five, the options go on with these (at most 12 in all)."""


FOIL_CLASS = "lamp"
SYNONYMS = {"boat": ["ship"], "cup": ["mug"], "house": ["home"]}
"""Accepted names in the naming condition besides the class names."""


COMPLETION_CODE = "C1234ABC"


def write_synthetic_study(
    folder: str | os.PathLike,
    *,
    images_per_class: int = 2,
    classes: tuple[str, ...] | None = None,
    levels: tuple[int, ...] = (4, 8, 16, 32),
    conditions: tuple[str, ...] = ("with_none", "without_none"),
    time_limit_s: float | None = None,
    min_answer_ms: int | None = None,
    max_consecutive_timeouts: int | None = None,
    redirect_url: str | None = None,
    max_attention_failures: int = 1,
    study_id: str = "synthetic",
    n_classes: int = len(SYNTHETIC_CLASSES),
    consent: str | None = None,
    confidence_scale: int | None = None,
    naming: bool = False,
) -> Path:
    """Write a small self-contained study (drawn line images, stimuli.csv, study.yaml).

    Used by the load bench and the app tests, so neither depends on generated sketches.
    One practice image, one attention (catch) image and (with_none) one foil image come on top of
    `images_per_class` test images per class; every image has one PNG per level, with
    `n_strokes` random lines (224 x 224 pixels). A fresh `study_id` keeps runs apart in a
    shared database (PostgreSQL). `min_answer_ms` and `max_consecutive_timeouts` are
    written only when given (else the study.yaml defaults apply). The classes (also the
    buttons) are `classes`, else the first `n_classes` of SYNTHETIC_CLASSES + MORE_CLASSES;
    `consent` replaces the short consent text. `confidence_scale` adds a confidence rating
    after each answer (study/trial_types/confidence.py); `naming` adds the naming condition
    (study/trial_types/naming.py, with a synonym or two). Returns the path of study.yaml.
    """
    from PIL import Image, ImageDraw

    folder = Path(folder)
    (folder / "png").mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    classes = classes or (SYNTHETIC_CLASSES + MORE_CLASSES)[:n_classes]
    images = [
        (f"img{c}{k}", name) for c, name in enumerate(classes) for k in range(images_per_class)
    ]
    images += [("practice0", classes[0]), ("catch0", classes[1])]
    if "with_none" in conditions:
        images.append(("foil0", FOIL_CLASS))
    rows = []
    for image_id, class_name in images:
        for level in levels:
            # Stimulus ids are opaque on purpose: nothing in them hints at the class.
            stimulus_id = f"s{len(rows):04d}"
            picture = Image.new("RGB", (224, 224), "white")
            draw = ImageDraw.Draw(picture)
            for _ in range(level):
                points = [(rng.uniform(16, 208), rng.uniform(16, 208)) for _ in range(2)]
                draw.line(points, fill="black", width=3)
            png = f"png/{stimulus_id}.png"
            picture.save(folder / png)
            rows.append(
                {
                    "stimulus_id": stimulus_id,
                    "image_id": image_id,
                    "class": class_name,
                    "n_strokes": level,
                    "png_path": png,
                }
            )
    with open(folder / "stimuli.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first = {r["image_id"]: r["stimulus_id"] for r in reversed(rows)}
    lines = [
        f"study_id: {study_id}",
        "title: Sketch recognition study",
        "stimuli: stimuli.csv",
        "options: " + json.dumps(list(classes)),
        f"conditions: [{', '.join((*conditions, 'naming') if naming else conditions)}]",
        f"levels: [{', '.join(map(str, levels))}]",
        f"practice: {{stimuli: [{first['practice0']}], feedback: true}}",
        (
            f"attention: {{checks: [{{stimulus: {first['catch0']}}}], "
            f"max_failures: {max_attention_failures}}}"
        ),
        f"foil_classes: [{FOIL_CLASS}]" if "with_none" in conditions else "",
        "consent: "
        + json.dumps(
            consent
            or "This study is run by the sketchlab team. It takes about 3 minutes. "
            "Taking part is voluntary and you may stop at any time."
        ),
        "instructions: |\n  You will see simple line drawings. Click the object each one shows.",
        f"time_limit_s: {time_limit_s}" if time_limit_s else "",
        f"min_answer_ms: {min_answer_ms}" if min_answer_ms is not None else "",
        (
            f"max_consecutive_timeouts: {max_consecutive_timeouts}"
            if max_consecutive_timeouts is not None
            else ""
        ),
        f"confidence: {{scale: {confidence_scale}}}" if confidence_scale else "",
        "naming: {synonyms: " + json.dumps(SYNONYMS) + "}" if naming else "",
        "completion: {code: "
        + COMPLETION_CODE
        + (f", redirect_url: '{redirect_url}'" if redirect_url else "")
        + "}",
    ]
    path = folder / "study.yaml"
    path.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return path
