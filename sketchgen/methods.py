"""The sketching methods by name: the loss each one optimises and the defaults that go with it.

`sketchlab generate --method`, the presets ("method" in presets.json) and the run all read
this table, so a new loss is its class (a `sketchgen.optimize.SketchLoss`, e.g. in its own
module) plus one entry in `METHODS`; nothing else names the methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sketchlab.errors import BadInput

if TYPE_CHECKING:
    import torch

    from sketchgen.optimize import SketchLoss
    from sketchgen.settings import RunSettings


@dataclass(frozen=True)
class Method:
    """One way to make sketches: how to build its loss, and the defaults that depend on it."""

    description: str
    """One line for `sketchlab generate --help`."""
    build_loss: Callable[[RunSettings, torch.device], tuple[SketchLoss, dict]]
    """(settings, device) -> the loss, and the run.json record of the model it loaded (and
    the precision it computes in on that device)."""
    cpu_batch_sketches: int
    """Default --batch-sketches on CPU, where memory per sketch in a batch decides it."""
    uses_clip: bool
    """The loss needs CLIP weights: the saliency init is then always the default, and
    stimuli.csv's loss_model names the CLIP model. A weight-free method starts from XDoG
    edges instead when the saliency model's weights are not cached, so it runs offline."""


def _clipasso_loss(settings: RunSettings, device: torch.device) -> tuple[SketchLoss, dict]:
    from sketchgen.losses import ClipassoLoss
    from sketchgen.models import load_frozen_clip, model_record

    model = load_frozen_clip(
        settings.loss_model, settings.loss_pretrained, settings.weights, device=device
    )
    loss = ClipassoLoss(
        model,
        augmentations=settings.augmentations,
        shared_augmentations=settings.shared_augmentations,
        precision=settings.precision,
    )
    record = model_record(settings.loss_model, settings.loss_pretrained, settings.weights, model)
    return loss, {**record, "precision": loss.precision}


def _xdog_loss(settings: RunSettings, device: torch.device) -> tuple[SketchLoss, dict]:
    from sketchgen.losses import XdogLoss

    return XdogLoss(), {"name": "xdog", "checkpoint_sha256": None}


METHODS: dict[str, Method] = {
    "clipasso": Method(
        description="CLIP RN101 feature and semantic loss over augmented views (the paper's)",
        build_loss=_clipasso_loss,
        cpu_batch_sketches=4,  # ~1 GB of RN101 activations per sketch (bench generate)
        uses_clip=True,
    ),
    "xdog": Method(
        description="L2 between the blurred sketch and the photo's blurred XDoG edges; "
        "no model weights",
        build_loss=_xdog_loss,
        cpu_batch_sketches=12,  # needs little memory: one image's 4 levels x 3 seeds
        uses_clip=False,
    ),
}


def method_names() -> str:
    """The known methods as words for a message: "clipasso or xdog"."""
    names = list(METHODS)
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def get_method(name: str) -> Method:
    """The method called `name`; BadInput naming the known ones otherwise."""
    if name not in METHODS:
        raise BadInput(f"--method {name!r} is not known; use {method_names()}.")
    return METHODS[name]
