"""The one photo reader: every kind of photo a lab has becomes the target of its upright 8-bit
original, or is refused with one sentence naming it (never silently another picture).

Each test writes the photo from an upright 8-bit original and compares the loaded target with
the original's own target: a reader that ignored orientation, clipped 16 bits or dropped
transparency would differ by far more than the tolerance of lossy formats.
"""

import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from sketchgen.photos import MAX_PHOTO_PIXELS, read_mask, read_photo
from sketchgen.preprocess import load_target
from sketchlab.errors import BadInput
from tests.lab_photos import (
    EXIF_ORIENTATION,
    STORE,
    phone_jpeg,
    png_16_bit,
    png_file,
    upright_original,
)

WIDTH, HEIGHT = 240, 160  # landscape, so a photo read on its side has another shape


def target_of(image: Image.Image, folder: Path, name="original.png", **kwargs) -> torch.Tensor:
    path = folder / name
    image.save(path)
    return load_target(path, **kwargs)


def assert_same_picture(target, expected, mean_tolerance=2 / 255, max_tolerance=24 / 255):
    """Equal up to lossy coding: a mean error of a couple of levels, no large local error."""
    assert target.shape == expected.shape == (3, 224, 224)
    difference = (target - expected).abs()
    assert difference.mean() < mean_tolerance, f"mean difference {difference.mean():.4f}"
    assert difference.max() < max_tolerance, f"max difference {difference.max():.4f}"


@pytest.fixture
def original() -> Image.Image:
    return upright_original()


@pytest.fixture
def expected(original, tmp_path) -> torch.Tensor:
    return target_of(original, tmp_path)


@pytest.mark.parametrize("orientation", sorted(STORE))
def test_phone_jpeg_is_read_upright_by_its_exif_orientation(
    orientation, original, expected, tmp_path
):
    path = phone_jpeg(original, tmp_path / "phone.jpg", orientation)
    with Image.open(path) as stored:
        assert stored.size == ((HEIGHT, WIDTH) if orientation >= 5 else (WIDTH, HEIGHT))
    photo = read_photo(path)
    assert photo.size == (WIDTH, HEIGHT) and photo.orientation == orientation
    assert photo.stored_size == stored.size
    assert_same_picture(load_target(path), expected)


def test_mask_on_the_stored_pixels_turns_with_its_phone_photo(original, tmp_path):
    """Orientation 6: the mask of the file's (sideways) pixels stays on the object."""
    mask = Image.new("L", original.size, 0)
    mask.paste(255, (60, 40, 180, 120))
    expected = load_target(
        _saved(original, tmp_path / "up.png"), _saved(mask, tmp_path / "up_mask.png")
    )
    photo = phone_jpeg(original, tmp_path / "phone.jpg", 6)
    stored_mask = _saved(mask.transpose(Image.Transpose.ROTATE_90), tmp_path / "stored_mask.png")
    assert_same_picture(load_target(photo, stored_mask), expected)
    upright_mask = _saved(mask, tmp_path / "upright_mask.png")  # made on the upright photo
    assert_same_picture(load_target(photo, upright_mask), expected)
    wrong = _saved(Image.new("L", (100, 100), 255), tmp_path / "wrong_mask.png")
    with pytest.raises(BadInput, match=r"100x100 pixels but its photo is 240x160 \(stored as "):
        read_mask(wrong, read_photo(photo))


def _saved(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def test_16_bit_greyscale_png_is_scaled_not_clipped(original, tmp_path):
    grey = original.convert("L")
    wide = (np.asarray(grey).astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode == "I;16"
    assert_same_picture(
        load_target(tmp_path / "scan.png"), target_of(grey, tmp_path), 0.5 / 255, 1.5 / 255
    )


def test_16_bit_rgb_tiff_and_png_are_scaled(original, expected, tmp_path):
    wide = np.asarray(original).astype(np.uint16) * 257
    tifffile.imwrite(tmp_path / "scan.tif", wide, photometric="rgb")
    assert_same_picture(load_target(tmp_path / "scan.tif"), expected, 0.5 / 255, 1.5 / 255)
    png_16_bit(tmp_path / "scan.png", wide)
    assert_same_picture(load_target(tmp_path / "scan.png"), expected, 0.5 / 255, 1.5 / 255)


@pytest.mark.parametrize(
    ("dtype", "full_scale"),
    [(np.int32, 2**31 - 1), (np.uint32, 2**32 - 1)],
    ids=["signed", "unsigned"],
)
def test_32_bit_integer_tiff_is_scaled_from_its_full_range(dtype, full_scale, original, tmp_path):
    grey = original.convert("L")
    pixels = np.rint(np.asarray(grey, dtype=np.float64) / 255 * full_scale).astype(dtype)
    tifffile.imwrite(tmp_path / "scan.tif", pixels)
    assert Image.open(tmp_path / "scan.tif").mode == "I"
    expected = target_of(grey, tmp_path)
    assert_same_picture(load_target(tmp_path / "scan.tif"), expected, 0.5 / 255, 1.5 / 255)


def test_32_bit_float_tiff_is_read_as_0_to_1(original, tmp_path):
    grey = original.convert("L")
    pixels = np.asarray(grey, dtype=np.float32) / 255
    Image.fromarray(pixels).save(tmp_path / "scan.tif")
    assert Image.open(tmp_path / "scan.tif").mode == "F"
    expected = target_of(grey, tmp_path)
    assert_same_picture(load_target(tmp_path / "scan.tif"), expected, 0.5 / 255, 1.5 / 255)
    Image.fromarray(pixels * 1000).save(tmp_path / "hdr.tif")
    with pytest.raises(
        BadInput, match=r"hdr\.tif holds floating-point pixels from 109\.8\d* to 1000"
    ):
        load_target(tmp_path / "hdr.tif")


def test_negative_integer_pixels_are_refused(tmp_path):
    Image.fromarray(np.full((8, 8), -5, np.int32)).save(tmp_path / "signed.tif")
    with pytest.raises(BadInput, match=r"signed\.tif holds negative pixel values"):
        read_photo(tmp_path / "signed.tif")


def test_cmyk_jpeg(original, expected, tmp_path):
    original.convert("CMYK").save(tmp_path / "print.jpg", quality=97, subsampling=0)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    assert_same_picture(load_target(tmp_path / "print.jpg"), expected)


def test_transparent_png_is_composited_on_white(original, tmp_path):
    rgba = np.dstack([np.asarray(original), np.full((HEIGHT, WIDTH), 255, np.uint8)])
    rgba[:50, 150:] = (255, 0, 0, 0)  # invisible red: must come out white
    rgba[100:, :60, 3] = 128  # half transparent over white
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    on_white = np.asarray(original).astype(np.float64)
    on_white[:50, 150:] = 255
    on_white[100:, :60] = (on_white[100:, :60] * 128 + 255 * 127) / 255
    expected = target_of(Image.fromarray(np.rint(on_white).astype(np.uint8)), tmp_path)
    assert_same_picture(load_target(tmp_path / "cutout.png"), expected, 0.5 / 255, 1.5 / 255)


def test_palette_gif_with_transparency(tmp_path):
    original = upright_original().quantize(colors=64).convert("RGB")  # a GIF holds 256 colours
    pixels = np.asarray(original).copy()
    palette_image = original.quantize(colors=255)
    indices = np.asarray(palette_image).copy()
    indices[:40, :40] = 255  # the transparent colour
    gif = Image.fromarray(indices, "P")
    gif.putpalette(palette_image.getpalette()[: 255 * 3] + [0, 255, 0])
    gif.save(tmp_path / "icon.gif", transparency=255)
    pixels[:40, :40] = 255
    expected = target_of(Image.fromarray(pixels), tmp_path)
    assert_same_picture(load_target(tmp_path / "icon.gif"), expected, 0.5 / 255, 1.5 / 255)


def test_webp(original, expected, tmp_path):
    original.save(tmp_path / "web.webp", lossless=True)
    assert_same_picture(load_target(tmp_path / "web.webp"), expected, 0.01 / 255, 0.01 / 255)


def test_heic_is_read_through_pillow_heif_and_turned_upright(original, expected, tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")  # a dependency: installed with sketchlab
    pillow_heif.from_pillow(original).save(tmp_path / "iphone.heic", quality=-1)
    assert_same_picture(load_target(tmp_path / "iphone.heic"), expected, 3 / 255)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    sideways = pillow_heif.from_pillow(original.transpose(Image.Transpose.ROTATE_90))
    sideways.save(tmp_path / "portrait.heic", quality=-1, exif=exif.tobytes())
    photo = read_photo(tmp_path / "portrait.heic")
    assert photo.orientation == 6 and photo.size == (WIDTH, HEIGHT)
    assert_same_picture(load_target(tmp_path / "portrait.heic"), expected, 3 / 255)


def test_heic_without_pillow_heif_says_how_to_convert(original, tmp_path, monkeypatch):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.from_pillow(original).save(tmp_path / "iphone.heic", quality=-1)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if not installed
    monkeypatch.delitem(Image.OPEN, "HEIF", raising=False)  # nor registered by an earlier test
    monkeypatch.setattr(Image, "ID", [name for name in Image.ID if name != "HEIF"])
    expected = r"iphone\.heic is a HEIC/HEIF photo .*pip install pillow-heif.*convert it to JPEG"
    with pytest.raises(BadInput, match=expected):
        load_target(tmp_path / "iphone.heic")


def test_tiny_thumbnail_is_read(tmp_path):
    thumbnail = upright_original((20, 14))
    photo = read_photo(_saved(thumbnail, tmp_path / "thumb.png"))
    assert photo.size == (20, 14)
    assert load_target(tmp_path / "thumb.png").shape == (3, 224, 224)


def test_6000_by_4000_jpeg_is_read_like_its_small_original(original, expected, tmp_path):
    big = original.resize((6000, 4000), Image.Resampling.BICUBIC)
    big.save(tmp_path / "camera.jpg", quality=92)
    started = time.perf_counter()
    target = load_target(tmp_path / "camera.jpg")
    seconds = time.perf_counter() - started
    assert_same_picture(target, expected, 3 / 255, 40 / 255)
    assert seconds < 20, f"reading a 24-megapixel JPEG took {seconds:.1f} s"


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    """A 400-byte PNG that claims 20,000 x 20,000 pixels (1.2 GB decoded)."""
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(png_file(header, zlib.compress(b"\0" * 1000)))
    expected = rf"bomb\.png is larger than {MAX_PHOTO_PIXELS:,} pixels.*decompression bomb"
    with pytest.raises(BadInput, match=expected):
        load_target(tmp_path / "bomb.png")


@pytest.mark.parametrize(
    "content",
    [b"GIF89a but not really", b"\xff\xd8\xff\xe0" + bytes(300), b""],
    ids=["garbage", "broken-jpeg", "empty"],
)
def test_corrupt_file_is_refused_naming_it(content, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(content)
    with pytest.raises(BadInput, match=r"broken\.jpg is not a readable image \("):
        load_target(tmp_path / "broken.jpg")


def test_truncated_jpeg_is_refused(original, tmp_path):
    data = phone_jpeg(original, tmp_path / "whole.jpg", None).read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match=r"half\.jpg is not a readable image"):
        read_photo(tmp_path / "half.jpg")
