"""Photo files as labs collect them, made from an upright 8-bit original (for the photo
reader's tests and the end-to-end ones): a phone JPEG stored on its side, a 16-bit scan, a
CMYK print file, a transparent cut-out, a palette GIF, a WebP, an iPhone HEIC, a thumbnail
and a 24-megapixel camera JPEG."""

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112
STORE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}
"""The stored pixels of an upright picture for each EXIF orientation: the inverse of what a
viewer does to show them (6 means "turn 90 degrees clockwise to view")."""


def upright_original(size=(240, 160)) -> Image.Image:
    """A smooth, asymmetric 8-bit RGB picture: colour ramps, a dark block top left and a
    white region bottom right (turned or mirrored, it no longer matches itself)."""
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    pixels = np.stack(
        [40 + 180 * x + 0 * y, 60 + 150 * y + 0 * x, 200 - 120 * x * y], axis=-1
    ).astype(np.uint8)
    pixels[: height // 3, : width // 4] = (20, 20, 90)
    pixels[height * 2 // 3 :, width * 3 // 4 :] = 255
    return Image.fromarray(pixels)


def phone_jpeg(upright: Image.Image, path: Path, orientation: int | None = 6) -> Path:
    """A JPEG of `upright` stored as a phone stores it under EXIF `orientation`."""
    stored = upright
    for step in STORE.get(orientation, []):
        stored = stored.transpose(step)
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    stored.save(path, quality=97, subsampling=0, exif=exif.tobytes())
    return path


def png_16_bit(path: Path, pixels: np.ndarray) -> Path:
    """A PNG with 16 bits per sample (grey for (H, W), RGB for (H, W, 3)); Pillow cannot
    write a 16-bit RGB one."""
    height, width = pixels.shape[:2]
    rows = b"".join(b"\0" + pixels[y].astype(">u2").tobytes() for y in range(height))
    colour = 2 if pixels.ndim == 3 else 0
    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    path.write_bytes(png_file(header, zlib.compress(rows)))
    return path


def png_file(header: bytes, data: bytes) -> bytes:
    """A PNG file from its IHDR fields and compressed IDAT data."""
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", data), _chunk(b"IEND", b"")]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def lab_folder(root: Path) -> dict[str, Path]:
    """A `sketchlab images` folder with one photo of each kind, by name; each is made from
    `upright_original((300, 240))` except the 20 x 14 thumbnail."""
    import pillow_heif

    original = upright_original((300, 240))
    for name in ("cat", "cup", "bird", "car"):
        (root / name).mkdir(parents=True, exist_ok=True)
    made = {"phone": phone_jpeg(original, root / "cat" / "phone.jpg", 6)}
    grey = np.asarray(original.convert("L")).astype(np.uint16) * 257
    made["scan"] = png_16_bit(root / "cat" / "scan.png", grey)
    made["print"] = root / "cup" / "print.jpg"
    original.convert("CMYK").save(made["print"], quality=95)
    made["cutout"] = root / "cup" / "cutout.png"
    alpha = Image.new("L", original.size, 255)
    alpha.paste(0, (200, 0, 300, 80))  # a transparent corner
    rgba = original.convert("RGBA")
    rgba.putalpha(alpha)
    rgba.save(made["cutout"])
    made["icon"] = root / "bird" / "icon.gif"
    original.quantize(colors=200).save(made["icon"])
    made["web"] = root / "bird" / "web.webp"
    original.save(made["web"], lossless=True)
    made["iphone"] = root / "bird" / "iphone.heic"
    pillow_heif.from_pillow(original).save(made["iphone"], quality=-1)
    made["thumb"] = root / "cat" / "thumb.png"
    upright_original((20, 14)).save(made["thumb"])
    made["camera"] = root / "car" / "camera.jpg"
    original.resize((6000, 4000), Image.Resampling.BICUBIC).save(made["camera"], quality=90)
    return made
