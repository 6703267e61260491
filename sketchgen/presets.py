"""Named generation settings, read from `presets.json` (data, not code).

A preset fixes everything that changes the sketches (iterations, views, model names,
optimiser constants); command-line flags may override a few of them. Add a preset by
adding an entry to the JSON file; its "method" is one of sketchgen/methods.py's.
"""

import json
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sketchgen.methods import METHODS, method_names
from sketchgen.precision import PRECISIONS
from sketchgen.preprocess import FITS
from sketchlab.errors import BadInput


class Preset(BaseModel):
    """One entry of presets.json. Units: pixels on the 224 canvas; iterations are Adam steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    method: str
    iterations: int = Field(ge=1)
    augmentations: int = Field(ge=0)
    shared_augmentations: bool
    learning_rate: float = Field(gt=0)
    half_width: float = Field(gt=0)
    eval_interval: int = Field(ge=1)
    early_stop_delta: float = Field(ge=0)
    softmax_temperature: float = Field(gt=0)
    loss_model: str
    loss_pretrained: str | None
    saliency_model: str
    saliency_pretrained: str | None
    precision: str
    """How the loss model computes (sketchgen/precision.py): "fp32" (IEEE on every device),
    "tf32", "bf16", "fp16", or "bf16-if-native" (bf16 where the device has it in hardware)."""
    fit: Literal[FITS]
    """How a photo is fitted to the square canvas (sketchgen/preprocess.py): "squash" (the
    reference code's rule), "pad" or "crop"."""

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if method not in METHODS:
            raise ValueError(f"{method!r} is not a method; use {method_names()}")
        return method

    @field_validator("precision")
    @classmethod
    def _known_precision(cls, precision: str) -> str:
        if precision not in PRECISIONS:
            raise ValueError(f"{precision!r} is not a precision; use one of {PRECISIONS}")
        return precision


@cache
def presets() -> dict[str, Preset]:
    """All presets shipped with the package, by name."""
    text = resources.files("sketchgen").joinpath("presets.json").read_text()
    return {name: Preset(**values) for name, values in json.loads(text).items()}


def get_preset(name: str) -> Preset:
    """The preset called `name`; BadInput naming the known ones otherwise."""
    known = presets()
    if name not in known:
        raise BadInput(f"Unknown preset {name!r} for --preset; choose one of {', '.join(known)}.")
    return known[name]
