"""PNG export and contact sheets for looking at results.

A contact sheet has one row per photo: the photo, then its sketches by abstraction level
(columns labelled e.g. "photo, 4, 8, 16, 32"), with the image's name on the left. Cells
are `cell` x `cell` pixels; each picture is scaled to fit, centred on white. Both writers
are atomic, so an interrupted run never leaves a half-written PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from sketchgen.photos import as_rgb, read_photo
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path

CellImage = Image.Image | torch.Tensor | str | os.PathLike | None
_PAD = 6  # pixels between cells
_GRID = (200, 200, 200)  # light grey cell borders
_TEXT = (30, 30, 30)


def to_pil(image: Image.Image | torch.Tensor) -> Image.Image:
    """RGB PIL image from a (3, H, W) float tensor in [0, 1] or any PIL image (converted
    by the photo reader's rules: transparent parts over white, as CLIPasso shows its
    sketches; high bit depths scaled)."""
    if isinstance(image, Image.Image):
        return as_rgb(image)
    if not isinstance(image, torch.Tensor):
        raise BadInput(f"expected a PIL image or a (3, H, W) tensor, got {type(image).__name__}.")
    if image.dim() != 3 or image.shape[0] != 3 or image.shape[1] == 0 or image.shape[2] == 0:
        raise BadInput(f"an image tensor must have shape (3, H, W), got {tuple(image.shape)}.")
    if not torch.isfinite(image).all():
        raise BadInput("the image tensor contains NaN or infinite values.")
    pixels = image.detach().to("cpu", torch.float32).clamp(0, 1).mul(255).round()
    return Image.fromarray(pixels.to(torch.uint8).permute(1, 2, 0).numpy())


def save_png(image: Image.Image | torch.Tensor, path: str | os.PathLike) -> None:
    """Save a (3, H, W) tensor in [0, 1] or a PIL image as an RGB PNG, atomically."""
    picture = to_pil(image)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")


def contact_sheet(
    rows: Sequence[Sequence[CellImage]],
    path: str | os.PathLike,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    cell: int = 224,
) -> None:
    """Write a grid of pictures as one PNG, atomically.

    rows: one list per photo, e.g. [photo, sketch_4, sketch_8, sketch_16, sketch_32]; an
    item is a PIL image, a (3, H, W) tensor in [0, 1], a path to an image file (read upright
    by the photo reader, `sketchgen.photos`) or to a sketch SVG (rendered with the
    rasterizer at its own canvas size), or None for an empty cell (e.g. a level not
    generated yet). row_labels / col_labels: text left of each row /
    above each column. cell: the size of each square cell in pixels.
    """
    if not rows:
        raise BadInput("a contact sheet needs at least one row.")
    if isinstance(cell, bool) or not isinstance(cell, int) or cell < 16:
        raise BadInput(f"cell must be a whole number of pixels >= 16, got {cell!r}.")
    if row_labels is not None and len(row_labels) != len(rows):
        raise BadInput(f"got {len(row_labels)} row labels for {len(rows)} rows.")
    n_cols = max(len(row) for row in rows)
    if col_labels is not None and len(col_labels) > n_cols:
        n_cols = len(col_labels)

    font = ImageFont.load_default(size=max(12, cell // 14))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_height = probe.textbbox((0, 0), "Ag", font=font)[3]
    label_width = 0
    if row_labels is not None:
        label_width = max(probe.textlength(str(label), font=font) for label in row_labels)
        label_width = int(label_width) + 2 * _PAD
    header = text_height + 2 * _PAD if col_labels is not None else 0

    sheet = Image.new(
        "RGB",
        (label_width + n_cols * (cell + _PAD) + _PAD, header + len(rows) * (cell + _PAD) + _PAD),
        "white",
    )
    draw = ImageDraw.Draw(sheet)
    for col, label in enumerate(col_labels or []):
        x = label_width + _PAD + col * (cell + _PAD) + cell // 2
        draw.text((x, header // 2), str(label), fill=_TEXT, font=font, anchor="mm")
    for r, row in enumerate(rows):
        y = header + _PAD + r * (cell + _PAD)
        if row_labels is not None:
            draw.text((_PAD, y + cell // 2), str(row_labels[r]), fill=_TEXT, font=font, anchor="lm")
        for c in range(n_cols):
            x = label_width + _PAD + c * (cell + _PAD)
            item = row[c] if c < len(row) else None
            if item is not None:
                picture = _load(item)
                picture.thumbnail((cell, cell), Image.LANCZOS)
                if max(picture.size) < cell:  # small pictures grow to fill the cell
                    scale = cell / max(picture.size)
                    picture = picture.resize(
                        (
                            max(1, round(picture.width * scale)),
                            max(1, round(picture.height * scale)),
                        ),
                        Image.LANCZOS,
                    )
                sheet.paste(
                    picture, (x + (cell - picture.width) // 2, y + (cell - picture.height) // 2)
                )
            draw.rectangle((x - 1, y - 1, x + cell, y + cell), outline=_GRID)
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")


def _load(item: CellImage) -> Image.Image:
    if isinstance(item, (str, os.PathLike)):
        file = Path(item)
        if not file.is_file():
            raise BadInput(f"{file} does not exist, so it cannot go on the contact sheet.")
        if file.suffix.lower() == ".svg":
            return to_pil(_render_svg(file))
        return read_photo(file).image
    return to_pil(item)


def _render_svg(file: Path) -> torch.Tensor:
    """(3, H, W) render of a sketch SVG on its own canvas, black over white."""
    from sketchgen.raster import render
    from sketchgen.svg import read_svg

    sketch = read_svg(file)
    with torch.no_grad():
        image = render(
            sketch.points, sketch.half_widths, (sketch.height, sketch.width), colors=sketch.colors
        )
    return image if image.dim() == 3 else image[0]
