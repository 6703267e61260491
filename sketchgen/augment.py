"""CLIPasso's paired augmentation, batched: RandomPerspective(0.5) then RandomResizedCrop(224, 0.8).

The reference (`models/loss.py: CLIPConvLoss`) concatenates sketch and target and passes
the pair through torchvision's `RandomPerspective(distortion_scale=0.5, p=1, fill=0)` and
`RandomResizedCrop(224, scale=(0.8, 0.8), ratio=(1, 1))`, so both get the same random
parameters. Here the parameters are drawn exactly as torchvision draws them (same calls,
same order, so a generator seeded like the reference's global RNG gives the same views),
and the warps of many views run as one `grid_sample` and one `interpolate` call.

Warping follows torchvision 0.8.2, which the reference pins: bilinear perspective with
zero padding (newer torchvision also multiplies the border by an interpolated fill mask),
and a bilinear resize of the 200×200 crop without antialiasing (it is an upscale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

DISTORTION = 0.5
CROP_SCALE = (0.8, 0.8)
CROP_RATIO = (1.0, 1.0)


@dataclass(frozen=True)
class ViewParams:
    """Random parameters of n augmented views (one row per view).

    coefficients: (n, 8) float32 perspective coefficients (torchvision's convention: output
    pixel → input pixel); crops: (n, 4) int64 rows of (top, left, height, width) in pixels.
    """

    coefficients: torch.Tensor
    crops: torch.Tensor

    def __len__(self) -> int:
        return self.coefficients.shape[0]

    @staticmethod
    def concat(parts: list[ViewParams]) -> ViewParams:
        return ViewParams(
            torch.cat([p.coefficients for p in parts]), torch.cat([p.crops for p in parts])
        )

    def repeat_interleave(self, times: int) -> ViewParams:
        return ViewParams(
            self.coefficients.repeat_interleave(times, 0), self.crops.repeat_interleave(times, 0)
        )

    def repeat(self, times: int) -> ViewParams:
        return ViewParams(self.coefficients.repeat(times, 1), self.crops.repeat(times, 1))


def draw_views(count: int, generator: torch.Generator | None = None, size: int = 224) -> ViewParams:
    """Draw `count` views' parameters from `generator` (None: torch's global RNG).

    Per view, the calls torchvision makes: `rand(1)` (the p=1 test), 8 `randint` for the
    perspective corners, two `uniform_` and two `randint` for the crop.
    """
    coefficients, crops = [], []
    for _ in range(count):
        torch.rand(1, generator=generator)
        start, end = _perspective_corners(size, size, generator)
        coefficients.append(_perspective_system(start, end))
        crops.append(_crop_box(size, size, generator))
    solved = (
        torch.linalg.solve(*map(torch.stack, zip(*coefficients, strict=True))).float()
        if count
        else torch.zeros(0, 8)
    )
    return ViewParams(solved, torch.tensor(crops, dtype=torch.int64).reshape(-1, 4))


def apply_views(images: torch.Tensor, params: ViewParams, size: int = 224) -> torch.Tensor:
    """Warp (n, C, H, W) images, view i with params row i: (n, C, size, size). Differentiable."""
    if len(params) != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {len(params)} view parameters")
    if images.shape[0] == 0:
        return images.new_zeros((0, images.shape[1], size, size))
    warped = F.grid_sample(
        images,
        _perspective_grid(params.coefficients.to(images.device, images.dtype), *images.shape[-2:]),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    boxes = params.crops.tolist()
    if len({(h, w) for _, _, h, w in boxes}) == 1:
        crops = torch.stack(
            [warped[i, :, t : t + h, x : x + w] for i, (t, x, h, w) in enumerate(boxes)]
        )
        return F.interpolate(crops, size=(size, size), mode="bilinear", align_corners=False)
    return torch.cat(
        [
            F.interpolate(
                warped[i : i + 1, :, t : t + h, x : x + w],
                size=(size, size),
                mode="bilinear",
                align_corners=False,
            )
            for i, (t, x, h, w) in enumerate(boxes)
        ]
    )


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(low, high, size=(1,), generator=generator).item())


def _perspective_corners(width: int, height: int, generator: torch.Generator | None):
    """torchvision `RandomPerspective.get_params`, with an explicit generator."""
    half_w, half_h = width // 2, height // 2
    dx, dy = int(DISTORTION * half_w), int(DISTORTION * half_h)
    top_left = [_randint(0, dx + 1, generator), _randint(0, dy + 1, generator)]
    top_right = [_randint(width - dx - 1, width, generator), _randint(0, dy + 1, generator)]
    bottom_right = [
        _randint(width - dx - 1, width, generator),
        _randint(height - dy - 1, height, generator),
    ]
    bottom_left = [_randint(0, dx + 1, generator), _randint(height - dy - 1, height, generator)]
    start = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
    return start, [top_left, top_right, bottom_right, bottom_left]


def _perspective_system(start, end) -> tuple[torch.Tensor, torch.Tensor]:
    """The 8×8 system torchvision's `_get_perspective_coeffs` solves (float64)."""
    rows, targets = [], []
    for (ex, ey), (sx, sy) in zip(end, start, strict=True):
        rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
        rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
        targets.extend([sx, sy])
    return torch.tensor(rows, dtype=torch.float64), torch.tensor(targets, dtype=torch.float64)


def _crop_box(width: int, height: int, generator: torch.Generator | None) -> list[int]:
    """torchvision `RandomResizedCrop.get_params` for scale (0.8, 0.8), ratio (1, 1)."""
    area = height * width
    log_ratio = torch.log(torch.tensor(CROP_RATIO))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(*CROP_SCALE, generator=generator).item()
        aspect = torch.exp(
            torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=generator)
        ).item()
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return [
                _randint(0, height - h + 1, generator),
                _randint(0, width - w + 1, generator),
                h,
                w,
            ]
    return [0, 0, height, width]  # unreachable for scale 0.8, ratio 1 (kept for other settings)


def _perspective_grid(coefficients: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """torchvision `_perspective_grid`, batched: (n, 8) → (n, H, W, 2) sampling grid.

    Output pixel centre (x, y) maps to input ((c0 x + c1 y + c2), (c3 x + c4 y + c5)) /
    (c6 x + c7 y + 1), expressed in grid_sample's [-1, 1] coordinates.
    """
    dtype, device = coefficients.dtype, coefficients.device
    x = torch.linspace(0.5, width - 0.5, width, dtype=dtype, device=device).view(1, 1, width)
    y = torch.linspace(0.5, height - 0.5, height, dtype=dtype, device=device).view(1, height, 1)
    c = [coefficients[:, i].view(-1, 1, 1) for i in range(8)]
    denominator = c[6] * x + c[7] * y + 1.0
    grid_x = (c[0] * x + c[1] * y + c[2]) / (0.5 * width) / denominator - 1.0
    grid_y = (c[3] * x + c[4] * y + c[5]) / (0.5 * height) / denominator - 1.0
    return torch.stack([grid_x, grid_y], dim=-1)
