"""The optional diffvg backend: strokes rendered by pydiffvg, for `sketchgen.raster`'s
renderer "diffvg" (raster.py imports this module, never the other way round).

pydiffvg is a compiled extension that most users cannot install, so it is imported only
when asked for; without it the request fails with one sentence saying how to get it.
"""

from __future__ import annotations

import torch

from sketchlab.errors import BadInput

DIFFVG_SOURCE = "https://github.com/BachiLi/diffvg"


def diffvg_available() -> bool:
    """True when pydiffvg can be imported."""
    try:
        import pydiffvg  # noqa: F401
    except ImportError:
        return False
    return True


def import_pydiffvg(asked_as: str = "renderer 'diffvg'", instead: str = "renderer 'torch'"):
    """The pydiffvg module; BadInput saying how to get it (or to use `instead`) without it."""
    try:
        import pydiffvg
    except ImportError as error:
        raise BadInput(
            f"{asked_as} needs pydiffvg, which is not installed; build it from {DIFFVG_SOURCE} "
            f"(its README says how), or use {instead}."
        ) from error
    return pydiffvg


def render_rgba_diffvg(
    points: torch.Tensor,
    half_widths: torch.Tensor,
    height: int,
    width: int,
    stroke_mask: torch.Tensor,
    colors: torch.Tensor | None,
    samples: int,
    seed: int,
) -> torch.Tensor:
    """(B, H, W, 4) RGBA from pydiffvg, one open cubic per shape group, as CLIPasso builds it.

    Inputs are already validated and batched by `sketchgen.raster.render_rgba`.
    """
    pydiffvg = import_pydiffvg()
    pydiffvg.set_use_gpu(points.is_cuda)
    pydiffvg.set_device(points.device)
    images = []
    for b in range(points.shape[0]):
        shapes, groups = [], []
        for k in torch.nonzero(stroke_mask[b]).flatten().tolist():
            shapes.append(
                pydiffvg.Path(
                    num_control_points=torch.tensor([2]),
                    points=points[b, k],
                    stroke_width=half_widths[b, k],
                    is_closed=False,
                )
            )
            color = colors[b, k] if colors is not None else torch.tensor([0.0, 0.0, 0.0, 1.0])
            groups.append(
                pydiffvg.ShapeGroup(
                    shape_ids=torch.tensor([len(shapes) - 1]),
                    fill_color=None,
                    stroke_color=color.to(points.device),
                )
            )
        if not shapes:
            images.append(torch.zeros(height, width, 4, device=points.device, dtype=points.dtype))
            continue
        scene = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
        image = pydiffvg.RenderFunction.apply(width, height, samples, samples, seed, None, *scene)
        images.append(image.to(points.dtype))
    return torch.stack(images)
