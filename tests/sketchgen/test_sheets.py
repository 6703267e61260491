"""PNG export and contact sheets (photo, then its sketches by level, one row per image)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sketchgen.sheets import contact_sheet, save_png
from sketchgen.svg import write_svg
from sketchlab.errors import BadInput
from tests.lab_photos import phone_jpeg

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_png_holds_the_tensor_as_8_bit_rgb(tmp_path: Path) -> None:
    image = torch.rand(3, 10, 14, generator=torch.Generator().manual_seed(0))
    save_png(image, tmp_path / "x.png")
    saved = np.asarray(Image.open(tmp_path / "x.png"))
    assert saved.shape == (10, 14, 3)
    expected = (image * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(saved, expected)


def test_png_of_a_transparent_pil_image_is_composited_over_white(tmp_path: Path) -> None:
    save_png(Image.new("RGBA", (4, 4), (255, 0, 0, 0)), tmp_path / "x.png")
    assert Image.open(tmp_path / "x.png").getpixel((1, 1)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("image", "expected"),
    [(torch.zeros(4, 8, 8), r"shape \(3, H, W\)"), (torch.full((3, 2, 2), float("nan")), "NaN")],
)
def test_bad_png_input_is_refused_and_nothing_is_written(tmp_path: Path, image, expected) -> None:
    with pytest.raises(BadInput, match=expected):
        save_png(image, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def colour_centre(sheet: np.ndarray, colour) -> tuple[float, float]:
    """(x, y) centre of the pixels of one exact colour, and check there are many."""
    ys, xs = np.nonzero((sheet == colour).all(axis=-1))
    assert len(xs) > 1000, f"{colour} is (almost) missing from the sheet"
    return xs.mean(), ys.mean()


def test_contact_sheet_puts_photo_then_levels_in_rows(tmp_path: Path) -> None:
    Image.new("RGB", (50, 30), RED).save(tmp_path / "photo.jpg", quality=100)
    green = torch.zeros(3, 40, 40)
    green[1] = 1
    sketch = tmp_path / "sketch.svg"
    diagonal = torch.tensor([[[2.0, 2.0], [10.0, 10.0], [20.0, 20.0], [30.0, 30.0]]])
    write_svg(sketch, diagonal, 1.5, 32)
    rows = [
        [Image.new("RGB", (64, 64), RED), green, None, sketch],
        [Image.new("RGB", (64, 64), BLUE)],
    ]
    contact_sheet(
        rows,
        tmp_path / "sheet.png",
        row_labels=["cat_1", "dog_2"],
        col_labels=["photo", "4", "8", "16"],
        cell=96,
    )
    sheet = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB"))
    red_x, red_y = colour_centre(sheet, RED)
    green_x, green_y = colour_centre(sheet, GREEN)
    blue_x, blue_y = colour_centre(sheet, BLUE)
    assert red_x < green_x and abs(red_y - green_y) < 1  # columns left to right, same row
    assert blue_y > red_y + 90 and abs(blue_x - red_x) < 1  # second row under the first
    height, width, _ = sheet.shape
    assert width >= 4 * 96 and height >= 2 * 96
    # the SVG cell (4th column, first row) shows dark stroke pixels on white
    x, y = int(red_x + 3 * (green_x - red_x)), int(red_y)
    svg_cell = sheet[y - 40 : y + 40, x - 40 : x + 40]
    assert (svg_cell.max(axis=-1) < 80).sum() > 50
    # labels: dark text left of the first cell and above it
    assert (sheet[:, : int(red_x) - 48].max(axis=-1) < 100).sum() > 20
    assert (sheet[: int(red_y) - 48].max(axis=-1) < 100).sum() > 20


def test_contact_sheet_reads_image_files_and_rejects_missing_ones(tmp_path: Path) -> None:
    Image.new("RGB", (30, 20), RED).save(tmp_path / "photo.png")
    contact_sheet([[tmp_path / "photo.png"]], tmp_path / "sheet.png", cell=64)
    colour_centre(np.asarray(Image.open(tmp_path / "sheet.png")), RED)
    with pytest.raises(BadInput, match=r"nope\.png does not exist"):
        contact_sheet([[tmp_path / "nope.png"]], tmp_path / "other.png", cell=64)
    assert not (tmp_path / "other.png").exists()


def test_contact_sheet_rejects_labels_that_do_not_match_rows(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="2 row labels for 1 rows"):
        contact_sheet([[torch.zeros(3, 4, 4)]], tmp_path / "s.png", row_labels=["a", "b"])


def test_contact_sheet_shows_a_phone_photo_file_upright(tmp_path: Path) -> None:
    """A portrait photo stored on its side (EXIF orientation 6): red top, blue bottom."""
    upright = Image.new("RGB", (60, 120), RED)
    upright.paste(BLUE, (0, 60, 60, 120))
    phone_jpeg(upright, tmp_path / "portrait.jpg", 6)
    contact_sheet([[tmp_path / "portrait.jpg"]], tmp_path / "sheet.png", cell=128)
    sheet = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB")).astype(int)
    red = (np.abs(sheet - RED).max(axis=-1) < 40).nonzero()
    blue = (np.abs(sheet - BLUE).max(axis=-1) < 40).nonzero()
    assert len(red[0]) > 1000 and len(blue[0]) > 1000
    assert red[0].mean() + 40 < blue[0].mean()  # red above blue, not beside it
    assert abs(red[1].mean() - blue[1].mean()) < 2
