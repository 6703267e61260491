"""The method registry: a loss registered in sketchgen/methods.py is usable everywhere
(presets, `--method`, the run) without touching any other module."""

import sys

import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from sketchgen.methods import METHODS, Method, get_method
from sketchgen.precision import native_bf16
from sketchgen.presets import Preset, presets
from sketchgen.runner import generate
from sketchlab.cli import main
from sketchlab.errors import BadInput
from tests.conftest import TEST_DATA


class PixelLoss:
    """A toy loss: mean squared difference of sketch and photo pixels."""

    def __call__(self, sketches, target, generators=None, eval=False):
        return {"total": (sketches - target).square().mean(dim=(1, 2, 3))}


def _pixel_loss(settings, device):
    return PixelLoss(), {"name": "pixels", "checkpoint_sha256": None}


@pytest.fixture
def pixels_method(monkeypatch):
    method = Method("pixel MSE", _pixel_loss, cpu_batch_sketches=2, uses_clip=False)
    monkeypatch.setitem(METHODS, "pixels", method)
    return method


def test_a_registered_method_runs_and_is_recorded(pixels_method, tmp_path):
    out = generate(
        TEST_DATA / "generate" / "images.csv",
        tmp_path / "run",
        levels=(2,),
        seeds=(0,),
        preset="demo",
        method="pixels",
        init="edges",
        iterations=3,
        device="cpu",
        progress=False,
    )
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert set(stimuli["method"]) == {"pixels"} and set(stimuli["loss_model"]) == {"pixels"}
    assert stimuli["final_loss"].gt(0).all()


def test_presets_name_only_registered_methods(pixels_method):
    values = presets()["demo"].model_dump()
    assert Preset(**{**values, "method": "pixels"}).method == "pixels"
    with pytest.raises(
        ValidationError, match="'sketchy' is not a method; use clipasso, xdog or pixels"
    ):
        Preset(**{**values, "method": "sketchy"})
    assert {preset.method for preset in presets().values()} <= set(METHODS)


def test_generate_offers_the_registered_methods(pixels_method, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["sketchlab", "generate", "--help"])
    with pytest.raises(SystemExit):
        main()
    help_text = " ".join(capsys.readouterr().out.split())
    assert "{clipasso,xdog,pixels}" in help_text and "pixels: pixel MSE" in help_text


def test_an_unknown_method_names_the_known_ones():
    with pytest.raises(BadInput, match="--method 'sketchy' is not known; use clipasso or xdog"):
        get_method("sketchy")


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
    loss, record = METHODS["clipasso"].build_loss(settings, torch.device("cpu"))
    assert record["name"] == "RN-tiny" and record["pretrained"] == "random-init"
    assert loss.augmentations == 0 and settings.loss_model_label == "RN-tiny/random-init"
    # the fast preset asks for bf16 where the hardware has it; the record says what was used
    assert settings.precision == "bf16-if-native"
    assert record["precision"] == loss.precision
    assert loss.precision == ("bf16" if native_bf16(torch.device("cpu")) else "fp32")
