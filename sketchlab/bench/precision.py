"""Does the `fast` preset's bfloat16 loss optimise what the fp32 loss does? (`bench generate
--agreement IMAGES.csv`)

Two measures, on the photos of an images.csv, with the loss model the bench loaded:
- gradient cosine: one 16-stroke sketch per photo (start points on its XDoG edges, seed 0),
  the fast preset's loss (1 clean + 4 augmented views, the same draws) in bf16 and in fp32,
  and the cosine between their gradients with respect to the control points: the direction
  each step takes.
- eval loss after N iterations: the same sketches optimised N steps with the fast preset in
  each precision, and each run's kept sketch scored by the fp32 clean-pair loss; the
  relative difference of the two scores per photo.
bf16 runs under autocast whether or not the device has it in hardware (the fast preset
uses it only where it does), so the numbers hold for any device; the times do not.
"""

from __future__ import annotations

import numpy as np
import torch

from sketchgen.optimize import SketchJob, optimize_sketches
from sketchgen.raster import render
from sketchlab.contracts import CANVAS

STROKES = 16
GOAL_MEAN_GRADIENT_COSINE = 0.99
GOAL_EVAL_LOSS_RELATIVE_DIFFERENCE = 0.02


def bf16_agreement(
    model, images_csv: str, dev: torch.device, iterations: int, n_photos: int | None = None
) -> dict:
    """The agreement figures (see the module docstring) for the first `n_photos` photos of
    `images_csv` (all of them for the gradient cosine when None; at most 2 are optimised)."""
    from sketchgen.images import read_images_csv
    from sketchgen.losses import ClipassoLoss
    from sketchgen.precision import native_bf16
    from sketchgen.preprocess import load_target
    from sketchgen.presets import PRESETS
    from sketchgen.saliency import edge_init_strokes

    fast = PRESETS["fast"]
    images = read_images_csv(images_csv).head(n_photos)
    losses = {
        precision: ClipassoLoss(
            model,
            augmentations=fast.augmentations,
            shared_augmentations=fast.shared_augmentations,
            precision=precision,
        )
        for precision in ("fp32", "bf16")
    }
    photos, starts = {}, {}
    for image in images.to_dict("records"):
        photos[image["image_id"]] = load_target(image["path"], image.get("mask_path"))
        starts[image["image_id"]] = edge_init_strokes(
            photos[image["image_id"]], STROKES, np.random.default_rng(0)
        )
    cosines = {
        image_id: _gradient_cosine(losses, starts[image_id], photos[image_id].to(dev))
        for image_id in photos
    }
    optimised = list(photos)[:2]
    scores = {
        precision: _eval_after(
            loss, losses["fp32"], optimised, starts, photos, dev, iterations, fast.learning_rate
        )
        for precision, loss in losses.items()
    }
    relative = [
        abs(bf16 - fp32) / fp32 for fp32, bf16 in zip(scores["fp32"], scores["bf16"], strict=True)
    ]
    return {
        "weights": "the bench's loss model with random weights (no real weights offline)",
        "bf16_native_on_this_device": native_bf16(dev),
        "photos": list(photos),
        "strokes": STROKES,
        "gradient_cosine_by_photo": cosines,
        "gradient_cosine_mean": float(np.mean(list(cosines.values()))),
        "gradient_cosine_min": float(min(cosines.values())),
        "goal_gradient_cosine_mean": GOAL_MEAN_GRADIENT_COSINE,
        "optimised_photos": optimised,
        "iterations": iterations,
        "eval_loss_fp32_run": scores["fp32"],
        "eval_loss_bf16_run": scores["bf16"],
        "eval_loss_relative_difference_max": float(max(relative)),
        "goal_eval_loss_relative_difference": GOAL_EVAL_LOSS_RELATIVE_DIFFERENCE,
    }


def _gradient_cosine(losses: dict, strokes: torch.Tensor, photo: torch.Tensor) -> float:
    """Cosine between the bf16 and fp32 loss gradients w.r.t. one sketch's control points,
    both with the same augmentation draws (a generator seeded alike)."""
    gradients = []
    for loss in losses.values():
        points = strokes.to(photo.device)[None].requires_grad_(True)
        with loss.numerics():
            sketch = render(points, 1.5, CANVAS)
            loss(sketch, photo, [torch.Generator().manual_seed(0)])["total"].sum().backward()
        gradients.append(points.grad.flatten().double())
    return float(torch.nn.functional.cosine_similarity(*gradients, dim=0))


def _eval_after(
    loss, scorer, image_ids, starts, photos, dev, iterations: int, learning_rate: float
) -> list[float]:
    """Each photo's sketch optimised `iterations` steps with `loss` (one batch), its kept
    iterate scored by `scorer` on the clean pair."""
    jobs = [SketchJob(i, STROKES, 0, starts[i], iterations) for i in image_ids]
    results = optimize_sketches(
        jobs,
        {i: photos[i] for i in image_ids},
        loss,
        device=dev,
        learning_rate=learning_rate,
        early_stop_delta=0.0,
    )
    scores = []
    with torch.no_grad(), scorer.numerics():
        for result in results:
            sketch = render(result.points.to(dev)[None], 1.5, CANVAS)
            target = photos[result.job.image_id].to(dev)
            scores.append(float(scorer(sketch, target, None, eval=True)["total"][0]))
    return scores
