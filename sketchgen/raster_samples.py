"""diffvg's per-pixel sample positions and box-filter weights, reproduced bit for bit.

diffvg jitters `samples x samples` stratified samples per pixel with a PCG32 stream seeded
from the sample index and the render seed (see tests/data/diffvg/diffvg-conventions.md).
CLIPasso always renders with seed 0, so the pattern is computed once per
(height, width, samples, seed) and cached.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_MULTIPLIER = np.uint64(6364136223846793005)
_DEFAULT_STATE_OFFSET = np.uint64(0x853C49E6748FEA9B)


def _pcg32_next(state: np.ndarray, inc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One XSH-RR step on arrays of uint64 states; returns (new state, 32-bit output)."""
    old = state
    new = old * _MULTIPLIER + inc
    xorshifted = (((old >> np.uint64(18)) ^ old) >> np.uint64(27)) & np.uint64(0xFFFFFFFF)
    rot = old >> np.uint64(59)
    left = (xorshifted << ((np.uint64(32) - rot) & np.uint64(31))) & np.uint64(0xFFFFFFFF)
    out = (xorshifted >> rot) | left
    return new, out.astype(np.uint32)


def _pcg32_float(bits: np.ndarray) -> np.ndarray:
    """diffvg's float conversion: mantissa from the top 23 bits, in [0, 1)."""
    pattern = (bits >> np.uint32(9)) | np.uint32(0x3F800000)
    return pattern.view(np.float32) - np.float32(1.0)


def pcg32_jitter(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first two PCG32 floats (rx, ry) of the streams for sample indices 0..count-1."""
    with np.errstate(over="ignore"):
        idx = np.arange(count, dtype=np.uint64)
        inc = np.uint64(2) * (idx + np.uint64(1)) + np.uint64(1)
        state = np.zeros(count, dtype=np.uint64)
        state, _ = _pcg32_next(state, inc)
        state = state + _DEFAULT_STATE_OFFSET + np.uint64(seed)
        state, _ = _pcg32_next(state, inc)
        state, bits_x = _pcg32_next(state, inc)
        state, bits_y = _pcg32_next(state, inc)
    return _pcg32_float(bits_x), _pcg32_float(bits_y)


@dataclass(frozen=True)
class SamplePattern:
    """Sample positions of one image size, in pixels (float32), and how they map to pixels.

    `xy[(r * W + c) * s + k]` is sample k of pixel (r, c) (k = sy * samples + sx).
    Pixel value = sum of its samples' values / `counts` of that pixel; a handful of samples
    that land exactly on a pixel edge also count for the neighbour (`extra_sample`,
    `extra_pixel`), which then averages 5 samples, as in diffvg.
    """

    height: int
    width: int
    samples_per_pixel: int
    xy: np.ndarray  # (H*W*s, 2) float32
    counts: np.ndarray  # (H*W,) float32 number of samples that count for each pixel
    extra_sample: np.ndarray  # (E,) int64
    extra_pixel: np.ndarray  # (E,) int64


def _sample_pattern(height: int, width: int, samples: int, seed: int) -> SamplePattern:
    ns = samples
    count = height * width * ns * ns
    rx, ry = pcg32_jitter(count, seed)
    idx = np.arange(count, dtype=np.int64)
    sx = idx % ns
    sy = (idx // ns) % ns
    pixel = idx // (ns * ns)
    col = pixel % width
    row = pixel // width
    f32 = np.float32
    x = col.astype(f32) + (sx.astype(f32) + rx) / f32(ns)
    y = row.astype(f32) + (sy.astype(f32) + ry) / f32(ns)
    # diffvg normalises by the output size and scales by the canvas size (equal here).
    x = (x / f32(width)) * f32(width)
    y = (y / f32(height)) * f32(height)
    counts = np.full(height * width, ns * ns, dtype=np.float32)
    extra_sample, extra_pixel = [], []
    # Box filter of radius 0.5: a sample counts for every pixel whose centre is within
    # 0.5 in both axes (float32); only samples exactly on an edge reach a neighbour.
    for d_row in (-1, 0, 1):
        for d_col in (-1, 0, 1):
            if d_row == 0 and d_col == 0:
                continue
            r2, c2 = row + d_row, col + d_col
            inside = (r2 >= 0) & (r2 < height) & (c2 >= 0) & (c2 < width)
            near = (np.abs(x - (c2.astype(f32) + f32(0.5))) <= f32(0.5)) & (
                np.abs(y - (r2.astype(f32) + f32(0.5))) <= f32(0.5)
            )
            hit = np.nonzero(inside & near)[0]
            extra_sample.append(hit)
            extra_pixel.append(r2[hit] * width + c2[hit])
    extra_sample_arr = np.concatenate(extra_sample).astype(np.int64)
    extra_pixel_arr = np.concatenate(extra_pixel).astype(np.int64)
    np.add.at(counts, extra_pixel_arr, 1.0)
    return SamplePattern(
        height=height,
        width=width,
        samples_per_pixel=ns * ns,
        xy=np.stack([x, y], axis=1),
        counts=counts,
        extra_sample=extra_sample_arr,
        extra_pixel=extra_pixel_arr,
    )


@lru_cache(maxsize=16)
def sample_pattern(height: int, width: int, samples: int, seed: int) -> SamplePattern:
    """Cached `SamplePattern` for an image of `height` x `width` pixels."""
    return _sample_pattern(height, width, samples, seed)
