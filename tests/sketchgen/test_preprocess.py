"""Photo → 224×224 target, with the reference's resize rules, alpha and mask handling."""

import numpy as np
import pytest
import torch
from PIL import Image

from sketchgen.preprocess import load_target
from sketchlab.errors import BadInput


def _save(array: np.ndarray, path) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_non_square_photo_is_squashed_not_cropped(tmp_path):
    photo = np.full((200, 400, 3), 255, np.uint8)
    photo[:, 380:] = (0, 0, 255)  # a blue stripe along the right edge (5 % of the width)
    target = load_target(_save(photo, tmp_path / "wide.png"))
    assert target.shape == (3, 224, 224) and target.dtype == torch.float32
    assert target[:, 112, 220].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=0.02)
    assert target[:, 112, 100].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=0.02)


def test_square_photo_is_resized_bicubic_then_centre_cropped(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    target = load_target(_save(photo, tmp_path / "square.png"))
    expected = Image.fromarray(photo).resize((224, 224), Image.Resampling.BICUBIC)
    expected = torch.from_numpy(np.array(expected)).permute(2, 0, 1).float() / 255
    assert target.shape == (3, 224, 224)
    assert (target - expected).abs().max() < 2 / 255


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((224, 224, 4), np.uint8)
    rgba[50:100, 50:100] = (255, 0, 0, 255)
    target = load_target(_save(rgba, tmp_path / "cutout.png"))
    assert target[:, 10, 10].tolist() == [1.0, 1.0, 1.0]
    assert target[:, 75, 75].tolist() == pytest.approx([1.0, 0.0, 0.0], abs=0.01)


def test_mask_puts_the_object_on_white(tmp_path):
    photo = np.full((224, 224, 3), 40, np.uint8)
    photo[0, 0] = 255  # the reference scales by the photo's maximum before masking
    mask = np.zeros((224, 224), np.uint8)
    mask[60:160, 60:160] = 255
    target = load_target(_save(photo, tmp_path / "p.png"), _save(mask, tmp_path / "m.png"))
    assert target[:, 10, 10].tolist() == [1.0, 1.0, 1.0]
    assert target[:, 110, 110].tolist() == pytest.approx([40 / 255] * 3, abs=0.01)


def test_bad_inputs_name_the_file(tmp_path):
    photo = _save(np.zeros((100, 120, 3), np.uint8), tmp_path / "p.png")
    small_mask = _save(np.zeros((50, 50), np.uint8), tmp_path / "small_mask.png")
    with pytest.raises(BadInput, match="small_mask.png is 50x50 pixels but its photo is 120x100"):
        load_target(photo, small_mask)
    with pytest.raises(BadInput, match="missing.png does not exist"):
        load_target(tmp_path / "missing.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(BadInput, match="broken.jpg is not a readable image"):
        load_target(tmp_path / "broken.jpg")
