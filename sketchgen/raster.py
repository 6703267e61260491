"""Differentiable stroke rasterizer in pure PyTorch, following diffvg's conventions.

Strokes are open cubic Béziers in pixel units (x right, y down); a sample is covered when
its distance to the curve is < the stroke's half-width (so caps are round). Each pixel
averages `samples x samples` jittered samples placed exactly where diffvg puts them
(PCG32, seed 0 by default), so the forward image matches diffvg's. Gradients are those of
the exact area coverage, which diffvg's edge sampling estimates (see `raster_core`).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from sketchgen.diffvg_backend import import_pydiffvg, render_rgba_diffvg
from sketchgen.raster_core import StrokeCoverage
from sketchgen.raster_samples import sample_pattern
from sketchlab.errors import BadInput

RENDERERS = ("torch", "diffvg")
"""`renderer=`: this module's pure-PyTorch rasterizer, or pydiffvg when it is installed."""


def check_renderer(renderer: str) -> str:
    """`--renderer`, checked before any compute: torch always draws; diffvg needs pydiffvg."""
    if renderer not in RENDERERS:
        raise BadInput(f"--renderer {renderer!r} is not known; use torch or diffvg.")
    if renderer == "diffvg":
        import_pydiffvg(asked_as="--renderer diffvg", instead="--renderer torch")
    return renderer


def _validate(points, half_widths, size, stroke_mask, colors, samples):
    """`render`'s arguments checked in order (points, size, samples, half_widths, stroke_mask,
    colors) and brought to the batched form, on the points' device: BadInput names the
    first one that is wrong."""
    points, unbatched = _checked_points(points)
    batch, n_strokes = points.shape[:2]
    height, width = _checked_size(size)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples <= 0:
        raise BadInput(f"samples must be a positive integer, got {samples!r}.")
    half_widths = _checked_half_widths(half_widths, points, unbatched)
    stroke_mask = _checked_stroke_mask(stroke_mask, batch, n_strokes, points.device, unbatched)
    if colors is not None:
        colors = _checked_colors(colors, points, unbatched)
    return points, half_widths, (height, width), stroke_mask, colors, unbatched


def _checked_points(points) -> tuple[torch.Tensor, bool]:
    """(B, N, 4, 2) finite float control points, and whether they came unbatched (N, 4, 2)."""
    if not isinstance(points, torch.Tensor):
        raise BadInput(f"points must be a torch.Tensor, got {type(points).__name__}.")
    unbatched = points.dim() == 3
    if unbatched:
        points = points.unsqueeze(0)
    if points.dim() != 4 or points.shape[-2:] != (4, 2):
        raise BadInput(
            f"points must have shape (B, N, 4, 2) or (N, 4, 2), got {tuple(points.shape)}."
        )
    if not points.is_floating_point():
        raise BadInput(f"points must be a floating-point tensor, got {points.dtype}.")
    if not torch.isfinite(points).all():
        raise BadInput("points contain NaN or infinite coordinates.")
    return points, unbatched


def _checked_size(size) -> tuple[int, int]:
    """(height, width) in pixels from an int (square) or a pair of positive ints."""
    if isinstance(size, bool) or not isinstance(size, (int, tuple, list)):
        raise BadInput(f"size must be an int or (height, width), got {size!r}.")
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (height, width)):
        raise BadInput(f"size must hold integers, got {size!r}.")
    if height <= 0 or width <= 0:
        raise BadInput(f"size must be positive, got height={height}, width={width}.")
    return height, width


def _checked_half_widths(half_widths, points: torch.Tensor, unbatched: bool) -> torch.Tensor:
    """(B, N) finite positive half-widths (pixels) in the points' dtype, from one number, a
    0-d tensor, or one per stroke."""
    batch, n_strokes = points.shape[:2]
    device, dtype = points.device, points.dtype
    if isinstance(half_widths, (int, float)) and not isinstance(half_widths, bool):
        half_widths = torch.full((batch, n_strokes), float(half_widths), device=device, dtype=dtype)
    elif isinstance(half_widths, torch.Tensor):
        if unbatched and half_widths.dim() == 1:
            half_widths = half_widths.unsqueeze(0)
        if half_widths.dim() == 0:
            half_widths = half_widths.expand(batch, n_strokes)
        if tuple(half_widths.shape) != (batch, n_strokes):
            raise BadInput(
                f"half_widths must have shape {(batch, n_strokes)} to match points, "
                f"got {tuple(half_widths.shape)}."
            )
        half_widths = half_widths.to(device=device, dtype=dtype)
    else:
        raise BadInput(
            f"half_widths must be a float or a tensor, got {type(half_widths).__name__}."
        )
    if not torch.isfinite(half_widths).all() or (half_widths <= 0).any():
        raise BadInput("half_widths must be finite and > 0.")
    return half_widths


def _checked_stroke_mask(
    stroke_mask, batch: int, n_strokes: int, device: torch.device, unbatched: bool
) -> torch.Tensor:
    """(B, N) bool: which strokes are drawn (all when `stroke_mask` is None)."""
    if stroke_mask is None:
        return torch.ones(batch, n_strokes, dtype=torch.bool, device=device)
    if not isinstance(stroke_mask, torch.Tensor):
        raise BadInput("stroke_mask must be a bool tensor.")
    if unbatched and stroke_mask.dim() == 1:
        stroke_mask = stroke_mask.unsqueeze(0)
    if tuple(stroke_mask.shape) != (batch, n_strokes):
        raise BadInput(
            f"stroke_mask must have shape {(batch, n_strokes)}, got {tuple(stroke_mask.shape)}."
        )
    return stroke_mask.to(device=device, dtype=torch.bool)


def _checked_colors(colors, points: torch.Tensor, unbatched: bool) -> torch.Tensor:
    """(B, N, 4) finite RGBA per stroke, in the points' dtype."""
    batch, n_strokes = points.shape[:2]
    if not isinstance(colors, torch.Tensor):
        raise BadInput("colors must be a tensor of RGBA values.")
    if unbatched and colors.dim() == 2:
        colors = colors.unsqueeze(0)
    if tuple(colors.shape) != (batch, n_strokes, 4):
        raise BadInput(
            f"colors must have shape {(batch, n_strokes, 4)} (RGBA), got {tuple(colors.shape)}."
        )
    colors = colors.to(device=points.device, dtype=points.dtype)
    if not torch.isfinite(colors).all():
        raise BadInput("colors contain NaN or infinite values.")
    return colors


@lru_cache(maxsize=32)
def _pattern_tensors(height, width, samples, seed, device, dtype):
    """Sample positions, per-pixel sample counts and edge-sample extras on one device."""
    pattern = sample_pattern(height, width, samples, seed)
    xy = torch.as_tensor(pattern.xy.T.copy(), device=device, dtype=dtype)  # (2, H*W*s)
    counts = torch.as_tensor(pattern.counts, device=device, dtype=dtype)
    extra = (
        torch.as_tensor(pattern.extra_sample, device=device),
        torch.as_tensor(pattern.extra_pixel, device=device),
    )
    return pattern, xy, counts, extra


def _first_real(stroke_mask: torch.Tensor) -> torch.Tensor:
    """(B,) index of each sketch's first real (unmasked) stroke, 0 when it has none."""
    return stroke_mask.to(torch.uint8).argmax(1)


def _uniform_opaque(colors: torch.Tensor | None, stroke_mask: torch.Tensor) -> bool:
    """True when each sketch's strokes share one opaque colour (the union is then enough)."""
    if colors is None:
        return True
    if colors.requires_grad:
        return False
    first = colors.gather(1, _first_real(stroke_mask)[:, None, None].expand(-1, 1, 4))
    same = ((colors == first).all(-1) | ~stroke_mask).all()
    opaque = ((colors[..., 3] == 1) | ~stroke_mask).all()
    return bool(same and opaque)


def _draw(
    points, half_widths, height, width, stroke_mask, colors, samples, seed, renderer, white=False
):
    """Either ("union", alpha (B, H, W), rgb (B, 3) or None for black), ("rgba", (B, H, W, 4))
    or, for black strokes when `white`, ("white", 1 - coverage (B, 3, H, W))."""
    batch = points.shape[0]
    if renderer == "diffvg":
        return "rgba", render_rgba_diffvg(
            points, half_widths, height, width, stroke_mask, colors, samples, seed
        )
    if renderer not in RENDERERS:
        raise BadInput(f"renderer must be 'torch' or 'diffvg', got {renderer!r}.")
    pattern, xy, counts, extra = _pattern_tensors(
        height, width, samples, seed, points.device, points.dtype
    )
    image = stroke_mask.nonzero()[:, 0]
    if image.numel() == 0:  # white, with zero gradients
        keep_graph = points.sum() * 0 + half_widths.sum() * 0
        alpha = torch.zeros(batch, height, width, device=points.device, dtype=points.dtype)
        return "union", alpha + keep_graph, None
    if _uniform_opaque(colors, stroke_mask):
        if image.numel() == stroke_mask.numel():  # no padding: a view, no gather
            real_points, real_widths = points.flatten(0, 1), half_widths.flatten()
        else:
            real_points, real_widths = points[stroke_mask], half_widths[stroke_mask]
        output = "white" if white and colors is None else "alpha"
        alpha = StrokeCoverage.apply(
            real_points, real_widths, image, batch, pattern, xy, counts, extra, output
        )
        if output == "white":
            return "white", alpha
        if colors is None:
            return "union", alpha, None
        first = _first_real(stroke_mask)
        return "union", alpha, colors[torch.arange(batch, device=colors.device), first, :3]
    return "rgba", _render_layers(
        points, half_widths, stroke_mask, colors, pattern, xy, counts, extra
    )


def _render_layers(points, half_widths, stroke_mask, colors, pattern, xy, counts, extra):
    """Strokes of different colours or alpha: diffvg's per-sample "over", one stroke at a time."""
    batch, n_strokes = points.shape[:2]
    n_pix, spp = pattern.height * pattern.width, pattern.samples_per_pixel
    color = torch.zeros(batch, n_pix, spp, 3, device=points.device, dtype=points.dtype)
    alpha = torch.zeros(batch, n_pix, spp, device=points.device, dtype=points.dtype)
    for k in range(n_strokes):
        image = stroke_mask[:, k].nonzero()[:, 0]
        if image.numel() == 0:
            continue
        cover = StrokeCoverage.apply(
            points[image, k],
            half_widths[image, k],
            image,
            batch,
            pattern,
            xy,
            counts,
            extra,
            "samples",
        )
        rgba = torch.zeros(batch, 4, device=points.device, dtype=points.dtype)
        rgba = rgba.index_put((image,), colors[image, k])
        a = rgba[:, 3, None, None] * cover
        color = color * (1 - a[..., None]) + a[..., None] * rgba[:, None, None, :3]
        alpha = alpha * (1 - a) + a
    straight = torch.where(
        alpha[..., None] > 1e-6, color / alpha.clamp_min(1e-6)[..., None], torch.zeros_like(color)
    )
    sample_rgba = torch.cat([straight, alpha[..., None]], dim=-1)  # (B, n_pix, s, 4)
    pixel = sample_rgba.sum(2)
    extra_sample, extra_pixel = extra
    if extra_sample.numel():
        flat = sample_rgba.reshape(batch, n_pix * spp, 4)
        pixel = pixel.index_add(1, extra_pixel, flat[:, extra_sample])
    pixel = pixel / counts[None, :, None]
    return pixel.view(batch, pattern.height, pattern.width, 4)


def render_rgba(
    points: torch.Tensor,
    half_widths: torch.Tensor | float,
    size: int | tuple[int, int],
    *,
    stroke_mask: torch.Tensor | None = None,
    colors: torch.Tensor | None = None,
    samples: int = 2,
    seed: int = 0,
    renderer: str = "torch",
) -> torch.Tensor:
    """diffvg's raw RGBA output (B, H, W, 4) (or (H, W, 4) unbatched), before compositing.

    points: (B, N, 4, 2) or (N, 4, 2) control points in pixels; half_widths: (B, N), (N,) or
    a float, in pixels (diffvg's stroke_width); size: int or (height, width) in pixels;
    stroke_mask: (B, N) bool, False marks padding strokes (not drawn, zero gradient);
    colors: (B, N, 4) RGBA in [0, 1], None = opaque black.
    """
    points, half_widths, (height, width), stroke_mask, colors, unbatched = _validate(
        points, half_widths, size, stroke_mask, colors, samples
    )
    kind, *drawn = _draw(
        points, half_widths, height, width, stroke_mask, colors, samples, seed, renderer
    )
    if kind == "rgba":
        rgba = drawn[0]
    else:
        alpha, rgb = drawn
        alpha = alpha[..., None]
        rgb = alpha.new_zeros(3) if rgb is None else rgb[:, None, None, :]
        rgba = torch.cat([alpha * rgb, alpha], dim=-1)
    return rgba.squeeze(0) if unbatched else rgba  # squeeze: its backward is a view, not a copy


def render(
    points: torch.Tensor,
    half_widths: torch.Tensor | float,
    size: int | tuple[int, int],
    *,
    stroke_mask: torch.Tensor | None = None,
    colors: torch.Tensor | None = None,
    samples: int = 2,
    seed: int = 0,
    renderer: str = "torch",
) -> torch.Tensor:
    """Strokes composited over white as CLIPasso does (A*RGB + 1 - A): (B, 3, H, W) or (3, H, W).

    Arguments as for `render_rgba`.
    """
    points, half_widths, (height, width), stroke_mask, colors, unbatched = _validate(
        points, half_widths, size, stroke_mask, colors, samples
    )
    kind, *drawn = _draw(
        points, half_widths, height, width, stroke_mask, colors, samples, seed, renderer, True
    )
    if kind == "white":  # black strokes: 1 - coverage in every channel
        image = drawn[0]
    elif kind == "rgba":
        rgba = drawn[0]
        alpha = rgba[..., 3:]
        image = (alpha * rgba[..., :3] + (1 - alpha)).movedim(-1, 1)
    else:
        alpha, rgb = drawn
        alpha = alpha[:, None]
        if rgb is None:  # black (an empty scene): 1 - coverage in every channel
            image = (1 - alpha).expand(-1, 3, -1, -1).contiguous()
        else:
            image = alpha * alpha * rgb[:, :, None, None] + (1 - alpha)
    return image.squeeze(0) if unbatched else image  # squeeze: its backward is a view, not a copy
