"""The images `sketchlab score` classifies, read as people saw them, and their Dataset.

Sketches are the PNGs of stimuli.csv (through the one stimuli.csv reader,
`sketchlab.stimuli`), with any transparency composited over white as on the study page.
The Dataset decodes and preprocesses them in DataLoader worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError

from sketchlab.errors import BadInput
from sketchlab.stimuli import read_stimuli as read_stimuli_csv


def read_stimuli(path: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """stimuli.csv through the shared reader (`sketchlab.stimuli`), and the absolute path of
    every PNG."""
    stimuli = read_stimuli_csv(path)
    return stimuli.drop(columns="png_file"), list(stimuli["png_file"])


def open_sketch(path: Path) -> Image.Image:
    """The PNG as people saw it: RGB, any transparency composited over white."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(white, rgba).convert("RGB")
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise BadInput(f"{path} is not a readable image: {error}") from None


def default_workers(device: torch.device) -> int:
    """Decoding processes: one keeps a CPU model fed (a PNG costs ~10 ms, an image-tower pass
    ~100x that); a GPU encodes thousands per second, so use up to 8 cores."""
    if device.type == "cuda":
        return max(1, min(8, (os.cpu_count() or 2) - 1))
    return 1


class ImageFiles(torch.utils.data.Dataset):
    """Image files -> preprocessed tensors; a bad file becomes its message (raised in the
    parent, so the user sees one sentence rather than a worker traceback)."""

    def __init__(self, paths: Sequence[Path], preprocess: Callable):
        self.paths, self.preprocess = list(paths), preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor | str:
        try:
            return self.preprocess(open_sketch(self.paths[index]))
        except BadInput as error:
            return str(error)


def stack_or_error(items: list[torch.Tensor | str]) -> torch.Tensor | str:
    """DataLoader collate: a batch tensor, or the first bad file's message."""
    errors = [item for item in items if isinstance(item, str)]
    return errors[0] if errors else torch.stack(items)
