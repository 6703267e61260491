"""The images `sketchlab score` classifies, and their Dataset.

Sketches are the PNGs of stimuli.csv (through the one stimuli.csv reader,
`sketchlab.stimuli`), with any transparency composited over white as on the study page.
Photos (`score --photos images.csv`, read by sketchgen's images.csv reader) are the ones the
sketches were drawn from, scored as the sketch optimiser saw them: upright, transparency and
any mask composited on white and fitted to the 224-pixel canvas as the run did (run.json's
`fit`; `sketchgen.preprocess.load_target`). Both go through the one photo reader
(`sketchgen.photos`), then the scoring model's own preprocessing, in DataLoader worker
processes (docs/scoring.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from torchvision.transforms.functional import to_pil_image

from sketchgen.images import read_images_csv
from sketchgen.photos import read_photo
from sketchgen.preprocess import load_target
from sketchlab.contracts import PHOTO, PHOTO_STROKES, SKETCH
from sketchlab.errors import BadInput
from sketchlab.stimuli import read_stimuli as read_stimuli_csv


def read_stimuli(path: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """stimuli.csv through the shared reader (`sketchlab.stimuli`), with `kind` = sketch, and
    the absolute path of every PNG."""
    stimuli = read_stimuli_csv(path)
    return stimuli.drop(columns="png_file").assign(kind=SKETCH), list(stimuli["png_file"])


@dataclass(frozen=True)
class PhotoFile:
    """A photo of images.csv and its optional object mask."""

    path: Path
    mask_path: Path | None = None
    fit: str = "squash"

    def open(self) -> Image.Image:
        """The 224x224 RGB image the sketch optimiser drew from (mask and alpha on white)."""
        return to_pil_image(load_target(self.path, self.mask_path, self.fit))


def read_photos(
    images_csv: str | Path, stimuli: pd.DataFrame, fit: str = "squash"
) -> tuple[pd.DataFrame, list[PhotoFile]]:
    """The photos of images.csv that `stimuli` has sketches of, as score rows to be.

    Returns a table (image_id, class, n_strokes 0, kind = photo, photo_path, and the
    loss_model of the image's sketches, so a photo row is flagged circular exactly when its
    sketches are) and the PhotoFiles, fitted to the canvas by `fit` (the run's);
    `attrs["photos_without_sketches"]` counts the photos left out because stimuli.csv has no
    sketch of them. BadInput when no photo matches, or a photo's class differs from its
    sketches'.
    """
    images = read_images_csv(images_csv)
    per_image = stimuli.drop_duplicates("image_id").set_index("image_id")
    sketch_class = per_image["class"]
    matched = images[images["image_id"].isin(sketch_class.index)]
    if matched.empty:
        raise BadInput(
            f"{images_csv}: no image_id matches stimuli.csv's (e.g. {images['image_id'].iloc[0]!r}"
            f" vs {sketch_class.index[0]!r}); pass the images.csv the sketches were made from."
        )
    for position, row in matched.iterrows():
        expected = sketch_class[row["image_id"]]
        if row["class"] != expected:
            raise BadInput(
                f"{images_csv} row {position + 2}: field 'class' {row['class']!r} differs from "
                f"{expected!r}, the class of image {row['image_id']!r} in stimuli.csv."
            )
    table = pd.DataFrame(
        {
            "image_id": matched["image_id"],
            "class": matched["class"],
            "n_strokes": PHOTO_STROKES,
            "kind": PHOTO,
            "photo_path": matched["path"],
        }
    ).reset_index(drop=True)
    if "loss_model" in per_image.columns:
        table["loss_model"] = table["image_id"].map(per_image["loss_model"])
    files = [
        PhotoFile(Path(path), Path(mask) if mask else None, fit)
        for path, mask in zip(matched["path"], matched["mask_path"], strict=True)
    ]
    table.attrs["photos_without_sketches"] = len(images) - len(matched)
    return table, files


def open_sketch(path: Path) -> Image.Image:
    """The PNG as people saw it: RGB, upright, any transparency composited over white."""
    return read_photo(path).image


def default_workers(device: torch.device) -> int:
    """Decoding processes: one keeps a CPU model fed (a PNG costs ~10 ms, an image-tower pass
    ~100x that); a GPU encodes thousands per second, so use up to 8 cores."""
    if device.type == "cuda":
        return max(1, min(8, (os.cpu_count() or 2) - 1))
    return 1


def open_image(item: Path | PhotoFile) -> Image.Image:
    """A sketch PNG (a path) or a photo, as RGB, ready for the model's preprocessing."""
    return item.open() if isinstance(item, PhotoFile) else open_sketch(item)


class ImageFiles(torch.utils.data.Dataset):
    """Sketch PNGs and photos -> preprocessed tensors; a bad file becomes its message (raised
    in the parent, so the user sees one sentence rather than a worker traceback)."""

    def __init__(self, items: Sequence[Path | PhotoFile], preprocess: Callable):
        self.items, self.preprocess = list(items), preprocess

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> torch.Tensor | str:
        try:
            return self.preprocess(open_image(self.items[index]))
        except BadInput as error:
            return str(error)


def stack_or_error(items: list[torch.Tensor | str]) -> torch.Tensor | str:
    """DataLoader collate: a batch tensor, or the first bad file's message."""
    errors = [item for item in items if isinstance(item, str)]
    return errors[0] if errors else torch.stack(items)
