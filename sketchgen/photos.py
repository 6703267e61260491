"""The one photo reader: any image file a lab has -> the upright 8-bit RGB picture it shows.

Every command that reads a photo (`images`, `generate`, `loss`, `score --photos`, contact
sheets) and every object mask goes through `read_photo` / `read_mask`, so a photo is the
same stimulus everywhere, and a file that cannot be read faithfully stops the command with
one sentence naming it instead of silently becoming another picture:

- **Orientation.** Phones store portrait shots on their side with an EXIF orientation tag
  (6 for most); the picture is turned upright as every viewer shows it. A mask is turned
  with its photo, so it stays aligned (`read_mask`).
- **Bit depth.** 16-bit and 32-bit integer pixels are scaled from their full range to
  0-255 (Pillow's own conversion clips them: a 16-bit scan became a white square);
  floating-point pixels are read as 0 = black to 1 = white, and refused outside that range.
- **Modes.** Greyscale, palette, CMYK (Pillow's conversion; an embedded colour profile is
  not applied), LAB, YCbCr: converted to RGB. Transparency is composited on white, as the
  reference code does (`painterly_rendering.py: get_target`).
- **HEIC/HEIF** (the iPhone's default) through pillow-heif, registered with Pillow the first
  time such a file is met; AVIF Pillow reads itself.
- **Decompression bombs.** A file claiming more than MAX_PHOTO_PIXELS is refused before it
  is decoded. Any other decoding failure (corrupt, truncated) names the file.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from sketchlab.errors import BadInput

MAX_PHOTO_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
"""178,956,970 pixels (e.g. 16,000 x 11,000): Pillow's own decompression-bomb limit. A
200-megapixel phone photo just fits; its target is 224 x 224 anyway."""

ORIENTATION_TAG = 0x0112
BITS_PER_SAMPLE, SAMPLE_FORMAT = 258, 339  # TIFF tags
UPRIGHT = 1
_TO_UPRIGHT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
"""EXIF orientation -> the transposition that shows the stored pixels upright (EXIF 2.3,
tag 0x0112; the same table as Pillow's ImageOps.exif_transpose). 5-8 swap width and height."""

_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})
HEIF_INSTALL = "pip install pillow-heif"


@dataclass(frozen=True)
class Photo:
    """A photo as read: `image` upright, 8-bit RGB, transparency on white."""

    image: Image.Image
    orientation: int
    """The file's EXIF orientation (1 = stored upright; 6 = stored turned 90 degrees
    anticlockwise, how most phones store portrait shots)."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, upright."""
        return self.image.size

    @property
    def stored_size(self) -> tuple[int, int]:
        """(width, height) of the pixels as the file stores them, before orientation."""
        width, height = self.image.size
        return (height, width) if self.orientation in (5, 6, 7, 8) else (width, height)


def read_photo(path: str | os.PathLike, *, what: str | None = None) -> Photo:
    """Read an image file as the upright 8-bit RGB picture a viewer shows (module docstring).

    what: how messages name the file (default: its path). Raises BadInput for a missing,
    unreadable, corrupt or oversized file, a HEIC file without pillow-heif, or pixels that
    cannot be mapped to 0-255 without guessing.
    """
    what = what or str(path)
    image = _decode(Path(path), what)
    orientation, turned = _orientation(image)
    picture = as_rgb(image, what=what)
    if not turned:
        picture = upright(picture, orientation)
    return Photo(picture, orientation)


def read_mask(path: str | os.PathLike, photo: Photo, *, what: str | None = None) -> Image.Image:
    """An object mask as an upright greyscale ("L") image aligned with `photo`.

    A mask lies on the photo's pixels as the file stores them (the same width x height) and is
    turned upright with the photo; a mask with an orientation tag of its own is turned by
    that, and one that is already upright (the photo's upright size, where that differs from
    the stored one) is taken as it is. BadInput names both sizes when it fits neither.
    """
    what = what or str(path)
    image = _decode(Path(path), what)
    own, turned = _orientation(image)
    mask = _eight_bit_image(image, what).convert("L")  # alpha ignored, as before masks had it
    if own != UPRIGHT:
        mask = mask if turned else upright(mask, own)
    elif mask.size == photo.stored_size:
        mask = upright(mask, photo.orientation)
    if mask.size != photo.size:
        (w, h), (pw, ph) = mask.size, photo.size
        stored = (
            f" (stored as {photo.stored_size[0]}x{photo.stored_size[1]}, EXIF orientation "
            f"{photo.orientation})"
            if photo.orientation != UPRIGHT
            else ""
        )
        raise BadInput(
            f"{what} is {w}x{h} pixels but its photo is {pw}x{ph}{stored}; a mask must match "
            "its photo's size."
        )
    return mask


def as_rgb(image: Image.Image, *, what: str = "the image") -> Image.Image:
    """8-bit RGB of any Pillow image: high bit depths scaled (not clipped), transparency
    composited on white. BadInput (naming `what`) for pixels that cannot be mapped."""
    image = _eight_bit_image(image, what)
    try:
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, "WHITE")
            white.paste(rgba, (0, 0), rgba)
            return white.convert("RGB")
        return image.convert("RGB")
    except ValueError as error:
        raise BadInput(
            f"{what} is a {image.mode} image, which cannot be converted to RGB ({error}); save it "
            "as an RGB JPEG or PNG."
        ) from error


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """`image` turned as EXIF `orientation` says (unknown values leave it as it is)."""
    for step in _TO_UPRIGHT.get(orientation, ()):
        image = image.transpose(step)
    return image


def _decode(path: Path, what: str) -> Image.Image:
    """Open and fully decode `path` (a truncated file fails here, not halfway through a run)."""
    if not path.is_file():
        raise BadInput(f"{what} does not exist.")
    if _looks_like_heif(path) and not _heif_registered():
        raise BadInput(
            f"{what} is a HEIC/HEIF photo (the iPhone's default format), which needs the "
            f"pillow-heif package ({HEIF_INSTALL}); or convert it to JPEG first (macOS: "
            f"sips -s format jpeg IN --out OUT.jpg; Linux: heif-convert IN OUT.jpg)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()
    except Image.DecompressionBombError as error:
        raise BadInput(
            f"{what} is larger than {MAX_PHOTO_PIXELS:,} pixels ({error}); it is refused as a "
            "possible decompression bomb: shrink it first (its target is 224 x 224 pixels)."
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadInput(f"{what} is not a readable image ({error}).") from error
    except Exception as error:  # noqa: BLE001 - a decoder's failure on a user's file
        raise BadInput(
            f"{what} is not a readable image ({type(error).__name__}: {error})."
        ) from error
    return image


def _orientation(image: Image.Image) -> tuple[int, bool]:
    """The file's EXIF orientation, and whether the decoder has already turned the pixels
    (pillow-heif does, keeping the tag in info["original_orientation"])."""
    if "original_orientation" in image.info:
        value, turned = image.info["original_orientation"], True
    else:
        try:
            value, turned = image.getexif().get(ORIENTATION_TAG, UPRIGHT), False
        except Exception:  # noqa: BLE001 - a broken EXIF block: show the pixels as stored
            return UPRIGHT, False
    return (value if value in _TO_UPRIGHT else UPRIGHT), turned


def _eight_bit_image(image: Image.Image, what: str) -> Image.Image:
    """`image` itself, or for a 16-bit, 32-bit integer or float one its "L" scaled to 0-255."""
    if image.mode not in _HIGH_DEPTH_MODES:
        return image
    return Image.fromarray(_eight_bit(image, what), "L")


def _eight_bit(image: Image.Image, what: str) -> np.ndarray:
    """Pixels of a 16-bit, 32-bit integer or float greyscale image scaled to 0-255."""
    pixels = np.asarray(image)
    if image.mode == "F":
        low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
        if not np.isfinite(pixels).all() or low < 0 or high > 1:
            raise BadInput(
                f"{what} holds floating-point pixels from {low:g} to {high:g}; sketchlab reads "
                "float images as 0 (black) to 1 (white): rescale it to that range or save it "
                "as 8- or 16-bit."
            )
        return np.rint(pixels * 255).astype(np.uint8)
    full_scale = _integer_full_scale(image, pixels)
    if image.mode == "I" and full_scale == 2**32 - 1:
        pixels = pixels.view(np.uint32)
    elif pixels.min() < 0:
        raise BadInput(
            f"{what} holds negative pixel values (down to {int(pixels.min())}); save it as an "
            "unsigned 8- or 16-bit image."
        )
    return np.rint(pixels.astype(np.float64) * (255 / full_scale)).astype(np.uint8)


def _integer_full_scale(image: Image.Image, pixels: np.ndarray) -> int:
    """White for an integer image: 65535 for 16 bits; for Pillow's 32-bit "I" the file's
    declared bits and signedness (TIFF), else 16 bits when every value fits them."""
    if image.mode != "I":
        return 2**16 - 1
    tags = getattr(image, "tag_v2", {})  # TIFF: BitsPerSample (258), SampleFormat (339)
    if BITS_PER_SAMPLE in tags:
        bits = np.atleast_1d(tags[BITS_PER_SAMPLE])[0]
        signed = np.atleast_1d(tags.get(SAMPLE_FORMAT, 1))[0] == 2
        if bits >= 32:
            return 2**31 - 1 if signed else 2**32 - 1
        return 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return 2**16 - 1 if pixels.max() <= 2**16 - 1 else 2**31 - 1


def _looks_like_heif(path: Path) -> bool:
    """An HEVC-coded HEIF file by its brand (or its suffix): Pillow alone cannot read it."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        return True
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _heif_registered() -> bool:
    """Register pillow-heif's HEIF opener with Pillow (once, when the first HEIC file is met,
    so nothing else pays for the import); False when it is not installed."""
    if "HEIF" in Image.OPEN:
        return True
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True
