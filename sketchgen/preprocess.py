"""Target photo → the 224×224 [0,1] tensor CLIPasso optimises against.

Follows the reference `painterly_rendering.py: get_target`: the photo is read upright, in
8-bit RGB, transparency on white (`sketchgen.photos`); an optional mask puts the object on
white (as `--mask_object 1` does with U2Net's mask, here read from a file); then the photo is
fitted to the 224 canvas with bicubic interpolation by one of FITS:

- `squash` (the reference's rule, the `paper` preset's): a non-square image is resized
  straight to 224×224 (its proportions change, nothing is cut off); a square one is resized
  to 224 and centre-cropped (a no-op).
- `pad`: the long side becomes 224 and the short side is padded with white, centred, so the
  object keeps its proportions and nothing is cut off.
- `crop`: the short side becomes 224 and the long side is centre-cropped to it.

No CLIP normalisation here: the losses apply it.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

from sketchgen.photos import read_mask, read_photo
from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput

FITTED = {"squash": "squashed", "pad": "padded", "crop": "cropped"}
"""How a photo is fitted to the square canvas (module docstring), and the word the contact
sheet's photo column uses for it."""
FITS = tuple(FITTED)


def check_fit(fit: str) -> str:
    """`--fit`, checked: BadInput naming the choices for anything else."""
    if fit not in FITS:
        raise BadInput(f"--fit {fit!r} is not known; use one of {', '.join(FITS)}.")
    return fit


_BICUBIC = transforms.InterpolationMode.BICUBIC


def load_target(
    path: str | os.PathLike, mask_path: str | os.PathLike | None = None, fit: str = "squash"
) -> torch.Tensor:
    """Read a photo (and optional object mask) as a (3, 224, 224) float tensor in [0, 1].

    mask_path: an image of the photo's size, object = bright (≥ 50 % grey), background =
    dark; the background becomes white. fit: one of FITS. BadInput names a file that cannot
    be read faithfully (sketchgen.photos) or a mask of another size.
    """
    photo = read_photo(path, what=f"the photo {path}")
    image = photo.image
    if mask_path is not None:
        image = _mask_on_white(image, read_mask(mask_path, photo, what=f"the mask {mask_path}"))
    return fit_to_canvas(image, fit)


def fit_to_canvas(image: Image.Image, fit: str = "squash", size: int = CANVAS) -> torch.Tensor:
    """(3, size, size) tensor in [0, 1] of an RGB image, fitted as `fit` says (FITS)."""
    check_fit(fit)
    if fit == "squash" and image.size[0] != image.size[1]:
        steps = [transforms.Resize((size, size), interpolation=_BICUBIC)]
    elif fit == "pad" and image.size[0] != image.size[1]:
        scale = size / max(image.size)
        inner = tuple(max(1, round(side * scale)) for side in image.size)
        resized = image.resize(inner, Image.Resampling.BICUBIC)
        image = Image.new("RGB", (size, size), "WHITE")
        image.paste(resized, ((size - inner[0]) // 2, (size - inner[1]) // 2))
        steps = []
    else:  # crop, or a square photo (every fit is the same)
        steps = [transforms.Resize(size, interpolation=_BICUBIC), transforms.CenterCrop(size)]
    return transforms.Compose([*steps, transforms.ToTensor()])(image)


def _mask_on_white(image: Image.Image, mask: Image.Image) -> Image.Image:
    """Object pixels kept, background white, as the reference's masked image (scaled by the max)."""
    keep = np.asarray(mask, dtype=np.float64)[..., None] >= 128
    pixels = np.asarray(image, dtype=np.float64)
    pixels = pixels / max(pixels.max(), 1.0)
    pixels = np.where(keep, pixels, 1.0)
    return Image.fromarray((pixels / pixels.max() * 255).astype(np.uint8))
