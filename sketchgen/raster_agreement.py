"""Agreement of the rasterizer with diffvg: reference scenes, and the measures compared.

A scene (an npz file, or one drawn now by `live_diffvg_scene`) holds `points` (N, 4, 2),
`half_width` (N,), diffvg's `image` (H, W), a `target` (H, W) and diffvg's `grad` of
sum((image - target)^2) w.r.t. the points; see tests/data/diffvg/README.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from sketchgen.raster import render
from sketchlab.errors import BadInput

PIXEL_TOLERANCE = 0.01  # a pixel "differs" when it is off by more than this
SCENE_KINDS = ("init", "medium", "long")
CLIPASSO_HALF_WIDTH = 1.5


def load_scene(path: Path) -> dict[str, np.ndarray]:
    """The arrays of one reference scene; BadInput naming the file if a key is missing."""
    try:
        with np.load(path, allow_pickle=False) as data:
            scene = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not a readable npz scene file ({error}).") from error
    for key in ("points", "half_width", "image", "target", "grad"):
        if key not in scene:
            raise BadInput(f"{path}: scene file has no '{key}' array.")
    return scene


def zero_length_strokes(points: np.ndarray) -> np.ndarray:
    """(N,) bool: strokes whose four points coincide (diffvg gives them no gradient)."""
    return np.ptp(points, axis=1).max(axis=-1) == 0


def render_and_grad(
    scene: dict[str, np.ndarray], renderer: str = "torch", device: str | torch.device = "cpu"
):
    """Our image (H, W) and gradient (N, 4, 2) of sum((image - target)^2) for one scene,
    computed on `device`, returned as numpy arrays."""
    points = torch.tensor(scene["points"], dtype=torch.float32, device=device, requires_grad=True)
    half_width = torch.tensor(scene["half_width"], dtype=torch.float32, device=device)
    target = torch.tensor(scene["target"], dtype=torch.float32, device=device)
    height, width = scene["image"].shape
    image = render(points, half_width, (height, width), renderer=renderer)[0]
    ((image - target) ** 2).sum().backward()
    return image.detach().cpu().numpy(), points.grad.cpu().numpy()


def agreement(
    scene: dict[str, np.ndarray], image: np.ndarray, grad: np.ndarray
) -> dict[str, float]:
    """Pixel and gradient agreement with diffvg's stored image and gradient."""
    diff = np.abs(image - scene["image"])
    keep = ~zero_length_strokes(scene["points"])
    ours, theirs = (
        grad[keep].ravel().astype(np.float64),
        scene["grad"][keep].ravel().astype(np.float64),
    )
    norm_ours, norm_theirs = np.linalg.norm(ours), np.linalg.norm(theirs)
    cos = float(ours @ theirs / (norm_ours * norm_theirs)) if norm_ours * norm_theirs > 0 else 0.0
    return {
        "frac_pixels_off": float(np.mean(diff > PIXEL_TOLERANCE)),
        "mean_abs_diff": float(diff.mean()),
        "grad_cos": cos,
        "grad_norm_ratio": float(norm_ours / norm_theirs) if norm_theirs > 0 else math.inf,
    }


def within_agreement_bars(figures: dict[str, float]) -> bool:
    """The bars every scene must pass against diffvg, stored or drawn now, on any device
    (docs/rasterizer.md)."""
    return (
        figures["frac_pixels_off"] <= 0.001
        and figures["mean_abs_diff"] <= 0.0005
        and figures["grad_cos"] >= 0.95
        and 0.7 <= figures["grad_norm_ratio"] <= 1.3
    )


def random_scene(kind: str, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 4, 2) control points like the reference kinds: "init" short random walks (CLIPasso's
    start strokes), "medium" ~60 px curves (a finished sketch), "long" canvas-wide ones."""
    if kind == "init":
        start = rng.uniform(10, size - 10, (n, 1, 2))
        steps = rng.normal(0, 0.025 * size, (n, 3, 2)).cumsum(1)
        return np.concatenate([start, start + steps], axis=1).astype(np.float32)
    if kind == "medium":
        centre = rng.uniform(20, size - 20, (n, 1, 2))
        return (centre + rng.normal(0, 20, (n, 4, 2))).astype(np.float32)
    if kind == "long":
        return rng.uniform(-10, size + 10, (n, 4, 2)).astype(np.float32)
    raise BadInput(f"scene kind {kind!r} is not one of {', '.join(SCENE_KINDS)}.")


def live_diffvg_scene(
    kind: str, n_strokes: int, rng: np.random.Generator, *, size: int = 224, grad_seeds: int = 8
) -> dict[str, np.ndarray]:
    """A new scene like those in tests/data/diffvg, rendered now by pydiffvg (which must be
    installed): random strokes of `kind` at CLIPasso's half-width, diffvg's image (seed 0), a
    target (the strokes moved about 1 px, seed 0), and diffvg's gradient of
    sum((image - target)^2) averaged over render seeds 0 .. grad_seeds - 1."""
    points = random_scene(kind, n_strokes, size, rng)
    moved = points + rng.normal(0, 1.0, points.shape).astype(np.float32)
    half_width = np.full(n_strokes, CLIPASSO_HALF_WIDTH, dtype=np.float32)
    widths = torch.tensor(half_width)
    with torch.no_grad():
        target = render(torch.tensor(moved), widths, size, renderer="diffvg")[0]
    images, grads = [], []
    for seed in range(grad_seeds):
        drawn = torch.tensor(points, requires_grad=True)
        image = render(drawn, widths, size, seed=seed, renderer="diffvg")[0]
        ((image - target) ** 2).sum().backward()
        images.append(image.detach().numpy())
        grads.append(drawn.grad.numpy())
    return {
        "points": points,
        "half_width": half_width,
        "image": images[0],
        "target": target.numpy(),
        "grad": np.mean(grads, axis=0),
    }
