"""Initial strokes: one cubic Bézier per start point, its other 3 control points a random walk.

As the reference `get_path`: from the start point P0, each next control point is the
previous one plus 0.05 × (U[0,1) − 0.5) of the canvas independently in x and y, i.e. at
most ±0.025 × 224 = ±5.6 px per step. Everything is in pixels on the 224 canvas; the
stroke half-width is 1.5 px (diffvg's `stroke_width`, a 3 px line), black and opaque.
"""

from __future__ import annotations

import numpy as np
import torch

from sketchlab.contracts import CANVAS

STEP = 0.025  # largest random-walk step per coordinate, as a fraction of the canvas
CONTROL_POINTS = 4  # one cubic segment per stroke


def init_strokes(
    start_points: torch.Tensor, rng: np.random.Generator, canvas: int = CANVAS, step: float = STEP
) -> torch.Tensor:
    """(n, 2) start points (x, y) in pixels → (n, 4, 2) float32 control points in pixels.

    Draws (n, 3, 2) uniforms from `rng` in stroke, point, x/y order (the reference's order).
    """
    start = torch.as_tensor(start_points, dtype=torch.float64).reshape(-1, 2)
    steps = (torch.from_numpy(rng.random((start.shape[0], CONTROL_POINTS - 1, 2))) - 0.5) * (
        2 * step * canvas
    )
    walk = start[:, None, :] + torch.cumsum(steps, dim=1)
    return torch.cat([start[:, None, :], walk], dim=1).float()
