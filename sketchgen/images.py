"""The images table (images.csv): which photos to sketch, their classes and optional masks.

An images.csv has the columns `image_id, class, path[, mask_path, file_name]`
(`sketchlab.contracts`); paths are relative to the folder holding the CSV. Image ids are
safe file-name stems derived from the photos' file names (`slug_ids`); `file_name` keeps
each photo's original name. Class names are display text (accents, spaces, dots allowed).
It is built from a folder tree whose sub-folder names are the classes (`scan_image_folder` +
`write_images_csv`, i.e. `sketchlab images DIR`) or written by hand and checked by
`read_images_csv` before any generation starts, so a typo costs one clear sentence instead
of a crashed overnight run.

Mask convention: `<name>_mask.png` beside `<name>.<ext>` is that photo's foreground mask
(white = object, same size as the photo), used instead of CLIPasso's U2-Net mask.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from sketchlab.contracts import (
    IMAGES_COLUMNS,
    IMAGES_REQUIRED,
    class_name_problem,
    image_id_problem,
    slug_ids,
)
from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
MASK_SUFFIX = "_mask.png"


def scan_image_folder(folder: str | os.PathLike) -> pd.DataFrame:
    """One row per photo under `folder`, whose sub-folder names are the classes.

    Returns the columns image_id, class, path, mask_path and file_name, sorted by class and
    file name. image_id is the file name without extension made safe (`slug_ids`: ASCII,
    other characters -> "_", a numeric suffix where two would collide); file_name is the
    original name; paths are absolute, mask_path None where there is no `<name>_mask.png`.
    Hidden files and files that are not images (by extension) are ignored. Raises BadInput
    for a missing folder, photos outside a class folder, a class folder whose name is not a
    valid class name, an empty class, byte-identical photos, an unreadable photo, an orphan
    or unreadable mask, or a mask whose size differs from its photo's.
    """
    root = Path(folder)
    if not root.is_dir():
        raise BadInput(f"{root} is not a folder (expected one sub-folder of photos per class).")
    loose = [p for p in _visible_files(root, recursive=False) if _is_image(p)]
    if loose:
        raise BadInput(
            f"{loose[0]} is not inside a class folder: put each photo in a sub-folder "
            f"of {root} named after its class."
        )
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise BadInput(f"{root} has no class sub-folders (expected e.g. {root}/cat/photo.jpg).")

    rows: list[dict] = []
    for class_dir in class_dirs:
        _check_class_name(class_dir.name, where=f"class folder {class_dir}")
        files = _visible_files(class_dir, recursive=True)
        masks = {p for p in files if p.name.endswith(MASK_SUFFIX)}
        photos = sorted(p for p in files if _is_image(p) and p not in masks)
        for photo in photos:
            if photo.stem.endswith(MASK_SUFFIX.removesuffix(".png")):
                raise BadInput(
                    f"{photo} looks like a mask, but masks must be PNG files named "
                    f"<name>{MASK_SUFFIX}; rename it (or, if it is a photo, drop the _mask)."
                )
        if not photos:
            raise BadInput(f"class folder {class_dir} holds no photos; remove it or add photos.")
        stems = {p.with_suffix("") for p in photos}
        for mask in sorted(masks):
            if Path(str(mask)[: -len(MASK_SUFFIX)]) not in stems:
                raise BadInput(
                    f"mask {mask} has no photo beside it named "
                    f"{mask.name[: -len(MASK_SUFFIX)]}.<ext>."
                )
        for photo in photos:
            size = _image_size(photo, what=f"photo {photo}")
            mask = photo.with_name(photo.stem + MASK_SUFFIX)
            if mask.exists():
                _check_mask(mask, size, what=f"mask {mask}")
            rows.append(
                {
                    "class": class_dir.name,
                    "path": str(photo.resolve()),
                    "mask_path": str(mask.resolve()) if mask.exists() else None,
                    "file_name": photo.name,
                }
            )
    _refuse_identical_files([Path(r["path"]) for r in rows], describe=str)
    ids = slug_ids(Path(r["file_name"]).stem for r in rows)
    table = pd.DataFrame([{"image_id": i, **r} for i, r in zip(ids, rows)])
    table["mask_path"] = pd.Series([r["mask_path"] for r in rows], dtype=object)
    return table[list(IMAGES_COLUMNS)]


def write_images_csv(images: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write `images` (as from `scan_image_folder`) to `out` atomically, with paths relative
    to out's folder (forward slashes, so the CSV works on every OS). The mask_path column is
    written only when at least one photo has a mask, file_name when the table has it."""
    out = Path(out)
    base = out.resolve().parent
    table = pd.DataFrame(
        {
            "image_id": images["image_id"],
            "class": images["class"],
            "path": [_relative(p, base) for p in images["path"]],
        }
    )
    if "mask_path" in images and images["mask_path"].notna().any():
        table["mask_path"] = [
            _relative(p, base) if pd.notna(p) else "" for p in images["mask_path"]
        ]
    if "file_name" in images:
        table["file_name"] = images["file_name"]
    with atomic_write(out, newline="") as handle:
        table.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return out


def read_images_csv(path: str | os.PathLike, *, classes: list[str] | None = None) -> pd.DataFrame:
    """Read and validate an images.csv (hand-written or from `sketchlab images`).

    Returns image_id, class, path, mask_path and file_name (absolute paths resolved relative
    to the CSV's folder; mask_path None, not NaN, where empty; file_name the photo's name
    where the CSV has no such column), plus any extra columns as they were. With
    `classes`, every row's class must be one of them. Raises BadInput naming the file, row
    (as numbered in a spreadsheet: the header is row 1) and field for: a missing column, an
    empty or invalid value, a duplicate image_id, a missing or unreadable photo or mask,
    the same photo listed twice, or a mask whose size differs from its photo's.
    """
    csv_path = Path(path)
    if not csv_path.is_file():
        raise BadInput(f"{csv_path} does not exist (create it with `sketchlab images DIR`).")
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BadInput(f"{csv_path} is not a readable CSV file ({error}).") from error
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in IMAGES_REQUIRED if c not in table.columns]
    if missing:
        raise BadInput(
            f"{csv_path} lacks the column(s) {', '.join(missing)} "
            f"(needed: {', '.join(IMAGES_REQUIRED)}[, mask_path]; found: "
            f"{', '.join(table.columns)})."
        )
    if table.empty:
        raise BadInput(f"{csv_path} lists no images.")
    base = csv_path.resolve().parent
    allowed = set(classes) if classes is not None else None
    seen_ids: dict[str, int] = {}
    seen_paths: dict[Path, int] = {}
    photos, masks = [], []
    for index, row in enumerate(table.to_dict("records")):
        row_no = index + 2

        def where(field: str, _row_no: int = row_no) -> str:
            return f"{csv_path} row {_row_no}, field {field}"

        values = {c: str(row[c]).strip() for c in IMAGES_COLUMNS if c in row}
        for column in IMAGES_REQUIRED:
            if not values[column]:
                raise BadInput(f"{where(column)} is empty.")
        image_id, class_name = values["image_id"], values["class"]
        _check_image_id(image_id, where=where("image_id"))
        if image_id.lower() in seen_ids:  # ids name files; many file systems ignore case
            raise BadInput(
                f'{where("image_id")}: "{image_id}" is already used in row '
                f"{seen_ids[image_id.lower()]} (ids may not differ only in case)."
            )
        seen_ids[image_id.lower()] = row_no
        _check_class_name(class_name, where=where("class"))
        if allowed is not None and class_name not in allowed:
            raise BadInput(
                f'{where("class")}: "{class_name}" is not one of the classes '
                f"{', '.join(sorted(allowed))}."
            )
        photo = (base / values["path"]).resolve()
        if not photo.is_file():
            raise BadInput(f"{where('path')}: {values['path']} does not exist (looked in {base}).")
        if photo in seen_paths:
            raise BadInput(
                f"{where('path')}: {values['path']} is already listed in row {seen_paths[photo]}."
            )
        seen_paths[photo] = row_no
        size = _image_size(photo, what=f"{where('path')}: {values['path']}")
        mask = None
        if values.get("mask_path"):
            mask = (base / values["mask_path"]).resolve()
            if not mask.is_file():
                raise BadInput(
                    f"{where('mask_path')}: {values['mask_path']} does not exist (looked in "
                    f"{base})."
                )
            _check_mask(mask, size, what=f"{where('mask_path')}: {values['mask_path']}")
        photos.append(str(photo))
        masks.append(str(mask) if mask else None)
    _refuse_identical_files(
        [Path(p) for p in photos],
        describe=lambda p: f"{csv_path} row {seen_paths[p]} ({p.name})",
    )
    table["image_id"] = table["image_id"].str.strip()
    table["class"] = table["class"].str.strip()
    table["path"] = photos
    table["mask_path"] = pd.Series(masks, dtype=object, index=table.index)
    if "file_name" not in table.columns:
        table["file_name"] = [Path(p).name for p in photos]
    return table[list(IMAGES_COLUMNS) + [c for c in table.columns if c not in IMAGES_COLUMNS]]


def _visible_files(folder: Path, *, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return [
        p
        for p in found
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _check_class_name(name: str, *, where: str) -> None:
    problem = class_name_problem(name)
    if problem:
        raise BadInput(f"{where}: {problem}.")


def _check_image_id(image_id: str, *, where: str) -> None:
    problem = image_id_problem(image_id)
    if problem:
        raise BadInput(
            f"{where}: the image_id {problem} (it names output files; `sketchlab images` "
            "derives valid ones from file names)."
        )


def _image_size(path: Path, *, what: str) -> tuple[int, int]:
    """Decode the whole file (catches truncated JPEGs, not just bad headers); (width, height)."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadInput(f"{what} is not a readable image ({error}).") from error


def _check_mask(mask: Path, photo_size: tuple[int, int], *, what: str) -> None:
    size = _image_size(mask, what=what)
    if size != photo_size:
        raise BadInput(
            f"{what} is {size[0]}x{size[1]} pixels but its photo is "
            f"{photo_size[0]}x{photo_size[1]}; a mask must match its photo's size."
        )


def _refuse_identical_files(paths: list[Path], *, describe) -> None:
    by_digest: dict[str, Path] = {}
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in by_digest:
            raise BadInput(
                f"{describe(by_digest[digest])} and {describe(path)} are byte-identical copies "
                "of one photo; keep only one."
            )
        by_digest[digest] = path


def _relative(path: str, base: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
