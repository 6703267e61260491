"""Sketch-vs-photo objectives, batched over sketches: the CLIPasso loss and a weight-free XDoG L2.

Both are called as `loss(sketches, target, generators, eval=False)` with sketches
(B, 3, 224, 224) in [0, 1] (black strokes on white) and return a dict of (B,) tensors:
`total` and each of the loss's terms (`layer2`, `layer3`, `semantic` for CLIPasso, `edges`
for XDoG) as weighted in `total`, so that sketch b's numbers depend only on sketch b (a batch
optimises like separate runs). Each term's weight is the loss's `term_weights` (the method's
defaults in sketchgen/methods.py, which a preset's `loss_weights` may change).

ClipassoLoss follows the reference `models/loss.py: CLIPConvLoss` with its defaults:
CLIP RN101 `layer2` and `layer3` feature MSE (weight 1 each; the paper's "layers 3 and 4"
count the stem as layer 1) plus 0.1 × (1 − cos) of the RN101 attention-pool embedding,
over one clean and K = 4 augmented (sketch, target) pairs per sketch, each pair warped with
the same random parameters (`sketchgen.augment`), CLIP normalisation applied afterwards.
The reference's MSE is a mean over its 5-view batch; here it is the same mean taken per
sketch. Target features are computed without gradients: the augmented views' every
call, the clean view's once per distinct target.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from contextlib import nullcontext

import kornia
import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from sketchgen.augment import ViewParams, apply_views, draw_views
from sketchgen.loss_terms import CLIPASSO_WEIGHTS, XDOG_WEIGHTS
from sketchgen.optimize import SketchLoss
from sketchgen.precision import AUTOCAST_DTYPES, cuda_tf32, resolve_precision
from sketchgen.raster import render
from sketchgen.xdog import clip_normalise, xdog_edges
from sketchlab.errors import BadInput

AUGMENTATIONS = 4


def resnet_features(
    visual: torch.nn.Module, images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CLIP-normalised (n, 3, 224, 224) → (`layer2` output, `layer3` output, embedding).

    open_clip's ModifiedResNet: stem (conv1/bn1/act1 → conv2/bn2/act2 → conv3/bn3/act3 →
    avgpool; the same computation as the reference's old stem with one shared `relu`),
    layer1…layer4, attention pool.
    """
    x = visual.stem(images.to(visual.conv1.weight.dtype))
    layer2 = visual.layer2(visual.layer1(x))
    layer3 = visual.layer3(layer2)
    return layer2, layer3, visual.attnpool(visual.layer4(layer3))


def fold_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Fold every eval-mode BatchNorm of a ModifiedResNet into the convolution before it
    (`convN` + `bnN`, and the `downsample` (pool, conv, bn)), in place.

    With running statistics a BatchNorm is an affine map per channel, so the folded
    convolution computes the same function (to float rounding, ~1e-6 relative) with one
    pass over each activation fewer, forward and backward.
    """
    children = dict(module.named_children())
    for name, child in children.items():
        bn_name = "bn" + name[4:]
        if name.startswith("conv") and isinstance(children.get(bn_name), torch.nn.BatchNorm2d):
            setattr(module, name, fuse_conv_bn_eval(child, children[bn_name]))
            setattr(module, bn_name, torch.nn.Identity())
    if isinstance(module, torch.nn.Sequential):
        layers = list(module)
        for i in range(len(layers) - 1):
            if isinstance(layers[i], torch.nn.Conv2d) and isinstance(
                layers[i + 1], torch.nn.BatchNorm2d
            ):
                module[i] = fuse_conv_bn_eval(layers[i], layers[i + 1])
                module[i + 1] = torch.nn.Identity()
    for child in module.children():
        fold_batchnorm(child)
    return module


class PerTarget:
    """`compute(target)`, done once per distinct target (the last 8 kept): the photo is the
    same at every optimisation step.

    A target is known when it is the very tensor seen before, unchanged (same memory, shape,
    strides and in-place version; the reference held keeps that memory from being reused),
    which costs no GPU synchronisation; otherwise its content is compared. `compute` is
    passed at each call, not kept, so a loss holding this cache forms no reference cycle
    (its model is freed as soon as the loss is, not at the next garbage collection).
    """

    def __init__(self) -> None:
        self.known: list[tuple[torch.Tensor, int, torch.Tensor, object]] = []

    def __call__(self, target: torch.Tensor, compute):
        for alias, version, _, value in self.known:
            if _unchanged_alias(alias, version, target):
                return value
        for _, _, copy_, value in self.known:
            if (
                copy_.shape == target.shape
                and copy_.device == target.device
                and torch.equal(copy_, target)
            ):
                return value
        value = compute(target)
        target = target.detach()
        self.known = [*self.known[-7:], (target, target._version, target.clone(), value)]
        return value


def _unchanged_alias(alias: torch.Tensor, version: int, tensor: torch.Tensor) -> bool:
    """Whether `tensor` views the same memory as `alias` did when its `version` was read,
    with nothing written to it since."""
    return (
        tensor.device == alias.device
        and tensor.dtype == alias.dtype
        and tensor.data_ptr() == alias.data_ptr()
        and tensor.shape == alias.shape
        and tensor.stride() == alias.stride()
        and tensor._version == version
    )


class TargetGroups:
    """`_group_targets` of the last call's target, reused while the caller passes the same
    unchanged tensor (the optimiser does, step after step): one content comparison per
    batch composition instead of one per step (each a GPU synchronisation on CUDA)."""

    def __init__(self) -> None:
        self.last: tuple[torch.Tensor, int, list[int], torch.Tensor] | None = None

    def __call__(self, target: torch.Tensor, batch: int) -> tuple[list[int], torch.Tensor]:
        if self.last is not None:
            alias, version, groups, unique = self.last
            if len(groups) == batch and _unchanged_alias(alias, version, target):
                return groups, unique
        groups, unique = _group_targets(target, batch)
        target = target.detach()
        self.last = (target, target._version, groups, unique)
        return groups, unique


class ClipassoLoss:
    """CLIPasso's objective on an open_clip ModifiedResNet (RN101 for the paper).

    model: an open_clip CLIP model with a ModifiedResNet image tower (or the tower). The
    loss keeps its own copy of the tower, in eval mode (BatchNorm uses running statistics,
    so sketches in a batch do not interact), frozen (gradients flow to the sketch pixels
    only), with BatchNorm folded into the convolutions and channels-last memory (faster
    convolutions on CPU and GPU; the same function to float rounding). The caller's model
    is left as it was.
    augmentations: K augmented views per sketch (0 = the clean pair only).
    shared_augmentations: False (paper preset) draws each sketch's K views from its own
    generator, as separate reference runs would; True draws one set of K views per call,
    used by every sketch, so each distinct target's features are computed once per call.
    term_weights: the weight of any of `layer2`, `layer3`, `semantic` in the total (the
    others keep the reference's, `CLIPASSO_WEIGHTS`).
    precision: one of `PRECISIONS`: "fp32" (default; IEEE float32 on every device), "tf32"
    (CUDA's TF32 tensor cores), "fp16" / "bf16" to run the ResNet under autocast (the
    reference itself runs CLIP in fp16 on GPU), or "bf16-if-native" (bf16 where the tower's
    device has it in hardware, else fp32); `self.precision` is the one used. The loss
    terms are always computed in fp32. Callers run forward and backward inside `numerics()`.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        augmentations: int = AUGMENTATIONS,
        shared_augmentations: bool = False,
        term_weights: Mapping[str, float] | None = None,
        precision: str = "fp32",
    ) -> None:
        self.visual = getattr(model, "visual", model)
        if not all(hasattr(self.visual, part) for part in ("stem", "layer2", "layer3", "attnpool")):
            raise BadInput(
                "the CLIPasso loss needs a CLIP ResNet image tower such as RN101, not "
                + type(self.visual).__name__
            )
        self.visual = fold_batchnorm(copy.deepcopy(self.visual).eval().requires_grad_(False))
        self.visual.to(memory_format=torch.channels_last)
        self._clean_features = PerTarget()
        self._groups = TargetGroups()
        self.augmentations = int(augmentations)
        self.shared_augmentations = shared_augmentations
        self.term_weights = {**CLIPASSO_WEIGHTS, **(term_weights or {})}
        self.precision = resolve_precision(precision, self.visual.conv1.weight.device)

    def numerics(self):
        """The context an optimisation step (forward and backward) runs in: CUDA's TF32
        on for "tf32" only, so "fp32" is IEEE float32 on a GPU too."""
        return cuda_tf32(self.precision == "tf32")

    def __call__(
        self,
        sketches: torch.Tensor,
        target: torch.Tensor,
        generators: list[torch.Generator] | None = None,
        eval: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Loss terms per sketch, each (B,).

        sketches: (B, 3, 224, 224) in [0, 1]; target: (3, 224, 224) shared by all sketches
        or (B, 3, 224, 224) one per sketch. generators: per-sketch CPU generators (length B),
        or in shared mode a list whose first generator draws the call's views; None uses
        torch's global RNG. eval: the clean pair only (no augmentation, deterministic).
        """
        batch = sketches.shape[0]
        views = 0 if eval else self.augmentations
        groups, unique_targets = self._groups(target, batch)
        params = self._draw(batch, views, generators)

        with torch.no_grad():
            # the clean view's features are the same at every step: computed once per photo
            clean = tuple(
                torch.cat(parts)
                for parts in zip(
                    *(self._clean_features(t, self._one_target_features) for t in unique_targets),
                    strict=True,
                )
            )
            if views == 0:
                target_l2, target_l3, target_emb = clean
            else:
                augmented = self.features(
                    self._augmented_targets(unique_targets, groups, views, params)
                )
                target_l2, target_l3, target_emb = (
                    torch.cat(pair) for pair in zip(clean, augmented, strict=True)
                )
        sketch_views = (
            sketches
            if views == 0
            else torch.cat([sketches, apply_views(sketches.repeat_interleave(views, 0), params)])
        )
        sketch_l2, sketch_l3, sketch_emb = self.features(sketch_views)

        index = self._target_index(groups, unique_targets.shape[0], views).to(sketch_l2.device)
        per_view = {
            "layer2": (sketch_l2 - target_l2[index]).square().mean(dim=(1, 2, 3)),
            "layer3": (sketch_l3 - target_l3[index]).square().mean(dim=(1, 2, 3)),
            "semantic": _one_minus_cosine(sketch_emb, target_emb[index]),
        }
        terms = {
            name: self.term_weights[name] * _per_sketch_mean(values, batch, views)
            for name, values in per_view.items()
        }
        return {"total": terms["layer2"] + terms["layer3"] + terms["semantic"], **terms}

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """`resnet_features` of [0, 1] images, under autocast unless fp32; returned as fp32."""
        dtype = AUTOCAST_DTYPES[self.precision]
        with torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None):
            features = resnet_features(
                self.visual, clip_normalise(images).contiguous(memory_format=torch.channels_last)
            )
        return tuple(f.float() for f in features)

    def _one_target_features(self, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.features(target[None])

    def _draw(self, batch: int, views: int, generators: list[torch.Generator] | None) -> ViewParams:
        """Views ordered as the sketch views: sketch 0's K views, then sketch 1's, …"""
        if views == 0:
            return draw_views(0)
        if self.shared_augmentations:
            return draw_views(views, generators[0] if generators else None).repeat(batch)
        if generators is not None and len(generators) != batch:
            raise ValueError(f"{batch} sketches but {len(generators)} generators")
        return ViewParams.concat(
            [draw_views(views, generators[b] if generators else None) for b in range(batch)]
        )

    def _augmented_targets(
        self, targets: torch.Tensor, groups: list[int], views: int, params: ViewParams
    ) -> torch.Tensor:
        """The augmented target views the index refers to (after the clean ones)."""
        if self.shared_augmentations:
            shared = ViewParams(params.coefficients[:views], params.crops[:views]).repeat(
                targets.shape[0]
            )
            return apply_views(targets.repeat_interleave(views, 0), shared)
        per_sketch = targets[torch.tensor(groups, device=targets.device)].repeat_interleave(
            views, 0
        )
        return apply_views(per_sketch, params)

    def _target_index(self, groups: list[int], n_targets: int, views: int) -> torch.Tensor:
        """For each sketch view (clean views first, then augmented), its row in the target views."""
        groups_t = torch.tensor(groups)
        clean = groups_t
        if views == 0:
            return clean
        view = torch.arange(views).repeat(len(groups))
        if self.shared_augmentations:
            augmented = n_targets + groups_t.repeat_interleave(views) * views + view
        else:
            augmented = n_targets + torch.arange(len(groups) * views)
        return torch.cat([clean, augmented])


class XdogLoss:
    """Weight-free baseline: L2 between the blurred sketch and the blurred XDoG edges of the target.

    The target's XDoG edges (`sketchgen.xdog`) are drawn dark-on-white like a sketch; both
    images are blurred with a Gaussian of σ = 2 px (so a stroke a few pixels off still gets a
    gradient) and compared by the mean squared difference of their grey values: the one term
    `edges`, times `weight`, which is also the `total`. Generators and augmentations are
    ignored (it is deterministic).
    """

    def __init__(self, blur_sigma: float = 2.0, weight: float = XDOG_WEIGHTS["edges"]) -> None:
        self.blur_sigma = blur_sigma
        self.weight = weight
        self._edge_drawing = PerTarget()
        self._groups = TargetGroups()

    def __call__(
        self,
        sketches: torch.Tensor,
        target: torch.Tensor,
        generators: list[torch.Generator] | None = None,
        eval: bool = False,
    ) -> dict[str, torch.Tensor]:
        batch = sketches.shape[0]
        groups, unique_targets = self._groups(target, batch)
        drawings = torch.stack(
            [self._edge_drawing(t, self._draw_edges) for t in unique_targets]
        ).to(sketches.device, sketches.dtype)
        sketch_grey = self._blur(sketches.mean(dim=1, keepdim=True))
        l2 = (
            (sketch_grey - drawings[torch.tensor(groups, device=sketches.device)])
            .square()
            .mean(dim=(1, 2, 3))
        )
        edges = self.weight * l2
        return {"total": edges, "edges": edges}

    def _blur(self, images: torch.Tensor) -> torch.Tensor:
        size = 2 * int(3 * self.blur_sigma + 0.5) + 1
        return kornia.filters.gaussian_blur2d(
            images, (size, size), (self.blur_sigma, self.blur_sigma), border_type="replicate"
        )

    def _draw_edges(self, target: torch.Tensor) -> torch.Tensor:
        """(1, H, W) blurred dark-on-white XDoG edges of a target."""
        return self._blur((1.0 - xdog_edges(target))[None, None])[0]


def _group_targets(target: torch.Tensor, batch: int) -> tuple[list[int], torch.Tensor]:
    """Distinct targets (U, 3, H, W) and, per sketch, the index of its target among them."""
    if target.dim() == 3:
        return [0] * batch, target[None]
    if target.shape[0] != batch:
        raise ValueError(f"{batch} sketches but {target.shape[0]} targets")
    unique: list[torch.Tensor] = []
    groups = []
    for candidate in target:
        match = next((i for i, known in enumerate(unique) if torch.equal(known, candidate)), None)
        if match is None:
            unique.append(candidate)
            match = len(unique) - 1
        groups.append(match)
    return groups, torch.stack(unique)


def _one_minus_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - cos(a, b) per row, as half the squared distance of the unit vectors: the same
    value, without the cancellation of 1 - cos in float32 when a and b are nearly parallel."""
    return 0.5 * (F.normalize(a, dim=1) - F.normalize(b, dim=1)).square().sum(dim=1)


def _per_sketch_mean(per_view: torch.Tensor, batch: int, views: int) -> torch.Tensor:
    """Per-view values laid out as [B clean views, then B×K augmented] → mean per sketch (B,)."""
    clean = per_view[:batch]
    if views == 0:
        return clean
    augmented = per_view[batch:].reshape(batch, views)
    return (clean + augmented.sum(dim=1)) / (1 + views)


def sketch_objective(
    loss: SketchLoss,
    points: torch.Tensor,
    half_widths: torch.Tensor | float,
    target: torch.Tensor,
    *,
    device: torch.device | str = "cpu",
    colors: torch.Tensor | None = None,
    seed: int = 0,
    renderer: str = "torch",
) -> dict[str, float]:
    """The objective of one given sketch (N, 4, 2) pixel control points on the 224 canvas,
    by any method's loss (on `device`, where the loss's model is).

    Rendered exactly as the optimizer renders (`sketchgen.raster.render` with `renderer`,
    2×2 samples, seed 0). A loss without augmented views (`loss.augmentations` 0 or absent)
    gives the optimizer's clean-pair eval loss; otherwise the K views are drawn from a
    generator seeded with `seed`.
    """
    device = torch.device(device)
    opaque_black = colors is None or bool((colors == torch.tensor([0.0, 0.0, 0.0, 1.0])).all())
    with torch.no_grad(), getattr(loss, "numerics", nullcontext)():
        sketch = render(
            points[None].to(device),
            torch.as_tensor(half_widths, dtype=torch.float32).to(device)[None]
            if torch.is_tensor(half_widths)
            else half_widths,
            224,
            colors=None if opaque_black else colors[None].to(device),
            renderer=renderer,
        )
        clean = getattr(loss, "augmentations", 0) == 0
        values = loss(sketch, target.to(device), [torch.Generator().manual_seed(seed)], eval=clean)
    return {name: float(value[0]) for name, value in values.items()}
