"""`sketchlab loss PHOTO SKETCH.svg`: the CLIPasso objective of a given sketch."""

import json
import sys

import pytest
import torch
from typer.testing import CliRunner

from sketchgen.losses import ClipassoLoss
from sketchgen.models import RANDOM_INIT_SEED, load_clip
from sketchgen.optimize import SketchJob, optimize_sketches
from sketchgen.preprocess import load_target
from sketchgen.svg import read_svg
from sketchlab import cli
from tests.conftest import TEST_DATA

PHOTO = TEST_DATA / "method" / "photo.png"
SKETCH = TEST_DATA / "method" / "clipasso_4strokes.svg"  # written in CLIPasso's SVG format
TINY = ["--model", "RN-tiny", "--weights", "random"]


def _loss(*options: str) -> dict:
    result = CliRunner().invoke(
        cli.app, ["loss", str(PHOTO), str(SKETCH), *TINY, "--json", *options]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_clean_pair_loss_is_deterministic_and_sums_its_terms():
    first = _loss("--augmentations", "0")
    assert {"total", "layer2", "layer3", "semantic"} <= set(first)
    assert first == _loss("--augmentations", "0")
    assert first["total"] == pytest.approx(
        first["layer2"] + first["layer3"] + first["semantic"], rel=1e-5
    )


def test_clean_pair_loss_equals_the_optimizers_eval_loss():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model, _ = load_clip("RN-tiny", None)
    strokes = read_svg(SKETCH).points
    job = SketchJob(image_id="photo", n_strokes=4, seed=0, init_points=strokes, iterations=1)
    [result] = optimize_sketches([job], {"photo": load_target(PHOTO)}, ClipassoLoss(model))
    assert result.best_iteration == 0
    assert _loss("--augmentations", "0")["total"] == pytest.approx(result.loss, rel=1e-5)


def test_augmented_loss_is_reproducible_per_seed():
    seeded = _loss("--augmentations", "2", "--seed", "1")
    assert seeded == _loss("--augmentations", "2", "--seed", "1")
    assert seeded["total"] != _loss("--augmentations", "2", "--seed", "2")["total"]


def test_missing_photo_exits_2_naming_the_file(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "nowhere.jpg"
    monkeypatch.setattr(sys, "argv", ["sketchlab", "loss", str(missing), str(SKETCH), *TINY])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    assert f"sketchlab: the photo {missing} does not exist" in capsys.readouterr().err


def test_unknown_device_exits_2_naming_the_choices(monkeypatch, capsys):
    argv = ["sketchlab", "loss", str(PHOTO), str(SKETCH), *TINY, "--device", "tpu"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    assert "--device 'tpu' is not valid; use auto, cpu, cuda or cuda:N." in capsys.readouterr().err


def test_diffvg_renderer_gives_the_loss_of_our_renderer(pydiffvg):
    ours = _loss("--augmentations", "0")
    theirs = _loss("--augmentations", "0", "--renderer", "diffvg")
    assert theirs["total"] == pytest.approx(ours["total"], rel=1e-3)


def test_diffvg_renderer_without_pydiffvg_exits_2_saying_how_to_get_it(
    without_pydiffvg, monkeypatch, capsys
):
    argv = ["sketchlab", "loss", str(PHOTO), str(SKETCH), *TINY, "--renderer", "diffvg"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "--renderer diffvg needs pydiffvg" in err and "github.com/BachiLi/diffvg" in err


def test_fit_chooses_how_the_photo_becomes_the_target():
    """The 240 x 180 photo: padded (white bars) it is another target than squashed."""
    squashed, padded = _loss("--augmentations", "0"), _loss("--augmentations", "0", "--fit", "pad")
    assert squashed == _loss("--augmentations", "0", "--fit", "squash")
    assert padded["total"] != pytest.approx(squashed["total"], rel=1e-4)
    result = CliRunner().invoke(cli.app, ["loss", str(PHOTO), str(SKETCH), *TINY, "--fit", "fill"])
    assert str(result.exception) == "--fit 'fill' is not known; use one of squash, pad, crop."
