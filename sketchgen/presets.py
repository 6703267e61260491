"""Named generation settings, read from `presets.json` (data, not code).

A preset fixes everything that changes the sketches (levels, seeds, iterations, views, model
names, optimiser constants, the weight of each loss term); command-line flags may override
some of them. A preset may name a `base` preset and give only the fields that differ. Add a
preset by adding an entry to the JSON file; its "method" is one of sketchgen/methods.py's.
`PRESETS` is the registry every help text, docs table and test reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sketchgen.methods import METHODS, term_weights
from sketchgen.precision import PRECISIONS
from sketchgen.preprocess import FITS
from sketchlab.bundled import package_file
from sketchlab.contracts import MAX_STROKES
from sketchlab.errors import BadInput
from sketchlab.registry import Registry, words

PRESETS_FILE = package_file("sketchgen", "presets.json")


def levels_problem(levels: Sequence[int]) -> str | None:
    """Why `levels` cannot be a run's stroke counts (a clause), or None when they can."""
    if not levels:
        return "there must be at least one level"
    for n in levels:
        if not 1 <= n <= MAX_STROKES:
            return f"{n} is out of range; a level is a stroke count from 1 to {MAX_STROKES}"
    if len(set(levels)) != len(levels):
        return "a level is repeated"
    return None


def seeds_problem(seeds: Sequence[int]) -> str | None:
    """Why `seeds` cannot be a run's seeds (a clause), or None when they can."""
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        return "seeds must be distinct integers >= 0"
    return None


class Preset(BaseModel):
    """One entry of presets.json, its base's fields filled in. Units: pixels on the 224 canvas;
    iterations are Adam steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    base: str | None = None
    """The preset this one starts from (its fields, then this entry's on top)."""
    method: str
    levels: tuple[StrictInt, ...]
    """Stroke counts, one sketch per level and seed (`--levels` overrides them)."""
    seeds: tuple[StrictInt, ...]
    """Seeds; the lowest eval loss among them wins (`--seeds` overrides them)."""
    iterations: StrictInt = Field(ge=1)
    augmentations: StrictInt = Field(ge=0)
    shared_augmentations: bool
    learning_rate: float = Field(gt=0)
    half_width: float = Field(gt=0)
    eval_interval: StrictInt = Field(ge=1)
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
    loss_weights: dict[str, float] = {}
    """The weight of any of the method's loss terms, where it differs from the method's
    default (sketchgen/methods.py's `term_weights`)."""

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if method not in METHODS:
            raise ValueError(f"{method!r} is not a method; use {METHODS.words()}")
        return method

    @field_validator("levels", "seeds")
    @classmethod
    def _possible(cls, values: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        problem = levels_problem if info.field_name == "levels" else seeds_problem
        if message := problem(values):
            raise ValueError(message)
        return values

    @field_validator("precision")
    @classmethod
    def _known_precision(cls, precision: str) -> str:
        if precision not in PRECISIONS:
            raise ValueError(f"{precision!r} is not a precision; use {words(PRECISIONS)}")
        return precision

    @field_validator("loss_weights")
    @classmethod
    def _terms_of_the_method(cls, weights: dict[str, float], info: ValidationInfo) -> dict:
        if "method" in info.data:  # else the method's own error is reported
            term_weights(info.data["method"], weights)
        return weights

    def term_weights(self) -> dict[str, float]:
        """The weight of every term of the preset's method."""
        return term_weights(self.method, self.loss_weights)


def read_presets(path: Path) -> tuple[dict[str, Preset], tuple[str, ...]]:
    """presets.json -> (every preset by name with its bases resolved, (the default preset,));
    BadInput naming the file, the preset and the field for a bad entry."""
    try:
        data = json.loads(path.read_text())
        raw, default = data["presets"], data["default"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadInput(
            f"{path} is not a presets file: a JSON object with 'default' and 'presets' ({error})."
        ) from error
    return {name: _preset(path, raw, name) for name in raw}, (default,)


def _preset(path: Path, raw: dict, name: str) -> Preset:
    fields = _inherited(path, raw, name, ())
    try:
        return Preset(**fields)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "?"
        message = problem["msg"].removeprefix("Value error, ")
        got = "" if problem["type"] == "missing" else f" (got {problem['input']!r})"
        raise BadInput(f"{path}: preset {name!r}, field {field}: {message}{got}.") from error


def _inherited(path: Path, raw: dict, name: str, seen: tuple[str, ...]) -> dict:
    """The preset's fields: its base's (recursively), then its own on top."""
    entry = raw[name]
    if not isinstance(entry, dict):
        raise BadInput(f"{path}: preset {name!r} must be a JSON object of fields.")
    if "description" not in entry:
        raise BadInput(
            f"{path}: preset {name!r}, field description: every preset describes itself "
            "(it is not taken from its base)."
        )
    base = entry.get("base")
    if base is None:
        return dict(entry)
    if base not in raw:
        raise BadInput(
            f"{path}: preset {name!r}, field base: {base!r} is not a preset; "
            f"use {words(list(raw))}."
        )
    if base in (*seen, name):
        chain = " -> ".join((*seen, name, base))
        raise BadInput(f"{path}: preset {name!r}, field base: the bases go round ({chain}).")
    return {**_inherited(path, raw, base, (*seen, name)), **entry}


PRESETS: Registry[Preset] = Registry("preset", "--preset", source=PRESETS_FILE, read=read_presets)
