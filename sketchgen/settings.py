"""A run's settings and every check that must pass before any model is loaded or file written.

`resolve_settings` turns a preset plus command-line flags into `RunSettings` (BadInput names
the flag at fault); `read_images` checks images.csv and loads every photo and mask. Both run
before any compute, so a mistake costs seconds, not a GPU run.
"""

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from sketchgen.methods import METHODS, LossOptions
from sketchgen.models import RANDOM_WEIGHTS
from sketchgen.preprocess import check_fit
from sketchgen.presets import PRESETS, Preset, levels_problem, seeds_problem
from sketchgen.raster import check_renderer
from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput

INIT_CHOICES = ("saliency", "edges")


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides the sketches; a run folder keeps one of these for life."""

    levels: tuple[int, ...]
    seeds: tuple[int, ...]
    preset: str
    method: str
    iterations: int
    augmentations: int
    shared_augmentations: bool
    learning_rate: float
    half_width: float
    eval_interval: int
    early_stop_delta: float
    softmax_temperature: float
    loss_model: str
    loss_pretrained: str | None
    weights: str | None
    saliency_model: str
    saliency_pretrained: str | None
    saliency_weights: str | None
    init: str  # "saliency", "edges" or "svg"
    init_svg: str | None
    init_svg_sha256: str | None
    renderer: str = "torch"
    """One of sketchgen.raster's RENDERERS. Settings added later have defaults: the value
    a run folder made before them was run with."""
    precision: str = "fp32"
    """As asked (sketchgen/precision.py); run.json's session records the one used."""
    fit: str = "squash"
    """How each photo is fitted to the canvas: one of sketchgen.preprocess.FITS."""
    loss_weights: dict[str, float] = field(default_factory=dict)
    """The weight of every term of the method's loss (a run folder made before this was
    recorded used its method's defaults: see `recorded_settings`)."""

    @property
    def loss_model_label(self) -> str:
        """The loss_model column of stimuli.csv."""
        if not METHODS.entry(self.method).uses_clip:
            return self.method
        if self.weights == RANDOM_WEIGHTS:
            return f"{self.loss_model}/random-init"
        if self.weights:
            return f"{self.loss_model}/{Path(self.weights).name}"
        return f"{self.loss_model}/{self.loss_pretrained}"

    @property
    def loss_options(self) -> LossOptions:
        """What the method's loss is built from (sketchgen/methods.py)."""
        return LossOptions(
            model=self.loss_model,
            pretrained=self.loss_pretrained,
            weights=self.weights,
            augmentations=self.augmentations,
            shared_augmentations=self.shared_augmentations,
            precision=self.precision,
            term_weights=self.loss_weights,
        )


def recorded_settings(recorded: dict) -> dict:
    """run.json's settings of a run folder, with each setting added since it was made at the
    value that folder was run with: its default, and for `loss_weights` its method's."""
    recorded = dict(recorded)
    for setting in dataclasses.fields(RunSettings):
        if setting.default is not dataclasses.MISSING:
            recorded.setdefault(setting.name, setting.default)
    if "loss_weights" not in recorded and recorded.get("method") in METHODS:
        recorded["loss_weights"] = dict(METHODS[recorded["method"]].term_weights)
    return recorded


def resolve_settings(
    *,
    levels,
    seeds,
    preset,
    method,
    iterations,
    augmentations,
    init_svg,
    weights,
    saliency_weights,
    loss_model=None,
    init=None,
    renderer="torch",
    fit=None,
) -> RunSettings:
    """Preset + flags -> checked RunSettings (BadInput names the flag at fault).

    preset: a name in PRESETS (None: the default preset). levels, seeds, method, iterations,
    augmentations, loss_model, fit: None takes the preset's (levels: the --init SVG's stroke
    count when there is one). The preset's loss weights apply to its own method; another
    --method gets that method's defaults.
    init: "saliency" (ViT-B/32 attention x XDoG), "edges" (uniform over XDoG edges, no
    weights) or None: saliency for a method that uses CLIP; for a weight-free one (xdog)
    saliency when ViT-B/32 weights are available offline, else edges. `init_svg` (a file)
    overrides both. renderer: "torch", or "diffvg" when pydiffvg is installed.
    """
    check_renderer(renderer)
    if init is not None and init not in INIT_CHOICES:
        raise BadInput(f"--init {init!r} is neither saliency, edges nor an existing SVG file.")
    preset = preset or PRESETS.default
    chosen = PRESETS.entry(preset)
    if fit is not None:
        check_fit(fit)
    method = method or chosen.method
    uses_clip = METHODS.entry(method).uses_clip
    seeds = chosen.seeds if seeds is None else tuple(int(s) for s in seeds)
    if problem := seeds_problem(seeds):
        raise BadInput(f"--seeds {' '.join(map(str, seeds))}: {problem}.")
    if iterations is not None and iterations < 1:
        raise BadInput(f"--iterations {iterations} must be at least 1.")
    if augmentations is not None and augmentations < 0:
        raise BadInput(f"--augmentations {augmentations} must be 0 or more.")
    levels, init_hash = _resolved_levels(levels, init_svg, chosen)
    for flag, value in (("--weights", weights), ("--saliency-weights", saliency_weights)):
        if value not in (None, RANDOM_WEIGHTS) and not Path(value).is_file():
            raise BadInput(f"{flag} {value} does not exist or is not a file.")
    if init_svg is not None:
        init = "svg"
    elif init is None:
        init = _default_init(chosen, method, uses_clip, saliency_weights)
    return RunSettings(
        levels=levels,
        seeds=seeds,
        preset=preset,
        method=method,
        iterations=iterations or chosen.iterations,
        augmentations=chosen.augmentations if augmentations is None else augmentations,
        shared_augmentations=chosen.shared_augmentations,
        precision=chosen.precision,
        learning_rate=chosen.learning_rate,
        half_width=chosen.half_width,
        eval_interval=chosen.eval_interval,
        early_stop_delta=chosen.early_stop_delta,
        softmax_temperature=chosen.softmax_temperature,
        loss_model=loss_model or chosen.loss_model,
        loss_pretrained=chosen.loss_pretrained,
        weights=_absolute(weights),
        saliency_model=chosen.saliency_model,
        saliency_pretrained=chosen.saliency_pretrained,
        saliency_weights=_absolute(saliency_weights),
        init=init,
        init_svg=_absolute(init_svg),
        init_svg_sha256=init_hash,
        renderer=renderer,
        fit=fit or chosen.fit,
        loss_weights=(
            chosen.term_weights()
            if method == chosen.method
            else dict(METHODS.entry(method).term_weights)
        ),
    )


def _resolved_levels(
    levels, init_svg: str | None, chosen: Preset
) -> tuple[tuple[int, ...], str | None]:
    """The checked stroke levels (--levels, else the --init SVG's stroke count, else the
    preset's) and the --init SVG's sha256 (None without one): an --init SVG fixes the level."""
    init_points, init_hash = None, None
    if init_svg is not None:
        init_points, init_hash = read_init_svg(init_svg)
        levels = levels or (init_points.shape[0],)
    levels = tuple(int(n) for n in levels) if levels else chosen.levels
    if problem := levels_problem(levels):
        raise BadInput(f"--levels {' '.join(map(str, levels))}: {problem}.")
    if init_points is not None and levels != (init_points.shape[0],):
        raise BadInput(
            f"--init {init_svg} has {init_points.shape[0]} strokes, so --levels must be "
            f"{init_points.shape[0]} (got {' '.join(map(str, levels))})."
        )
    return levels, init_hash


def _default_init(chosen: Preset, method: str, uses_clip: bool, saliency_weights) -> str:
    """The init when none is asked for: saliency where its model can be loaded (always for a
    CLIP method, which needs the weights anyway), else edges, with a note on stderr."""
    available = uses_clip or _saliency_available(chosen, saliency_weights)
    if not available:
        print(
            f"sketchlab: no cached {chosen.saliency_model} weights, so the {method} method "
            "starts from strokes on XDoG edges (--init edges) instead of the saliency init.",
            file=sys.stderr,
        )
    return "saliency" if available else "edges"


def _absolute(path: str | None) -> str | None:
    if path in (None, RANDOM_WEIGHTS):
        return path
    return str(Path(path).resolve())


def _saliency_available(preset: Preset, saliency_weights: str | None) -> bool:
    """Whether the ViT-B/32 saliency model can be loaded here without a download."""
    if saliency_weights:
        return True
    from sketchgen.models import load_clip

    try:
        load_clip(
            preset.saliency_model, preset.saliency_pretrained, weights_flag="--saliency-weights"
        )
    except BadInput:
        return False
    return True


def read_init_svg(path: str) -> tuple[torch.Tensor, str]:
    """Strokes of an --init SVG, scaled to the 224 canvas, and the file's sha256."""
    from sketchgen.models import file_sha256
    from sketchgen.svg import read_svg

    if not Path(path).is_file():
        raise BadInput(f"--init {path} does not exist.")
    sketch = read_svg(path)
    scale = torch.tensor([CANVAS / sketch.width, CANVAS / sketch.height])
    return sketch.points.float() * scale, file_sha256(path)


def read_images(images_csv: str | Path, fit: str = "squash") -> pd.DataFrame:
    """images.csv, checked (ids and class names by the contracts' rules, so whatever is
    generated here passes `study check`, `analyze` and `score`) and every photo (and mask)
    read by the photo reader, before any model is loaded or anything is written; warnings
    about photos too small for the canvas as `fit` fills it go to stderr."""
    from sketchgen.images import photo_warnings, read_images_csv

    images = read_images_csv(images_csv)
    for warning in photo_warnings(images, fit=fit):
        print(f"sketchlab: warning: {warning}", file=sys.stderr)
    return images
