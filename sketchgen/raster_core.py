"""The fast path of the rasterizer: sparse, windowed stroke coverage with an analytic backward.

Forward (no autograd): every cubic is cut into straight segments short and flat enough
that the polyline is within `error` pixels of the curve; each segment visits only the
pixels of a small window around it; pixels far inside a stroke are filled without looking
at their samples; only samples within `error` of an edge get an exact distance (Newton on
the cubic). The result is diffvg's hard 2x2 coverage.

Backward: the gradient of the exact area coverage (what diffvg's edge sampling estimates),
computed per pixel from the nearest stroke: near a locally straight edge, d(area)/d(offset)
is the length of the edge's chord through the pixel, a closed-form trapezoid in the edge's
offset from the pixel centre. The edge moves with the curve's nearest point, i.e. with the
control points' Bernstein weights along the normal, and with the half-width.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import torch

from sketchgen.raster_samples import SamplePattern

# Pixel centre to farthest point of its square; a sample is at most this far from the centre.
_HALF_DIAGONAL = 0.70711
# Chords per refined piece (2 coarse segments) before Newton polishes the nearest point.
_REFINE_FORWARD = 8
_REFINE_BACKWARD = 4
_NEWTON_STEPS = 2


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values[index] along dim 0 for a 1-D long index (index_select: several times faster
    than advanced indexing on CPU)."""
    return values.index_select(0, index)


def _power_basis(points: torch.Tensor) -> torch.Tensor:
    """Cubic Bézier control points (..., 4, 2) -> (..., 7, 2): power-basis coefficients
    c0..c3 of q(t), then 2*c2, 3*c3 (for q'(t) = c1 + t(2c2 + t 3c3)) and 6*c3 (for q'')."""
    p0, p1, p2, p3 = points.unbind(-2)
    c2 = 3 * (p0 - 2 * p1 + p2)
    c3 = p3 - p0 + 3 * (p1 - p2)
    return torch.stack([p0, 3 * (p1 - p0), c2, c3, 2 * c2, 3 * c3, 6 * c3], dim=-2)


@lru_cache(maxsize=8)
def _chord_steps(pieces: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(pieces + 1,) fractions 0..1 that cut a parameter range into equal chords."""
    return torch.linspace(0.0, 1.0, pieces + 1, device=device, dtype=dtype)


def _project_on_cubic(coeffs, p, t_lo, t_hi, pieces):
    """Nearest point to p on each cubic's piece t in [t_lo, t_hi] (clamped to [0, 1]).

    coeffs (7, 2, n): `_power_basis` rows, x and y planes apart (sums over x, y are then
    plane adds, not slow reductions over a size-2 axis); p (2, n). The piece is cut into
    `pieces` chords to find the right basin, then Newton steps on (q(t) - p) . q'(t) = 0
    polish t. Returns t (n,) and q (2, n).
    """
    c0, c1, c2, c3, d2, d3, a3 = coeffs.unsqueeze(3).unbind(0)  # each (2, n, 1)
    span = (t_hi - t_lo).unsqueeze(1)
    t = torch.addcmul(t_lo.unsqueeze(1), span, _chord_steps(pieces, p.device, p.dtype))  # (n, R+1)
    q = torch.addcmul(c0, t, torch.addcmul(c1, t, torch.addcmul(c2, t, c3)))  # (2, n, R+1)
    a = q[..., :-1]
    ab = q[..., 1:] - a
    p = p.unsqueeze(2)
    pa = p - a
    u = ((pa * ab).sum(0) / (ab * ab).sum(0).clamp_min(1e-12)).clamp_(0.0, 1.0)
    d = torch.addcmul(pa, u, ab, value=-1.0)
    best = (d * d).sum(0).argmin(1, keepdim=True)
    t = torch.addcmul(t.gather(1, best), u.gather(1, best), span, value=1.0 / pieces)  # (n, 1)
    for _ in range(_NEWTON_STEPS):
        q = torch.addcmul(c0, t, torch.addcmul(c1, t, torch.addcmul(c2, t, c3)))
        v = torch.addcmul(c1, t, torch.addcmul(d2, t, d3))
        e = q - p
        speed2 = (v * v).sum(0)
        slope = speed2 + (e * torch.addcmul(d2, t, a3)).sum(0)
        slope = torch.where(slope > 0.1 * speed2, slope, speed2).clamp_min_(1e-12)
        t = (t - (e * v).sum(0) / slope).clamp_(0.0, 1.0)
    q = torch.addcmul(c0, t, torch.addcmul(c1, t, torch.addcmul(c2, t, c3)))
    return t.squeeze(1), q.squeeze(2)


def _chord_length(offset: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Length of the line {x : n.(x - centre) = offset} inside a unit pixel square; normal (2, n).

    It is the density of n.x for x uniform on the square: a trapezoid with plateau 1/a on
    |offset| <= (a-b)/2 falling to 0 at (a+b)/2, where a >= b are |n_x|, |n_y|.
    """
    nx, ny = normal.abs().unbind(0)
    a = torch.maximum(nx, ny).clamp_min(_HALF_DIAGONAL)
    b = torch.minimum(nx, ny)
    ramp = (0.5 * (a + b) - offset.abs()) / (a * b).clamp_min(1e-12)
    return torch.minimum(ramp.clamp_min(0.0), 1.0 / a)


class StrokeGeometry:
    """Segments and pixel windows of a set of strokes on a batch of images (no autograd).

    points (M, 4, 2), half_widths (M,), image (M,) index of each stroke's image.
    """

    def __init__(
        self,
        points: torch.Tensor,
        half_widths: torch.Tensor,
        image: torch.Tensor,
        n_images: int,
        pattern: SamplePattern,
        *,
        segment_length: float = 8.0,
        error: float = 0.1,
        max_segments: int = 256,
    ):
        device = points.device
        height, width = pattern.height, pattern.width
        self.points, self.half_widths, self.image = points, half_widths, image
        self.height, self.width, self.n_images = height, width, n_images
        self.coeffs = _power_basis(points)
        self._coeff_rows = self.coeffs.reshape(len(points), 14)
        # Segment count per stroke: short enough for the window, flat enough for `error`.
        polygon = (points[:, 1:] - points[:, :-1]).norm(dim=-1).sum(-1)
        second = (points[:, :-2] - 2 * points[:, 1:-1] + points[:, 2:]).norm(dim=-1).amax(-1)
        by_length = torch.ceil(polygon / segment_length)
        by_flatness = torch.ceil(torch.sqrt(0.75 * second / error))
        counts = torch.maximum(by_length, by_flatness).clamp(1, max_segments).long()
        self.seg_error = 0.75 * second / counts.to(points.dtype) ** 2  # pixels, per stroke
        total = int(counts.sum())
        stroke = torch.repeat_interleave(
            torch.arange(len(points), device=device), counts, output_size=total
        )
        starts = torch.cumsum(counts, 0) - counts
        j = torch.arange(total, device=device) - _take(starts, stroke)
        k = _take(counts, stroke).to(points.dtype)
        t0 = j.to(points.dtype) / k
        t1 = (j + 1).to(points.dtype) / k
        ts = torch.stack([t0, t1], dim=1)[..., None]  # (S, 2, 1)
        c = _take(self.coeffs, stroke)  # (S, 7, 2)
        ends = c[:, 0:1] + ts * (c[:, 1:2] + ts * (c[:, 2:3] + ts * c[:, 3:4]))  # (S, 2, 2)
        self.seg_stroke, self.seg_t0, self.seg_dt = stroke, t0, t1 - t0
        self.seg_a, self.seg_ab = ends[:, 0], ends[:, 1] - ends[:, 0]
        # Pixels whose centre lies within `reach` of a segment may see its stroke.
        self.seg_reach = _take(half_widths + _HALF_DIAGONAL + self.seg_error, stroke)
        lo = torch.minimum(ends[:, 0], ends[:, 1]) - self.seg_reach[:, None]
        hi = torch.maximum(ends[:, 0], ends[:, 1]) + self.seg_reach[:, None]
        # Each segment's window: the pixels whose centre lies in its reach box, on the image.
        limit = torch.tensor([width - 1, height - 1], device=device)
        first = torch.minimum(torch.ceil(lo - 0.5).long().clamp_min(0), limit + 1)
        last = torch.minimum(torch.floor(hi - 0.5).long(), limit)
        self._pairs(first, (last - first + 1).clamp_min(0))

    def _pairs(self, first: torch.Tensor, extent: torch.Tensor) -> None:
        """(segment, pixel) pairs whose pixel centre is within the segment's reach."""
        device, dtype = first.device, self.seg_a.dtype
        n_cells = extent[:, 0] * extent[:, 1]
        total = int(n_cells.sum())
        seg = torch.repeat_interleave(
            torch.arange(len(first), device=device), n_cells, output_size=total
        )
        # Cell index inside its segment's window (small: exact in floating point).
        local = (
            torch.arange(total, device=device) - _take(torch.cumsum(n_cells, 0) - n_cells, seg)
        ).to(dtype)
        # Per segment, as rows gathered once per cell: first pixel centre, window width,
        # a, ab, |ab|^2, reach^2.
        ab2 = (self.seg_ab * self.seg_ab).sum(1).clamp_min(1e-12)
        per_segment = torch.cat(
            [
                first.to(dtype) + 0.5,
                extent[:, :1].to(dtype),
                self.seg_a,
                self.seg_ab,
                ab2[:, None],
                (self.seg_reach**2)[:, None],
            ],
            dim=1,
        )  # (S, 9)
        rows = _take(per_segment, seg).T.contiguous()  # (9, T): a dim-0 gather is the fast one
        origin_x, origin_y, span, a_x, a_y, ab_x, ab_y, ab2, reach2 = rows.unbind(0)
        row_off = torch.floor((local + 0.5) / span)
        centre_x = origin_x + torch.addcmul(local, row_off, span, value=-1.0)
        centre_y = origin_y + row_off
        ax, ay = centre_x - a_x, centre_y - a_y
        u = ((ax * ab_x + ay * ab_y) / ab2).clamp_(0.0, 1.0)
        dx, dy = torch.addcmul(ax, u, ab_x, value=-1.0), torch.addcmul(ay, u, ab_y, value=-1.0)
        dist2 = dx * dx + dy * dy
        keep = (dist2 < reach2).nonzero().squeeze(1)
        seg = _take(seg, keep)
        self.pair_seg = seg
        stroke = _take(self.seg_stroke, seg)
        self.pair_stroke = stroke
        self.pair_signed = _take(dist2, keep).sqrt_() - _take(self.half_widths, stroke)
        row, col = _take(centre_y, keep).long(), _take(centre_x, keep).long()
        self.pair_pixel = (_take(self.image, stroke) * self.height + row) * self.width + col

    def coverage_samples(
        self, pattern: SamplePattern, xy: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hard per-sample coverage, in parts: (full, partial, inside).

        full (n_images * H * W,) bool: pixels whose every sample is inside some stroke;
        partial (P,) long: the pixels that are neither full nor untouched; inside
        (n_images * H * W * s,) bool: the inside samples of the partial pixels (False elsewhere).
        xy: (2, H*W*s) sample x and y positions in pixels.
        """
        n_pix_image = self.height * self.width
        n_pix = self.n_images * n_pix_image
        spp = pattern.samples_per_pixel
        dtype = self.seg_a.dtype
        inside = torch.zeros(n_pix * spp, device=xy.device, dtype=torch.bool)
        if self.pair_seg.numel() == 0:
            none = torch.zeros(0, device=xy.device, dtype=torch.long)
            return torch.zeros(n_pix, device=xy.device, dtype=torch.bool), none, inside
        # Per segment: a, ab, 1/|ab|^2, half-width, polyline error (one gather per pair).
        ab2 = (self.seg_ab * self.seg_ab).sum(-1).clamp_min(1e-12)
        table = torch.cat(
            [
                self.seg_a,
                self.seg_ab,
                (1.0 / ab2)[:, None],
                _take(self.half_widths, self.seg_stroke)[:, None],
                _take(self.seg_error, self.seg_stroke)[:, None],
            ],
            dim=1,
        )
        nearest = torch.full((n_pix,), float("inf"), device=xy.device, dtype=dtype)
        nearest.scatter_reduce_(
            0, self.pair_pixel, self.pair_signed + _take(table[:, 6], self.pair_seg), "amin"
        )
        full = nearest < -_HALF_DIAGONAL  # every sample of the pixel is inside
        partial_pixels = (
            ((nearest >= -_HALF_DIAGONAL) & (nearest < float("inf"))).nonzero().squeeze(1)
        )
        partial = (~_take(full, self.pair_pixel)).nonzero().squeeze(1)
        seg = _take(self.pair_seg, partial)
        pixel = _take(self.pair_pixel, partial)
        tp = _take(table, seg)
        # Expand to samples: (pair, k) for the pixel's own samples.
        sample_local = (pixel % n_pix_image)[:, None] * spp + torch.arange(spp, device=xy.device)
        sample_x = _take(xy[0], sample_local.flatten()).view(-1, spp)
        sample_y = _take(xy[1], sample_local.flatten()).view(-1, spp)
        ax = sample_x - tp[:, 0:1]
        ay = sample_y - tp[:, 1:2]
        abx, aby = tp[:, 2:3], tp[:, 3:4]
        u = ((ax * abx + ay * aby) * tp[:, 4:5]).clamp_(0.0, 1.0)
        dx, dy = ax - u * abx, ay - u * aby
        signed = (dx * dx + dy * dy).sqrt_() - tp[:, 5:6]
        err = tp[:, 6:7]
        sample_global = sample_local + (pixel - pixel % n_pix_image)[:, None] * spp
        sample_global = sample_global.flatten()
        inside.index_fill_(0, sample_global[(signed < -err).flatten()], True)
        unsure = (signed.abs() <= err) & ~_take(inside, sample_global).view(-1, spp)
        pair_idx, k = unsure.nonzero(as_tuple=True)
        if pair_idx.numel():
            s = _take(seg, pair_idx)
            stroke = _take(self.seg_stroke, s)
            flat = pair_idx * spp + k
            q_point = torch.stack([_take(sample_x.view(-1), flat), _take(sample_y.view(-1), flat)])
            _, q = _project_on_cubic(
                self._planar_coeffs(stroke), q_point, *self._piece(s), _REFINE_FORWARD
            )
            d = q - q_point
            near = torch.hypot(d[0], d[1]) < _take(self.half_widths, stroke)
            inside.index_fill_(0, _take(sample_global, flat)[near], True)
        return full, partial_pixels, inside

    def _planar_coeffs(self, stroke: torch.Tensor) -> torch.Tensor:
        """`_power_basis` rows of each stroke in `stroke`, as `_project_on_cubic` takes them (7, 2, n)."""
        return _take(self._coeff_rows, stroke).T.reshape(7, 2, -1)

    def _piece(self, seg: torch.Tensor):
        """Parameter range around a coarse segment that holds the curve's nearest point."""
        t0, dt = _take(self.seg_t0, seg), _take(self.seg_dt, seg)
        return (t0 - 0.5 * dt).clamp_min(0.0), (t0 + 1.5 * dt).clamp_max(1.0)

    def pixel_edges(self):
        """Per pixel near an edge: (pixel, stroke, t, normal (2, n), near chord, far chord).

        Uses each pixel's nearest stroke (smallest signed distance from its centre), so an
        edge deep under another stroke contributes nothing, as in the area of the union; where
        two strokes' edges cross inside one pixel only the nearer one counts (an approximation).
        """
        n_pix = self.n_images * self.height * self.width
        device = self.pair_seg.device
        if self.pair_seg.numel() == 0:
            return None
        # Packed (signed distance, pair) keys: one amin finds each pixel's nearest pair.
        offset, scale = 64.0, 65536.0
        quant = ((self.pair_signed + offset).clamp(0.0, 1023.0) * scale).long()
        keys = quant * (1 << 26) + torch.arange(len(quant), device=device)
        best = torch.full((n_pix,), torch.iinfo(torch.int64).max, device=device, dtype=torch.int64)
        best.scatter_reduce_(0, self.pair_pixel, keys, "amin")
        pixels = (best != torch.iinfo(torch.int64).max).nonzero().squeeze(1)
        best = _take(best, pixels)
        pair = best % (1 << 26)
        signed = (best // (1 << 26)).to(self.seg_a.dtype) / scale - offset
        seg = _take(self.pair_seg, pair)
        stroke = _take(self.seg_stroke, seg)
        # Chords are non-zero only when an edge is within half a diagonal of the centre.
        slack = _HALF_DIAGONAL + _take(self.seg_error, stroke) + 1e-3
        live = (
            ((signed > -slack) | (signed + 2 * _take(self.half_widths, stroke) < slack))
            .nonzero()
            .squeeze(1)
        )
        pixels, seg, stroke = _take(pixels, live), _take(seg, live), _take(stroke, live)
        local = pixels % (self.height * self.width)
        centre = torch.stack(
            [
                (local % self.width).to(self.seg_a.dtype) + 0.5,
                (local // self.width).to(self.seg_a.dtype) + 0.5,
            ],
            dim=0,
        )
        t, q = _project_on_cubic(
            self._planar_coeffs(stroke), centre, *self._piece(seg), _REFINE_BACKWARD
        )
        diff = centre - q
        dist = torch.hypot(diff[0], diff[1])
        normal = diff / dist.clamp_min(1e-9)  # (2, n)
        hw = _take(self.half_widths, stroke)
        near = _chord_length(dist - hw, normal)
        far = _chord_length(dist + hw, normal)
        return pixels, stroke, t, normal, near, far


def bernstein(t: torch.Tensor) -> torch.Tensor:
    """Cubic Bernstein weights (n, 4) at parameters t (n,)."""
    s = 1 - t
    return torch.stack([s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t], dim=-1)


@contextmanager
def _one_cpu_thread(device: torch.device):
    """Run the renderer's ops on one CPU thread, whatever the process uses for CLIP.

    A render is ~500 small tensor operations; on them OpenMP's fork/join costs more than a
    second thread gives back (bench, 2 vs 1 thread: about 2x slower per call).
    """
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class StrokeCoverage(torch.autograd.Function):
    """Coverage of the union of strokes, per pixel (n_images, H, W) or per sample
    (n_images, H*W, s); the backward is the analytic gradient of the pixel's area coverage
    (each sample of a pixel carries its pixel's area gradient).
    """

    @staticmethod
    def forward(ctx, points, half_widths, image, n_images, pattern, xy, counts, extra, per_sample):
        with torch.no_grad(), _one_cpu_thread(points.device):
            geometry = StrokeGeometry(
                points.detach(), half_widths.detach(), image, n_images, pattern
            )
            full, partial, inside = geometry.coverage_samples(pattern, xy)
            spp = pattern.samples_per_pixel
            ctx.geometry = geometry
            ctx.point_shape = points.shape
            ctx.per_sample = per_sample
            dtype = points.dtype
            if per_sample:
                cover = (inside.view(-1, spp) | full[:, None]).to(dtype)
                return cover.view(n_images, -1, spp)
            n_pix_image = pattern.height * pattern.width
            # Samples per pixel that are inside: all of a full pixel's, counted for partial ones.
            pixel = full.to(dtype) * spp
            pixel.index_copy_(
                0, partial, inside.view(-1, spp).index_select(0, partial).sum(1).to(dtype)
            )
            extra_sample, extra_pixel = extra
            if extra_sample.numel():
                offsets = torch.arange(n_images, device=xy.device)[:, None]
                sample = (offsets * n_pix_image * spp + extra_sample).flatten()
                pixel.index_add_(
                    0,
                    (offsets * n_pix_image + extra_pixel).flatten(),
                    (_take(inside, sample) | _take(full, sample // spp)).to(dtype),
                )
            pixel = (pixel.view(n_images, -1) / counts).view(
                n_images, pattern.height, pattern.width
            )
        return pixel

    @staticmethod
    def backward(ctx, grad_pixel):
        with _one_cpu_thread(grad_pixel.device):
            return StrokeCoverage._backward(ctx, grad_pixel)

    @staticmethod
    def _backward(ctx, grad_pixel):
        geometry = ctx.geometry
        if ctx.per_sample:
            grad_pixel = grad_pixel.sum(-1)
        grad_points = torch.zeros(ctx.point_shape, device=grad_pixel.device, dtype=grad_pixel.dtype)
        grad_hw = torch.zeros(ctx.point_shape[0], device=grad_pixel.device, dtype=grad_pixel.dtype)
        edges = geometry.pixel_edges()
        if edges is not None:
            pixels, stroke, t, normal, near, far = edges
            g = _take(grad_pixel.reshape(-1), pixels)
            along = (g * (near - far))[:, None] * normal.T  # (n, 2)
            per_point = bernstein(t)[:, :, None] * along[:, None, :]  # (n, 4, 2)
            grad_points.index_add_(0, stroke, per_point)
            grad_hw.index_add_(0, stroke, g * (near + far))
        return grad_points, grad_hw, None, None, None, None, None, None, None
