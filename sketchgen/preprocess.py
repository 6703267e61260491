"""Target photo → the 224×224 [0,1] tensor CLIPasso optimises against.

Follows the reference `painterly_rendering.py: get_target`: RGBA is composited on white;
an optional mask puts the object on white (as `--mask_object 1` does with U2Net's mask,
here read from a file); then a non-square image is resized straight to 224×224 with
bicubic interpolation (squashed, nothing cropped) and a square one is bicubic-resized to
224 and centre-cropped. No CLIP normalisation here: the losses apply it.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms

from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput


def load_target(
    path: str | os.PathLike, mask_path: str | os.PathLike | None = None
) -> torch.Tensor:
    """Read a photo (and optional object mask) as a (3, 224, 224) float tensor in [0, 1].

    mask_path: an image of the same size, object = bright (≥ 50 % grey), background = dark;
    the background becomes white.
    """
    image = _open(path, "image")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, "WHITE")
        canvas.paste(image, (0, 0), image)
        image = canvas
    image = image.convert("RGB")
    if mask_path is not None:
        image = _mask_on_white(image, _open(mask_path, "mask"), path, mask_path)
    return resize_like_clipasso(image)


def resize_like_clipasso(image: Image.Image, size: int = CANVAS) -> torch.Tensor:
    """The reference's resize rule: squash non-square images, resize + centre-crop square ones."""
    if image.size[0] != image.size[1]:
        steps = [
            transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BICUBIC)
        ]
    else:
        steps = [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
        ]
    return transforms.Compose([*steps, transforms.ToTensor()])(image)


def _open(path: str | os.PathLike, what: str) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except FileNotFoundError as error:
        raise BadInput(f"the {what} file {path} does not exist") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BadInput(f"the {what} file {path} is not a readable image ({error})") from error
    return image


def _mask_on_white(
    image: Image.Image, mask: Image.Image, path: str | os.PathLike, mask_path: str | os.PathLike
) -> Image.Image:
    """Object pixels kept, background white, as the reference's masked image (scaled by the max)."""
    if mask.size != image.size:
        raise BadInput(
            f"the mask {mask_path} is {mask.size[0]}x{mask.size[1]} pixels but the image {path} is "
            f"{image.size[0]}x{image.size[1]}; they must be the same size"
        )
    keep = np.asarray(mask.convert("L"), dtype=np.float64)[..., None] >= 128
    pixels = np.asarray(image, dtype=np.float64)
    pixels = pixels / max(pixels.max(), 1.0)
    pixels = np.where(keep, pixels, 1.0)
    return Image.fromarray((pixels / pixels.max() * 255).astype(np.uint8))
