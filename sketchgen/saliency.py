"""Where strokes start: CLIP ViT attention × XDoG edges, as CLIPasso's saliency init.

The reference (`models/painter_params.py: interpret, set_inds_clip`) averages the CLS→patch
attention probabilities of CLIP ViT-B/32 over all 12 blocks and all heads (the rollout it
also computes is never used), upsamples the 7×7 map bicubically to 224, min-max
normalises, keeps it only on XDoG edge pixels, and turns the strictly positive pixels into
a softmax with temperature 0.3 from which the start points are drawn without replacement.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from sketchgen.strokes_init import init_strokes
from sketchgen.xdog import clip_normalise, xdog_edges

TEMPERATURE = 0.3


def clip_attention(vit_model: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    """CLS→patch attention of a CLIP ViT, averaged over layers and heads: (H, W) in [0, 1].

    vit_model: an open_clip CLIP model with a ViT image tower (or the tower itself).
    image: (3, H, W) in [0, 1] at the model's input size (224 for ViT-B/32).
    The attention probabilities are read with hooks on each block's
    `nn.MultiheadAttention` (asking it for per-head weights); open_clip is not modified.
    """
    visual = getattr(vit_model, "visual", vit_model)
    blocks = list(visual.transformer.resblocks)
    captured: list[torch.Tensor] = []

    def ask_for_weights(module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep_weights(module, args, kwargs, output):
        captured.append(output[1])

    handles = []
    for block in blocks:
        handles.append(block.attn.register_forward_pre_hook(ask_for_weights, with_kwargs=True))
        handles.append(block.attn.register_forward_hook(keep_weights, with_kwargs=True))
    parameter = next(visual.parameters())
    try:
        with torch.no_grad():
            visual(clip_normalise(image.to(parameter.device, parameter.dtype))[None])
    finally:
        for handle in handles:
            handle.remove()

    # captured: one (1, heads, tokens, tokens) per block; token 0 is CLS.
    per_layer = torch.stack([weights.float().clamp(min=0).mean(dim=1)[0] for weights in captured])
    cls_to_patches = per_layer[:, 0, 1:].mean(dim=0)
    grid = math.isqrt(cls_to_patches.numel())
    relevance = F.interpolate(
        cls_to_patches.reshape(1, 1, grid, grid), size=tuple(image.shape[-2:]), mode="bicubic"
    )[0, 0]
    return _min_max(relevance).cpu()


def saliency_distribution(
    attention: torch.Tensor, edges: torch.Tensor, temperature: float = TEMPERATURE
) -> torch.Tensor:
    """Start-point probabilities (H, W), float64, summing to 1.

    attention: (H, W), min-max normalised again here; edges: (H, W), 1 = edge pixel.
    Softmax with `temperature` over the strictly positive pixels of attention × edges; every
    other pixel gets 0. Edge cases the reference would crash on: no positive pixel → uniform
    over edge pixels, or over the whole image when there are no edges.
    """
    combined = _min_max(attention.double().cpu()) * edges.double().cpu()
    positive = combined > 0
    probabilities = torch.zeros_like(combined)
    if positive.any():
        probabilities[positive] = torch.softmax(combined[positive] / temperature, dim=0)
        return probabilities
    support = edges.cpu() > 0
    if not support.any():
        support = torch.ones_like(support)
    probabilities[support] = 1.0 / support.sum()
    return probabilities


def sample_start_points(
    probabilities: torch.Tensor, n: int, rng: np.random.Generator
) -> torch.Tensor:
    """Draw n distinct pixels from (H, W) probabilities: (n, 2) float pixel coordinates (x, y).

    Coordinates are the integer pixel indices (column, row), as the reference uses them.
    If fewer than n pixels have non-zero probability, all of them are taken and the rest
    are drawn uniformly from the other pixels (the reference would stop with an error).
    """
    height, width = probabilities.shape
    p = probabilities.double().flatten().cpu().numpy()
    p = p / p.sum()
    support = np.flatnonzero(p > 0)
    if n <= support.size:
        indices = rng.choice(p.size, size=n, replace=False, p=p)
    else:
        others = np.setdiff1d(np.arange(p.size), support)
        indices = np.concatenate(
            [rng.permutation(support), rng.choice(others, size=n - support.size, replace=False)]
        )
    rows, cols = np.unravel_index(indices, (height, width))
    return torch.from_numpy(np.stack([cols, rows], axis=1).astype(np.float32))


def _min_max(values: torch.Tensor) -> torch.Tensor:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else torch.zeros_like(values)


def edge_init_strokes(image: torch.Tensor, n: int, rng: np.random.Generator) -> torch.Tensor:
    """Weight-free init (xdog method, demo): start points uniform over XDoG edge pixels."""
    edges = xdog_edges(image)
    support = edges if edges.any() else torch.ones_like(edges)
    return init_strokes(sample_start_points(support / support.sum(), n, rng), rng)
