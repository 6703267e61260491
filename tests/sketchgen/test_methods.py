"""The method registry: every registered method makes sketches and scores them with
`sketchlab loss`, and a loss registered in sketchgen/methods.py is usable everywhere (presets,
`--method`, the run, `loss`) without touching any other module."""

import json
import sys

import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from sketchgen.methods import METHODS, LossOptions, Method
from sketchgen.precision import native_bf16
from sketchgen.presets import PRESETS, Preset
from sketchgen.runner import generate
from sketchlab.cli import main
from sketchlab.errors import BadInput
from tests.conftest import TEST_DATA

PHOTO = TEST_DATA / "method" / "photo.png"
SKETCH = TEST_DATA / "method" / "clipasso_4strokes.svg"


class PixelLoss:
    """A toy loss: mean squared difference of sketch and photo pixels, one term."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, sketches, target, generators=None, eval=False):
        pixels = self.weight * (sketches - target).square().mean(dim=(1, 2, 3))
        return {"total": pixels, "pixels": pixels}


def _pixel_loss(options: LossOptions, device):
    return PixelLoss(options.term_weights["pixels"]), {"name": "pixels", "checkpoint_sha256": None}


@pytest.fixture
def pixels_method(monkeypatch):
    method = Method("pixel MSE", _pixel_loss, 2, False, term_weights={"pixels": 1.0})
    monkeypatch.setitem(METHODS, "pixels", method)
    return method


def _quick_run(folder, method: str):
    """Two photos at 2 strokes, one seed, two steps; a CLIP method with the tiny random ResNet."""
    return generate(
        TEST_DATA / "generate" / "images.csv",
        folder,
        levels=(2,),
        seeds=(0,),
        preset=PRESETS.default,
        method=method,
        init="edges",
        iterations=2,
        augmentations=0,
        device="cpu",
        loss_model="RN-tiny",
        weights="random",
        progress=False,
    )


@pytest.mark.parametrize("method", list(METHODS))
def test_every_registered_method_makes_sketches_and_records_its_terms(method, tmp_path):
    out = _quick_run(tmp_path / "run", method)
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert set(stimuli["method"]) == {method} and stimuli["final_loss"].gt(0).all()
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["loss_weights"] == dict(METHODS[method].term_weights)
    image = stimuli["image_id"].iloc[0]
    curve = pd.read_csv(out / "curves" / image / "2strokes_seed0.csv")
    assert {"total", *METHODS[method].term_weights} <= set(curve.columns)


@pytest.mark.parametrize("method", list(METHODS))
def test_loss_scores_a_sketch_by_every_registered_method(method, run_sketchlab):
    args = ["loss", PHOTO, SKETCH, "--method", method, "--model", "RN-tiny"]
    code, out, err = run_sketchlab(*args, "--weights", "random", "--augmentations", "0", "--json")
    assert code == 0, err
    values = json.loads(out.strip().splitlines()[-1])
    terms = METHODS[method].term_weights
    assert values["method"] == method and values["total"] > 0
    assert values["total"] == pytest.approx(sum(values[term] for term in terms), rel=1e-5)


def test_loss_weights_scale_their_term(run_sketchlab):
    """`--loss-weight semantic=0.2` doubles the CLIPasso semantic term (default 0.1)."""
    args = ["loss", PHOTO, SKETCH, "--method", "clipasso", "--model", "RN-tiny"]
    args += ["--weights", "random", "--augmentations", "0", "--json"]

    def values(*extra):
        code, out, err = run_sketchlab(*args, *extra)
        assert code == 0, err
        return json.loads(out.strip().splitlines()[-1])

    default, doubled = values(), values("--loss-weight", "semantic=0.2")
    assert doubled["semantic"] == pytest.approx(2 * default["semantic"], rel=1e-5)
    assert doubled["layer2"] == pytest.approx(default["layer2"], rel=1e-6)
    code, _, err = run_sketchlab(*args, "--loss-weight", "edges=1")
    assert code == 2 and "'edges' is not a term of the clipasso method" in err


def test_a_registered_method_runs_everywhere(pixels_method, tmp_path, run_sketchlab):
    out = _quick_run(tmp_path / "run", "pixels")
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert set(stimuli["method"]) == {"pixels"} and set(stimuli["loss_model"]) == {"pixels"}
    assert stimuli["final_loss"].gt(0).all()
    code, printed, err = run_sketchlab("loss", PHOTO, SKETCH, "--method", "pixels", "--json")
    assert code == 0, err
    assert json.loads(printed)["model"] == "pixels"


def test_presets_name_only_registered_methods_and_their_terms(pixels_method):
    values = PRESETS[PRESETS.default].model_dump()
    assert Preset(**{**values, "method": "pixels"}).method == "pixels"
    with pytest.raises(ValidationError, match=f"'sketchy' is not a method; use {METHODS.words()}"):
        Preset(**{**values, "method": "sketchy"})
    weighted = Preset(**{**values, "method": "pixels", "loss_weights": {"pixels": 3}})
    assert weighted.term_weights() == {"pixels": 3.0}
    with pytest.raises(ValidationError, match="'semantic' is not a term of the pixels method"):
        Preset(**{**values, "method": "pixels", "loss_weights": {"semantic": 1}})
    assert {preset.method for preset in PRESETS.values()} <= set(METHODS)


def _help(command: str, monkeypatch, capsys) -> str:
    monkeypatch.setattr(sys, "argv", ["sketchlab", command, "--help"])
    with pytest.raises(SystemExit):
        main()
    return " ".join(capsys.readouterr().out.replace("│", " ").split())


def test_generate_offers_the_registered_methods(pixels_method, monkeypatch, capsys):
    help_text = _help("generate", monkeypatch, capsys)
    assert "{" + ",".join(METHODS) + "}" in help_text
    for name, method in METHODS.items():
        assert f"{name}: {method.description}" in help_text


def test_loss_offers_the_registered_methods(monkeypatch, capsys):
    help_text = _help("loss", monkeypatch, capsys)
    for name, method in METHODS.items():
        assert f"{name}: {method.description}" in help_text


def test_an_unknown_method_names_the_known_ones(pixels_method, run_sketchlab):
    with pytest.raises(BadInput, match=f"--method 'sketchy' is not known; use {METHODS.words()}."):
        METHODS.entry("sketchy")
    code, _, err = run_sketchlab("loss", PHOTO, SKETCH, "--method", "sketchy")
    assert code == 2 and "pixels" in err


def test_the_clip_method_loads_its_model_and_records_its_weights():
    from sketchgen.settings import resolve_settings

    settings = resolve_settings(
        levels=(2,),
        seeds=(0,),
        preset="fast",
        method="clipasso",
        iterations=None,
        augmentations=0,
        init_svg=None,
        weights="random",
        saliency_weights=None,
        loss_model="RN-tiny",
    )
    loss, record = METHODS["clipasso"].build_loss(settings.loss_options, torch.device("cpu"))
    assert record["name"] == "RN-tiny" and record["pretrained"] == "random-init"
    assert loss.augmentations == 0 and settings.loss_model_label == "RN-tiny/random-init"
    assert loss.term_weights == settings.loss_weights == dict(METHODS["clipasso"].term_weights)
    # the fast preset asks for bf16 where the hardware has it; the record says what was used
    assert settings.precision == "bf16-if-native"
    assert record["precision"] == loss.precision
    assert loss.precision == ("bf16" if native_bf16(torch.device("cpu")) else "fp32")
