"""XDoG edge map, as CLIPasso's `XDoG_` computes it for the saliency init.

Runs on the CLIP-normalised 224 image (as the reference does: the input of the saliency
model), converted to grey with skimage `rgb2gray`; difference of Gaussians (σ 0.8 and
8 px) with γ 0.98, soft threshold ε −0.1 with φ 200, min-max, then an Otsu threshold.
The reference marks edges as 0 (dark); here 1 = edge pixel, so `1 − reference`.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

from sketchgen.models import CLIP_MEAN, CLIP_STD

GAMMA = 0.98
PHI = 200.0
EPSILON = -0.1
SIGMA = 0.8  # pixels
K = 10.0  # the second Gaussian has σ = K · SIGMA


def clip_normalise(image: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) in [0, 1] → CLIP's mean/std-normalised input."""
    mean = torch.tensor(CLIP_MEAN, dtype=image.dtype, device=image.device).view(3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=image.dtype, device=image.device).view(3, 1, 1)
    return (image - mean) / std


def xdog_response(image: torch.Tensor) -> np.ndarray:
    """The soft XDoG map in [0, 1] (H, W) before Otsu; low values are edges (reference
    convention)."""
    normalised = (
        clip_normalise(image.detach().float().cpu()).permute(1, 2, 0).numpy().astype(np.float64)
    )
    grey = rgb2gray(normalised)
    narrow = gaussian_filter(grey, SIGMA)
    wide = gaussian_filter(grey, SIGMA * K)
    difference = narrow - GAMMA * wide
    soft = np.where(difference < EPSILON, 1.0, 1.0 + np.tanh(PHI * difference))
    soft = soft - soft.min()
    return soft / soft.max() if soft.max() > 0 else soft


def xdog_edges(image: torch.Tensor) -> torch.Tensor:
    """Binary XDoG edges of a (3, H, W) [0, 1] image: (H, W) float, 1 = edge pixel.

    A flat image has no edges (all zeros).
    """
    soft = xdog_response(image)
    if soft.max() == soft.min():
        return torch.zeros(soft.shape, dtype=torch.float32)
    flat = soft >= threshold_otsu(soft)
    return torch.from_numpy((~flat).astype(np.float32))
