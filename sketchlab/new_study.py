"""`sketchlab init DIR`: a new study project, ready for the next commands in order.

The project holds `study.yaml` (commented; classes, levels and conditions filled in from the
photos), `images.csv` (from the photos, as `sketchlab images` writes it) or an empty
`photos/` to fill, `.streamlit/secrets.toml.example`, a `.gitignore` that keeps databases,
backups, secrets and raw responses out of git, and a README listing the commands in order
(generate, preview, plan, serve, status, export, analyze). The texts are templates shipped
with the package (`sketchlab/templates/new_study/`).

Practice and attention checks need images of their own (their images leave the test set):
with at least two photos more than levels, one image gives the practice sketch and an
instructional check, another a catch trial; with one more, practice only; else neither.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pandas as pd

from sketchlab.bundled import package_file
from sketchlab.contracts import MAX_ID_LENGTH, slug_ids, stimulus_id
from sketchlab.errors import BadInput

LEVELS = (4, 8, 16, 32)
TEMPLATE_FILES = {
    "study.yaml": "study.yaml",
    "README.md": "README.md",
    ".gitignore": "gitignore",
    ".streamlit/secrets.toml.example": "secrets.toml.example",
}
"""Project file -> its template in sketchlab/templates/new_study/."""
PLACEHOLDER_OPTIONS = ["first class", "second class"]


@dataclass(frozen=True)
class NewStudy:
    folder: Path
    written: list[Path]
    """Every file written, in order."""
    classes: list[str]
    """The classes found in the photos (empty when photos/ is still to fill)."""
    n_photos: int


def init_study(folder: str | Path, photos: str | Path | None = None) -> NewStudy:
    """Write a new study project into `folder` (created if needed; module docstring).

    `photos`: a folder with one sub-folder of photos per class; default `folder/photos`
    when it already holds photos, else an empty `photos/` is made to fill. Nothing is
    written when an input is bad or a file would be overwritten (BadInput); a failure while
    writing removes what was written.
    """
    from sketchgen.images import scan_image_folder

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} exists and is not a folder; init needs a (new) folder")
    photos = _photo_folder(folder, photos)
    images = scan_image_folder(photos) if photos is not None else None

    study_id = slug_ids([folder.resolve().name], MAX_ID_LENGTH)[0]
    values = _values(folder, study_id, images, photos)
    texts = {
        name: Template(package_file("sketchlab", "templates", "new_study", template).read_text())
        .substitute(values)
        .replace("\n\n\n", "\n\n")
        for name, template in TEMPLATE_FILES.items()
    }
    targets = [folder / name for name in texts] + ([folder / "images.csv"] if photos else [])
    for target in targets:
        if target.exists():
            raise BadInput(f"{target} already exists: init never overwrites a file")
    written = [path for path in _write_project(folder, texts, images) if path.is_file()]
    classes = sorted(images["class"].unique()) if images is not None else []
    return NewStudy(folder, written, classes, 0 if images is None else len(images))


def _photo_folder(folder: Path, photos: str | Path | None) -> Path | None:
    """The photos to start from: `photos` (which must be a folder), else `folder/photos` when
    it already holds photos, else None (an empty `photos/` is made to fill)."""
    if photos is not None:
        photos = Path(photos)
        if not photos.is_dir():
            raise BadInput(f"--photos {photos} is not a folder of class sub-folders")
        return photos
    if _has_photos(folder / "photos"):
        return folder / "photos"
    return None


def _write_project(folder: Path, texts: dict[str, str], images: pd.DataFrame | None) -> list[Path]:
    """Make the folders and write images.csv (when there are photos) and the texts; returns
    every folder and file made, in order. On any failure (Ctrl-C included) all of them are
    removed again, so that a half-made project never looks complete."""
    from sketchgen.images import write_images_csv

    created: list[Path] = []
    try:
        photos_dir = [] if images is not None else [folder / "photos"]
        for directory in (folder, folder / ".streamlit", *photos_dir):
            if not directory.exists():
                directory.mkdir(parents=True)
                created.append(directory)
        if images is not None:
            created.append(write_images_csv(images, folder / "images.csv"))
        for name, text in texts.items():
            created.append(_write_new(folder / name, text))
    except BaseException:
        for path in reversed(created):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        raise
    return created


def _has_photos(folder: Path) -> bool:
    from sketchgen.images import IMAGE_SUFFIXES

    return folder.is_dir() and any(
        p.suffix.lower() in IMAGE_SUFFIXES for p in folder.rglob("*") if p.is_file()
    )


def _write_new(path: Path, text: str) -> Path:
    from sketchlab.files import atomic_write

    with atomic_write(path, encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o644)  # a project file, not a secret (atomic_write's temporary file is 0600)
    return path


def _values(
    folder: Path, study_id: str, images: pd.DataFrame | None, photos: Path | None
) -> dict[str, str]:
    """The template fields: names, the classes, and the practice and attention blocks."""
    from sketchlab import version

    title = folder.resolve().name.replace("_", " ").replace("-", " ").strip() or study_id
    classes = sorted(images["class"].unique()) if images is not None else []
    reserved = _reserved_images(images) if images is not None else []
    # each participant sees every test image once, the practice sketch and the checks
    extra_trials = {0: 0, 1: 1, 2: 3}[len(reserved)]
    trials = "[number]" if images is None else str(len(images) - len(reserved) + extra_trials)
    if photos is not None:
        photos_shown = _relative_to(photos, folder)
        options_note = f"one per class of images.csv (the sub-folders of {photos_shown}/)."
        step_zero = ""
    else:
        photos_shown = "photos"
        options_note = (
            "placeholders: replace them with the names of the sub-folders of photos/ "
            "(README.md, step 0)."
        )
        step_zero = (
            "\n0. **Photos**: put them in `photos/`, one sub-folder per class\n"
            "   (`photos/cat/tabby.jpg`; a `<name>_mask.png` beside a photo is its foreground\n"
            "   mask), list them, and put the class names into `options:` in study.yaml:\n\n"
            "       sketchlab images photos --out images.csv\n"
        )
    practice_block, practice_sentence = _practice_and_attention(images, reserved)
    return {
        "title": title,
        "title_yaml": _yaml_word(title),
        "study_id": study_id,
        "version": version(),
        "options": "[" + ", ".join(_yaml_word(c) for c in classes or PLACEHOLDER_OPTIONS) + "]",
        "options_note": options_note,
        "classes": ", ".join(classes) if classes else "to fill in",
        "levels": "[" + ", ".join(map(str, LEVELS)) + "]",
        "levels_count": str(len(LEVELS)),
        "levels_words": ", ".join(map(str, LEVELS[:-1])) + f" and {LEVELS[-1]}",
        "cells": str(2 * len(LEVELS)),
        "practice_and_attention": practice_block,
        "practice_sentence": practice_sentence,
        "trials_hint": trials,
        "completion_code": "C" + secrets.token_hex(4).upper(),
        "preview_token": secrets.token_urlsafe(18),
        "photos": photos_shown + "/",
        "step_zero": step_zero,
    }


def _reserved_images(images: pd.DataFrame) -> list[pd.Series]:
    """The images set aside for practice and attention (module docstring): the last image
    of the classes with the most images, so the test set stays as balanced as it was."""
    spare = len(images) - len(LEVELS)
    if spare < 1 or images["class"].nunique() < 2:
        return []
    counts = images["class"].value_counts()
    order = sorted(counts.index, key=lambda c: (-counts[c], c))
    picks = [images[images["class"] == c].sort_values("image_id").iloc[-1] for c in order]
    return picks[: min(spare, 2)]


def _practice_and_attention(images: pd.DataFrame | None, reserved: list) -> tuple[str, str]:
    """The study.yaml lines for practice and attention checks, and the instructions'
    sentence on the practice trial."""
    top = max(LEVELS)
    if not reserved:
        why = "no photos yet" if images is None else "too few photos to spare one"
        return (
            f"# Practice and attention checks ({why}): each needs an image of an option class\n"
            "# that is not in the test set (docs/study.md). E.g.\n"
            f"# practice: {{stimuli: [IMAGE_{top}strokes], feedback: true}}\n"
            "# attention: {checks: [{stimulus: OTHER_IMAGE_32strokes}], max_failures: 1}\n",
            "",
        )
    first = reserved[0]
    options = sorted(images["class"].unique())
    answer = next(c for c in options if c != first["class"])
    practice = (
        "# Practice with feedback on an image that is not in the test set.\n"
        "practice:\n"
        f"  stimuli: [{stimulus_id(first['image_id'], top)}]\n"
        "  feedback: true\n"
    )
    sentence = "\n  We start with one practice sketch, and tell you whether your answer was right."
    if len(reserved) < 2:
        return practice + "# attention: needs one more photo (docs/study.md).\n", sentence
    prompt = f"Attention check: whatever this sketch shows, please select \u201c{answer}\u201d."
    return (
        practice + "\n"
        "# Prolific-compliant checks on images that are not in the test set: a catch trial\n"
        "# (an unambiguous sketch; its class is the right answer) and an instructional check.\n"
        "attention:\n"
        "  checks:\n"
        f"    - stimulus: {stimulus_id(reserved[1]['image_id'], top)}\n"
        f"    - stimulus: {stimulus_id(first['image_id'], top)}\n"
        f"      answer: {_yaml_word(answer)}\n"
        f"      prompt: {_yaml_word(prompt)}\n"
        "  max_failures: 1   # failing 2 of 2 ends the study (status failed_attention)\n",
        sentence,
    )


def _yaml_word(text: str) -> str:
    """`text` as one YAML scalar in a flow list: plain when YAML reads it back unchanged,
    else double-quoted (JSON's quoting is valid YAML)."""
    import json

    import yaml

    try:
        plain = yaml.safe_load(f"[{text}]") == [text]
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def _relative_to(path: Path, folder: Path) -> str:
    """`path` as the README shows it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
