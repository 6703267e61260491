"""A folder of photos as a lab collects them, through `sketchlab images` and `generate`: every
kind is read (and recorded) as the picture it shows, a too-small photo is warned about, all
problems of a folder are listed at once, and the contact sheet shows exactly the target the
optimiser saw, fitted to the canvas as `--fit` says."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from sketchgen.preprocess import fit_to_canvas, load_target
from tests.lab_photos import lab_folder, upright_original

QUICK = ["--method", "xdog", "--init", "edges", "--preset", "demo", "--iterations", "3"]
QUICK += ["--levels", "2", "--seeds", "0", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("lab") / "photos"
    return root, lab_folder(root)


def test_images_reads_every_kind_and_records_upright_size_and_orientation(
    lab, tmp_path, run_sketchlab
):
    root, photos = lab
    code, out, err = run_sketchlab("images", root, "--out", tmp_path / "images.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "images.csv").set_index("image_id")
    assert set(table.index) == set(photos)
    assert table.loc["phone", ["width", "height", "orientation"]].tolist() == [300, 240, 6]
    assert table.loc["camera", ["width", "height", "orientation"]].tolist() == [6000, 4000, 1]
    assert table.loc["thumb", ["width", "height"]].tolist() == [20, 14]
    assert (table.drop(index=["camera", "thumb"])[["width", "height"]] == [300, 240]).all().all()
    assert "1 turned upright by their EXIF orientation" in out
    warnings = err.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("sketchlab: warning: photo ")
    assert "thumb.png is only 20x14 pixels: its short side is below 224" in warnings[0]
    assert "enlarged 16.0x" in warnings[0]


def test_min_side_sets_the_small_photo_warning(lab, tmp_path, run_sketchlab):
    root, _ = lab
    code, _, err = run_sketchlab("images", root, "--out", tmp_path / "i.csv", "--min-side", 250)
    assert code == 0, err
    assert err.count("sketchlab: warning: ") == 8  # every 300 x 240 photo, and the thumbnail


def test_images_lists_every_problem_in_the_folder_at_once(lab, tmp_path, run_sketchlab):
    root = tmp_path / "photos"
    shutil.copytree(lab[0], root)
    (root / "cat" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    camera = (root / "car" / "camera.jpg").read_bytes()
    (root / "car" / "camera.jpg").write_bytes(camera[: len(camera) // 3])
    (root / "dog").mkdir()
    Image.new("L", (8, 8), 255).save(root / "bird" / "ghost_mask.png")
    out = tmp_path / "images.csv"
    code, _, err = run_sketchlab("images", root, "--out", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0] == f"sketchlab: 4 problems in {root}:"
    assert len(lines) == 5 and all(line.startswith("  - ") for line in lines[1:])
    assert "corrupt.jpg is not a readable image (" in err
    assert "camera.jpg is not a readable image (" in err
    assert "class folder" in err and "dog holds no photos" in err
    assert "ghost_mask.png has no photo beside it" in err
    assert not out.exists()


def _generate(images_csv, out, *extra):
    """`sketchlab generate` in this process: (exit code, stderr)."""
    import contextlib
    import io
    import sys

    from sketchlab.cli import main

    err = io.StringIO()
    argv = ["sketchlab", "generate", str(images_csv), "--out", str(out), *QUICK, *extra]
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(err):
        patch.setattr(sys, "argv", argv)
        try:
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return code, err.getvalue()


@pytest.fixture(scope="module")
def phone_run(lab, tmp_path_factory) -> tuple[Path, Path, str]:
    """A generate run (the paper preset's fit, squash) of the phone photo, the 16-bit scan and
    the thumbnail; returns (images.csv, run folder, its stderr)."""
    _, photos = lab
    folder = tmp_path_factory.mktemp("phone_run")
    rows = [
        {"image_id": name, "class": "cat", "path": str(photos[name])}
        for name in ("phone", "scan", "thumb")
    ]
    pd.DataFrame(rows).to_csv(folder / "images.csv", index=False)
    code, err = _generate(folder / "images.csv", folder / "run")
    assert code == 0, err
    return folder / "images.csv", folder / "run", err


def sheet_panel(sheet_png: Path, target: torch.Tensor) -> np.ndarray:
    """The 224 x 224 photo cell of a one-row contact sheet: the region whose top-left pixel
    row matches the target's (found by search, so the test does not restate the layout)."""
    sheet = np.asarray(Image.open(sheet_png).convert("RGB")).astype(int)
    expected = (target * 255).round().to(torch.uint8).permute(1, 2, 0).numpy().astype(int)
    for y in range(sheet.shape[0] - 223):
        for x in range(sheet.shape[1] - 223):
            if np.array_equal(sheet[y, x : x + 224], expected[0]):
                return sheet[y : y + 224, x : x + 224]
    raise AssertionError(f"no cell of {sheet_png} starts with the target's first row")


def test_generate_sketches_the_phone_photo_upright_and_warns_about_the_thumbnail(phone_run, lab):
    _, out, err = phone_run
    assert "sketchlab: warning: photo " in err and "thumb.png is only 20x14 pixels" in err
    assert json.loads((out / "run.json").read_text())["settings"]["fit"] == "squash"
    _, photos = lab
    for name in ("phone", "scan"):
        target = load_target(photos[name])
        panel = sheet_panel(out / "sheets" / f"{name}.png", target)
        expected = (target * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        assert np.array_equal(panel, expected), f"{name}: the sheet shows another picture"
    upright = load_target(_saved(upright_original((300, 240)), out.parent / "upright.png"))
    assert (load_target(photos["phone"]) - upright).abs().mean() < 2 / 255


def _saved(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def test_fit_is_kept_for_the_run_folder_and_a_resume_with_another_is_refused(phone_run, tmp_path):
    images_csv, _, _ = phone_run
    out = tmp_path / "padded"
    code, err = _generate(images_csv, out, "--fit", "pad")
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["settings"]["fit"] == "pad"
    code, err = _generate(images_csv, out, "--fit", "crop")
    assert code == 2 and "was made with fit='pad', not 'crop'" in err
    code, err = _generate(images_csv, out)  # the preset's squash is another fit too
    assert code == 2 and "was made with fit='pad', not 'squash'" in err
    markers = {p: p.read_text() for p in (out / "done").glob("*.json")}
    code, err = _generate(images_csv, out, "--fit", "pad")
    assert code == 0, err
    assert {p: p.read_text() for p in markers} == markers


def test_a_run_folder_from_before_the_fit_setting_resumes_as_squash(phone_run, tmp_path):
    images_csv, finished, _ = phone_run
    old = tmp_path / "old"
    shutil.copytree(finished, old)
    run = json.loads((old / "run.json").read_text())
    del run["settings"]["fit"]
    (old / "run.json").write_text(json.dumps(run))
    code, err = _generate(images_csv, old)
    assert code == 0, err
    code, err = _generate(images_csv, old, "--fit", "crop")
    assert code == 2 and "was made with fit='squash', not 'crop'" in err


def test_pad_keeps_the_whole_photo_and_crop_its_centre(tmp_path):
    """A 300 x 150 photo: pad = the photo at 224 x 112 between white bars of 56 pixels;
    crop = its centre 150 x 150 square; squash = all of it at 224 x 224."""
    wide = Image.new("RGB", (300, 150), (200, 30, 30))
    wide.paste((30, 30, 200), (0, 0, 30, 150))  # a blue band at the left tenth
    padded = fit_to_canvas(wide, "pad")
    assert (padded[:, :56] == 1).all() and (padded[:, -56:] == 1).all()
    assert padded[:, 112, 5].tolist() == pytest.approx([30 / 255, 30 / 255, 200 / 255], abs=0.02)
    cropped = fit_to_canvas(wide, "crop")
    red = torch.tensor([200, 30, 30]).view(3, 1, 1) / 255
    assert (cropped - red).abs().max() < 0.02  # the blue band is cut off
    squashed = fit_to_canvas(wide, "squash")
    assert squashed[:, 112, 5].tolist() == pytest.approx([30 / 255, 30 / 255, 200 / 255], abs=0.02)
    square = Image.new("RGB", (100, 100), (10, 200, 10))
    assert torch.equal(fit_to_canvas(square, "pad"), fit_to_canvas(square, "squash"))
    assert torch.equal(fit_to_canvas(square, "crop"), fit_to_canvas(square, "squash"))


def test_paper_preset_squashes_like_the_reference_code():
    from sketchgen.presets import PRESETS

    assert PRESETS["paper"].fit == "squash"
