"""The images table (images.csv): which photos to sketch, their classes and optional masks.

An images.csv has the columns `image_id, class, path[, mask_path, file_name, width, height,
orientation]` (`sketchlab.contracts`); paths are relative to the folder holding the CSV.
Image ids are safe file-name stems derived from the photos' file names (`slug_ids`);
`file_name` keeps each photo's original name; width x height is the photo upright, in
pixels, and orientation its file's EXIF orientation (1 = stored upright). Every photo and
mask is read by the one photo reader (`sketchgen.photos`). Class names are display text
(accents, spaces, dots allowed).
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
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sketchgen.photos import HEIF_SUFFIXES, UPRIGHT, Photo, read_mask, read_photo
from sketchlab.contracts import (
    CANVAS,
    IMAGES_COLUMNS,
    IMAGES_REQUIRED,
    PHOTO_SIZE_COLUMNS,
    class_name_problem,
    image_id_problem,
    slug_ids,
)
from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif", *HEIF_SUFFIXES}
)
MASK_SUFFIX = "_mask.png"
MIN_SIDE = CANVAS
"""Photos whose short side is below this many pixels get a warning: the 224 canvas is
filled by enlarging them, so their target is blurry."""


def scan_image_folder(folder: str | os.PathLike) -> pd.DataFrame:
    """One row per photo under `folder`, whose sub-folder names are the classes.

    Returns the columns of IMAGES_COLUMNS, sorted by class and file name. image_id is the file
    name without extension made safe (`slug_ids`: ASCII, other characters -> "_", a numeric
    suffix where two would collide); file_name is the original name; paths are absolute,
    mask_path None where there is no `<name>_mask.png`; width, height (upright, pixels) and
    orientation as read. Hidden files and files that are not images (by extension) are
    ignored.

    Raises BadInput listing every problem at once (one sentence each): photos outside a
    class folder, a class folder whose name is not a valid class name, an empty class,
    byte-identical photos, each unreadable photo or mask with its reason, an orphan mask, a
    mask whose size differs from its photo's; a missing folder or one without class folders
    stops at once.
    """
    root = Path(folder)
    if not root.is_dir():
        raise BadInput(f"{root} is not a folder (expected one sub-folder of photos per class).")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    problems = [
        f"{loose} is not inside a class folder: put each photo in a sub-folder of {root} named "
        "after its class."
        for loose in sorted(p for p in _visible_files(root, recursive=False) if _is_image(p))
    ]
    if not class_dirs:
        raise BadInput(f"{root} has no class sub-folders (expected e.g. {root}/cat/photo.jpg).")

    rows: list[dict] = []
    for class_dir in class_dirs:
        files = _visible_files(class_dir, recursive=True)
        masks = {p for p in files if p.name.endswith(MASK_SUFFIX)}
        photos = sorted(p for p in files if _is_image(p) and p not in masks)
        problems.extend(_class_folder_problems(class_dir, photos, masks))
        rows.extend(_photo_rows(class_dir, photos, problems))
    problems.extend(_identical_files([Path(r["path"]) for r in rows], describe=str))
    if len(problems) == 1:
        raise BadInput(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise BadInput(f"{len(problems)} problems in {root}:\n{listed}")
    ids = slug_ids(Path(r["file_name"]).stem for r in rows)
    table = pd.DataFrame([{"image_id": i, **r} for i, r in zip(ids, rows, strict=True)])
    table["mask_path"] = pd.Series([r["mask_path"] for r in rows], dtype=object)
    return table[list(IMAGES_COLUMNS)]


def _class_folder_problems(class_dir: Path, photos: list[Path], masks: set[Path]) -> list[str]:
    """What is wrong with a class folder's names, before any file is read: an invalid class
    name, a photo named like a mask, no photos at all, a mask without its photo."""
    problems = []
    problem = class_name_problem(class_dir.name)
    if problem:
        problems.append(f"class folder {class_dir}: {problem}.")
    for photo in photos:
        if photo.stem.endswith(MASK_SUFFIX.removesuffix(".png")):
            problems.append(
                f"{photo} looks like a mask, but masks must be PNG files named "
                f"<name>{MASK_SUFFIX}; rename it (or, if it is a photo, drop the _mask)."
            )
    if not photos:
        problems.append(f"class folder {class_dir} holds no photos; remove it or add photos.")
    stems = {p.with_suffix("") for p in photos}
    for mask in sorted(masks):
        if Path(str(mask)[: -len(MASK_SUFFIX)]) not in stems:
            problems.append(
                f"mask {mask} has no photo beside it named {mask.name[: -len(MASK_SUFFIX)]}.<ext>."
            )
    return problems


def _photo_rows(class_dir: Path, photos: list[Path], problems: list[str]) -> list[dict]:
    """The images rows (without image_id) of a class folder's readable photos; each photo or
    mask that cannot be read adds its sentence to `problems` instead, so that all are listed
    at once."""
    rows = []
    for photo in photos:
        mask = photo.with_name(photo.stem + MASK_SUFFIX)
        try:
            read = read_photo(photo, what=f"photo {photo}")
            if mask.exists():
                read_mask(mask, read, what=f"mask {mask}")
        except BadInput as error:
            problems.append(str(error))
            continue
        rows.append(
            {
                "class": class_dir.name,
                "path": str(photo.resolve()),
                "mask_path": str(mask.resolve()) if mask.exists() else None,
                "file_name": photo.name,
                **_size_columns(read),
            }
        )
    return rows


def photo_warnings(
    images: pd.DataFrame, *, min_side: int = MIN_SIDE, fit: str = "squash"
) -> list[str]:
    """One sentence per photo of `images` (as read by this module) that may not make the
    stimulus one expects: too small for the canvas (the side that `fit` enlarges to 224
    pixels, the short one unless padding, is below `min_side`: its target is blurry), or
    stored turned and masked (the mask is turned with it: worth a look at the contact sheet).
    """
    notes = []
    for row in images.to_dict("records"):
        width, height = int(row["width"]), int(row["height"])
        side, name = (max(width, height), "long") if fit == "pad" else (min(width, height), "short")
        if side < min_side:
            enlarged = (
                f", so it is enlarged {CANVAS / side:.1f}x to fill the {CANVAS}-pixel canvas and "
                "its target is blurry"
                if side < CANVAS
                else ""
            )
            notes.append(
                f"photo {row['path']} is only {width}x{height} pixels: its {name} side is below "
                f"{min_side}{enlarged}."
            )
        if row.get("mask_path") and int(row["orientation"]) != UPRIGHT:
            notes.append(
                f"photo {row['path']} is stored turned (EXIF orientation {row['orientation']}) "
                "and its mask is turned with it; check that its contact sheet shows the object "
                "on white."
            )
    return notes


def write_images_csv(images: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write `images` (as from `scan_image_folder`) to `out` atomically, with paths relative
    to out's folder (forward slashes, so the CSV works on every OS). The mask_path column is
    written only when at least one photo has a mask; file_name, width, height and orientation
    when the table has them."""
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
    for column in ("file_name", *PHOTO_SIZE_COLUMNS):
        if column in images:
            table[column] = images[column]
    with atomic_write(out, newline="") as handle:
        table.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return out


def read_images_csv(path: str | os.PathLike, *, classes: list[str] | None = None) -> pd.DataFrame:
    """Read and validate an images.csv (hand-written or from `sketchlab images`).

    Returns the columns of IMAGES_COLUMNS (absolute paths resolved relative to the CSV's
    folder; mask_path None, not NaN, where empty; file_name the photo's name where the CSV
    has no such column; width, height and orientation as the photo reader reads the file,
    ints), plus any extra columns as they were.
    With `classes`, every row's class must be one of them. Raises BadInput naming the file,
    row (as numbered in a spreadsheet: the header is row 1) and field for: a missing column,
    an empty or invalid value, a duplicate image_id, a missing or unreadable photo or mask,
    the same photo listed twice, a mask whose size differs from its photo's, or a width,
    height or orientation that differs from the file's (the photo changed since).
    """
    csv_path = Path(path)
    table = _read_images_table(csv_path)
    base = csv_path.resolve().parent
    allowed = set(classes) if classes is not None else None
    seen_ids: dict[str, int] = {}
    seen_paths: dict[Path, int] = {}
    photos, masks, sizes = [], [], []
    for index, row in enumerate(table.to_dict("records")):
        row_no = index + 2

        def where(field: str, _row_no: int = row_no) -> str:
            return f"{csv_path} row {_row_no}, field {field}"

        values = {c: str(row[c]).strip() for c in IMAGES_COLUMNS if c in row}
        _check_row_names(values, where, row_no, allowed, seen_ids)
        photo, mask, read = _read_row_files(values, where, row_no, base, seen_paths)
        size = _size_columns(read)
        _check_recorded_size(values, size, where)
        photos.append(str(photo))
        masks.append(str(mask) if mask else None)
        sizes.append(size)
    identical = _identical_files(
        [Path(p) for p in photos],
        describe=lambda p: f"{csv_path} row {seen_paths[p]} ({p.name})",
    )
    if identical:
        raise BadInput(identical[0])
    table["image_id"] = table["image_id"].str.strip()
    table["class"] = table["class"].str.strip()
    table["path"] = photos
    table["mask_path"] = pd.Series(masks, dtype=object, index=table.index)
    if "file_name" not in table.columns:
        table["file_name"] = [Path(p).name for p in photos]
    for column in PHOTO_SIZE_COLUMNS:
        table[column] = [size[column] for size in sizes]
    return table[list(IMAGES_COLUMNS) + [c for c in table.columns if c not in IMAGES_COLUMNS]]


def _read_images_table(csv_path: Path) -> pd.DataFrame:
    """The CSV as text, checked as a whole (it exists, parses, has the required columns and a
    row) before any row is looked at."""
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
    return table


def _check_row_names(
    values: dict[str, str],
    where: Callable[[str], str],
    row_no: int,
    allowed: set[str] | None,
    seen_ids: dict[str, int],
) -> None:
    """A row's text fields: required ones filled, a valid image_id not used before (case
    ignored: ids name files; recorded in `seen_ids`, lower-cased id -> row), a valid class
    (one of `allowed`, when given)."""
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


def _read_row_files(
    values: dict[str, str],
    where: Callable[[str], str],
    row_no: int,
    base: Path,
    seen_paths: dict[Path, int],
) -> tuple[Path, Path | None, Photo]:
    """A row's photo and mask (absolute paths, resolved against `base`), the photo as read:
    each must exist and be readable, and the photo must not be listed before (recorded in
    `seen_paths`, photo -> row)."""
    photo = (base / values["path"]).resolve()
    if not photo.is_file():
        raise BadInput(f"{where('path')}: {values['path']} does not exist (looked in {base}).")
    if photo in seen_paths:
        raise BadInput(
            f"{where('path')}: {values['path']} is already listed in row {seen_paths[photo]}."
        )
    seen_paths[photo] = row_no
    read = read_photo(photo, what=f"{where('path')}: {values['path']}")
    mask = None
    if values.get("mask_path"):
        mask = (base / values["mask_path"]).resolve()
        if not mask.is_file():
            raise BadInput(
                f"{where('mask_path')}: {values['mask_path']} does not exist (looked in {base})."
            )
        read_mask(mask, read, what=f"{where('mask_path')}: {values['mask_path']}")
    return photo, mask, read


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


def _size_columns(photo: Photo) -> dict[str, int]:
    """images.csv's width, height (upright pixels) and orientation (EXIF, 1 = upright)."""
    width, height = photo.size
    return {"width": width, "height": height, "orientation": photo.orientation}


def _check_recorded_size(values: dict[str, str], size: dict[str, int], where) -> None:
    """A width, height or orientation in the CSV must still be the file's."""
    for column in PHOTO_SIZE_COLUMNS:
        recorded = values.get(column, "")
        if recorded and recorded != str(size[column]):
            raise BadInput(
                f"{where(column)} is {recorded} but the photo's is {size[column]}: the photo "
                "changed since this images.csv was written; rerun `sketchlab images`."
            )


def _identical_files(paths: list[Path], *, describe) -> list[str]:
    """One sentence per photo that is a byte-identical copy of an earlier one."""
    by_digest: dict[str, Path] = {}
    problems = []
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in by_digest:
            problems.append(
                f"{describe(by_digest[digest])} and {describe(path)} are byte-identical copies "
                "of one photo; keep only one."
            )
        else:
            by_digest[digest] = path
    return problems


def _relative(path: str, base: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
