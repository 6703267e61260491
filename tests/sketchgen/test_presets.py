"""Presets (sketchgen/presets.py): every registered preset resolves into a run's settings, a
preset inherits from its base and changes only what it names, carries levels, seeds and loss
weights into the run, and a bad value is one sentence naming the file, preset and field."""

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from sketchgen.methods import METHODS
from sketchgen.presets import PRESETS, PRESETS_FILE, Preset
from sketchgen.runner import generate
from sketchgen.settings import resolve_settings
from sketchlab.errors import BadInput
from tests.conftest import TEST_DATA

IMAGES = TEST_DATA / "generate" / "images.csv"


def with_presets(tmp_path: Path, monkeypatch, **entries) -> Path:
    """The bundled presets.json plus `entries` (or with them replaced), as the registry's file."""
    data = json.loads(PRESETS_FILE.read_text())
    data["presets"].update(entries)
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(PRESETS, "source", path)
    return path


def _settings(preset: str, **flags):
    arguments = dict(
        levels=None,
        seeds=None,
        preset=preset,
        method=None,
        iterations=None,
        augmentations=None,
        init_svg=None,
        weights="random",
        saliency_weights="random",
        init="edges",
    )
    return resolve_settings(**{**arguments, **flags})


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_registered_preset_becomes_a_runs_settings(name):
    preset = PRESETS[name]
    assert preset.method in METHODS and preset.description
    settings = _settings(name)
    shared = {field.name for field in dataclasses.fields(settings)} & set(Preset.model_fields)
    assert shared >= {"levels", "seeds", "iterations", "precision", "fit", "method"}
    for field in shared - {"loss_weights"}:  # the preset names changes, the run every weight
        assert getattr(settings, field) == getattr(preset, field), field
    assert settings.loss_weights == preset.term_weights()
    assert set(settings.loss_weights) == set(METHODS[preset.method].term_weights)


def test_the_default_preset_is_registered_and_used_without_preset():
    assert PRESETS.default in PRESETS
    assert _settings(None).preset == PRESETS.default


def test_a_preset_inherits_every_field_it_does_not_name(tmp_path, monkeypatch):
    base = PRESETS.default
    with_presets(
        tmp_path,
        monkeypatch,
        tiny={"base": base, "description": "a few steps", "iterations": 5},
        tinier={"base": "tiny", "description": "fewer", "levels": [2], "seeds": [7]},
    )
    tiny, tinier = PRESETS["tiny"], PRESETS["tinier"]
    assert tiny.iterations == 5 and tinier.iterations == 5 and tinier.base == "tiny"
    assert (tinier.levels, tinier.seeds) == ((2,), (7,))
    named = {"base", "description", "iterations", "levels", "seeds"}
    for field in set(Preset.model_fields) - named:
        assert getattr(tinier, field) == getattr(PRESETS[base], field), field


BAD = {
    "iterations 0": ({"iterations": 0}, "field iterations: Input should be greater than or equal"),
    "iterations 2.5": ({"iterations": 2.5}, "field iterations"),
    "level 0": ({"levels": [0, 4]}, "field levels: 0 is out of range; a level is a stroke count"),
    "repeated level": ({"levels": [4, 4]}, "field levels: a level is repeated"),
    "no seeds": ({"seeds": []}, "field seeds: seeds must be distinct integers >= 0"),
    "negative seed": ({"seeds": [-1]}, "field seeds: seeds must be distinct integers >= 0"),
    "precision": ({"precision": "fp64"}, "field precision: 'fp64' is not a precision"),
    "fit": ({"fit": "stretch"}, "field fit: Input should be 'squash', 'pad' or 'crop'"),
    "method": ({"method": "sketchy"}, "field method: 'sketchy' is not a method"),
    "unknown field": ({"iteration": 5}, "field iteration: Extra inputs are not permitted"),
    "negative weight": (
        {"loss_weights": {"semantic": -1}},
        "field loss_weights: the weight of 'semantic' must be a finite number >= 0",
    ),
    "term of another method": (
        {"loss_weights": {"edges": 1}},
        "field loss_weights: 'edges' is not a term of the clipasso method",
    ),
    "unknown base": ({"base": "papr"}, "field base: 'papr' is not a preset"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_preset_is_one_sentence_naming_file_preset_and_field(case, tmp_path, monkeypatch):
    fields, expected = BAD[case]
    entry = {"base": "paper", "description": "broken", **fields}
    path = with_presets(tmp_path, monkeypatch, broken=entry)
    with pytest.raises(BadInput) as error:
        PRESETS.entry("broken")
    message = str(error.value)
    assert message.startswith(f"{path}: preset 'broken', field ")
    assert expected in message and message.endswith(".") and "\n" not in message


def test_bases_that_go_round_and_presets_without_description_are_refused(tmp_path, monkeypatch):
    with_presets(tmp_path, monkeypatch, a={"base": "b", "description": "a"}, b={"base": "a"})
    with pytest.raises(BadInput, match="preset 'b', field description: every preset describes"):
        PRESETS.entry("a")
    with_presets(
        tmp_path,
        monkeypatch,
        a={"base": "b", "description": "a"},
        b={"base": "a", "description": "b"},
    )
    with pytest.raises(BadInput, match=r"field base: the bases go round \(a -> b -> a\)"):
        PRESETS.entry("a")


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(BadInput, match=f"--preset 'slow' is not known; use {PRESETS.words()}."):
        _settings("slow")


def test_a_presets_levels_seeds_fit_and_loss_weights_reach_the_run(tmp_path, monkeypatch):
    """A preset of the xdog method with its one term weighted 2: Adam's steps do not depend
    on the loss's scale, so the sketches are those of weight 1 and every loss is twice as big."""
    quick = {"base": PRESETS.default, "method": "xdog", "augmentations": 0, "iterations": 6}
    with_presets(
        tmp_path,
        monkeypatch,
        one={**quick, "description": "weight 1", "levels": [2, 3], "seeds": [5], "fit": "pad"},
        two={"base": "one", "description": "weight 2", "loss_weights": {"edges": 2.0}},
    )
    runs = {}
    for name in ("one", "two"):
        out = generate(IMAGES, tmp_path / name, preset=name, init="edges", progress=False)
        settings = json.loads((out / "run.json").read_text())["settings"]
        assert (settings["levels"], settings["seeds"], settings["fit"]) == ([2, 3], [5], "pad")
        runs[name] = (settings, pd.read_csv(out / "stimuli.csv"))
    assert runs["one"][0]["loss_weights"] == {"edges": 1.0}
    assert runs["two"][0]["loss_weights"] == {"edges": 2.0}
    one, two = runs["one"][1], runs["two"][1]
    assert sorted(set(one["n_strokes"])) == [2, 3] and set(one["seed"]) == {5}
    assert two["final_loss"].to_numpy() == pytest.approx(2 * one["final_loss"].to_numpy(), rel=1e-3)


def test_flags_override_a_presets_levels_and_seeds():
    settings = _settings(PRESETS.default, levels=[3], seeds=[1, 2])
    assert (settings.levels, settings.seeds) == ((3,), (1, 2))
    with pytest.raises(BadInput, match=r"--seeds 1 1: seeds must be distinct integers >= 0\."):
        _settings(PRESETS.default, seeds=[1, 1])
