"""The sketching methods by name: the loss each one optimises and the defaults that go with it.

`sketchlab generate --method`, `sketchlab loss --method`, the presets ("method" in
presets.json) and the run all read this registry, so a new loss is its class (a
`sketchgen.optimize.SketchLoss`, e.g. in its own module) plus one entry in `METHODS`; nothing
else names the methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sketchgen.loss_terms import CLIPASSO_WEIGHTS, XDOG_WEIGHTS
from sketchlab.registry import Registry, words

if TYPE_CHECKING:
    import torch

    from sketchgen.optimize import SketchLoss


@dataclass(frozen=True)
class LossOptions:
    """What a method's loss is built from: a run's settings (`RunSettings.loss_options`) or
    `sketchlab loss`'s flags."""

    model: str
    """open_clip name of the loss's CLIP model (methods that use CLIP)."""
    pretrained: str | None
    """Its open_clip pretrained tag."""
    weights: str | None
    """A local checkpoint for it, "random" (a seeded random init) or None (the tag's)."""
    augmentations: int
    """Augmented views per step (0: the clean pair only)."""
    shared_augmentations: bool
    """One augmentation draw per step for the whole batch instead of one per sketch."""
    precision: str
    """How the CLIP model computes: one of sketchgen.precision.PRECISIONS."""
    term_weights: Mapping[str, float]
    """The weight of each of the method's terms in the total."""


@dataclass(frozen=True)
class Method:
    """One way to make sketches: how to build its loss, and the defaults that depend on it."""

    description: str
    """One line for `--method`'s help and docs/generation.md's methods table."""
    build_loss: Callable[[LossOptions, torch.device], tuple[SketchLoss, dict]]
    """(options, device) -> the loss, and the run.json record of the model it loaded (and
    the precision it computes in on that device)."""
    cpu_batch_sketches: int
    """Default --batch-sketches on CPU, where memory per sketch in a batch decides it."""
    uses_clip: bool
    """The loss needs CLIP weights: the saliency init is then always the default, and
    stimuli.csv's loss_model names the CLIP model. A weight-free method starts from XDoG
    edges instead when the saliency model's weights are not cached, so it runs offline."""
    term_weights: Mapping[str, float] = field(default_factory=dict)
    """Each term of the loss by name (the keys its loss returns besides `total`) and its
    default weight in the total; a preset's `loss_weights` may change any of them."""


def _clipasso_loss(options: LossOptions, device: torch.device) -> tuple[SketchLoss, dict]:
    from sketchgen.losses import ClipassoLoss
    from sketchgen.models import load_frozen_clip, model_record

    model = load_frozen_clip(options.model, options.pretrained, options.weights, device=device)
    loss = ClipassoLoss(
        model,
        augmentations=options.augmentations,
        shared_augmentations=options.shared_augmentations,
        term_weights=options.term_weights,
        precision=options.precision,
    )
    record = model_record(options.model, options.pretrained, options.weights, model)
    return loss, {**record, "precision": loss.precision}


def _xdog_loss(options: LossOptions, device: torch.device) -> tuple[SketchLoss, dict]:
    from sketchgen.losses import XdogLoss

    return XdogLoss(weight=options.term_weights["edges"]), {
        "name": "xdog",
        "checkpoint_sha256": None,
    }


METHODS: Registry[Method] = Registry(
    "method",
    "--method",
    entries={
        "clipasso": Method(
            description="CLIP RN101 feature and semantic loss over augmented views (the paper's)",
            build_loss=_clipasso_loss,
            cpu_batch_sketches=4,  # ~1 GB of RN101 activations per sketch (bench generate)
            uses_clip=True,
            term_weights=CLIPASSO_WEIGHTS,
        ),
        "xdog": Method(
            description="L2 between the blurred sketch and the photo's blurred XDoG edges; "
            "no model weights",
            build_loss=_xdog_loss,
            cpu_batch_sketches=12,  # needs little memory: one image's 4 levels x 3 seeds
            uses_clip=False,
            term_weights=XDOG_WEIGHTS,
        ),
    },
)


def term_weights(method: str, changed: Mapping[str, float]) -> dict[str, float]:
    """The method's term weights with `changed` applied; ValueError (one clause, for the
    caller to place in its sentence) for a term the method does not have or a weight that is
    negative or not finite."""
    defaults = METHODS.entry(method).term_weights
    for term, weight in changed.items():
        if term not in defaults:
            known = words(list(defaults), "and") or "none"
            raise ValueError(f"{term!r} is not a term of the {method} method (its terms: {known})")
        number = isinstance(weight, (int, float)) and not isinstance(weight, bool)
        if not (number and math.isfinite(weight) and weight >= 0):
            raise ValueError(f"the weight of {term!r} must be a finite number >= 0, not {weight!r}")
    return {term: float(changed.get(term, weight)) for term, weight in defaults.items()}
