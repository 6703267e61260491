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

import torch

from sketchgen.raster_samples import SamplePattern

# Pixel centre to farthest point of its square; a sample is at most this far from the centre.
_HALF_DIAGONAL = 0.70711
# Chords per refined piece (2 coarse segments) before Newton polishes the nearest point.
_REFINE_FORWARD = 8
_REFINE_BACKWARD = 4
_NEWTON_STEPS = 2


def _power_basis(points: torch.Tensor) -> torch.Tensor:
    """Cubic Bézier control points (..., 4, 2) -> power-basis coefficients c0..c3 (..., 4, 2)."""
    p0, p1, p2, p3 = points.unbind(-2)
    return torch.stack(
        [p0, 3 * (p1 - p0), 3 * (p0 - 2 * p1 + p2), p3 - p0 + 3 * (p1 - p2)], dim=-2
    )


def _project_on_cubic(coeffs, p, t_lo, t_hi, pieces):
    """Nearest point to p on each cubic's piece t in [t_lo, t_hi] (clamped to [0, 1]).

    coeffs (n, 4, 2) power basis, p (n, 2). The piece is cut into `pieces` chords to find
    the right basin, then Newton steps on (q(t) - p) . q'(t) = 0 polish t. Returns (t, q).
    """
    steps = torch.linspace(0.0, 1.0, pieces + 1, device=p.device, dtype=p.dtype)
    t = t_lo[:, None] + (t_hi - t_lo)[:, None] * steps  # (n, R+1)
    c = coeffs.reshape(-1, 8)
    cx0, cy0, cx1, cy1, cx2, cy2, cx3, cy3 = (c[:, i : i + 1] for i in range(8))
    qx = cx0 + t * (cx1 + t * (cx2 + t * cx3))
    qy = cy0 + t * (cy1 + t * (cy2 + t * cy3))
    ax, ay = qx[:, :-1], qy[:, :-1]
    abx, aby = qx[:, 1:] - ax, qy[:, 1:] - ay
    px, py = p[:, 0:1] - ax, p[:, 1:2] - ay
    u = ((px * abx + py * aby) / (abx * abx + aby * aby).clamp_min(1e-12)).clamp_(0.0, 1.0)
    dx, dy = px - u * abx, py - u * aby
    best = (dx * dx + dy * dy).argmin(1, keepdim=True)
    t = t.gather(1, best) + u.gather(1, best) * (t_hi - t_lo)[:, None] / pieces
    px, py = p[:, 0:1], p[:, 1:2]
    for _ in range(_NEWTON_STEPS):
        qx = cx0 + t * (cx1 + t * (cx2 + t * cx3))
        qy = cy0 + t * (cy1 + t * (cy2 + t * cy3))
        vx = cx1 + t * (2 * cx2 + t * (3 * cx3))
        vy = cy1 + t * (2 * cy2 + t * (3 * cy3))
        ex, ey = qx - px, qy - py
        speed2 = vx * vx + vy * vy
        slope = speed2 + ex * (2 * cx2 + 6 * cx3 * t) + ey * (2 * cy2 + 6 * cy3 * t)
        slope = torch.where(slope > 0.1 * speed2, slope, speed2).clamp_min(1e-12)
        t = (t - (ex * vx + ey * vy) / slope).clamp_(0.0, 1.0)
    qx = cx0 + t * (cx1 + t * (cx2 + t * cx3))
    qy = cy0 + t * (cy1 + t * (cy2 + t * cy3))
    return t.squeeze(1), torch.cat([qx, qy], dim=1)


def _chord_length(offset: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Length of the line {x : n.(x - centre) = offset} inside a unit pixel square.

    It is the density of n.x for x uniform on the square: a trapezoid with plateau 1/a on
    |offset| <= (a-b)/2 falling to 0 at (a+b)/2, where a >= b are |n_x|, |n_y|.
    """
    absn = normal.abs()
    a = absn.max(-1).values.clamp_min(_HALF_DIAGONAL)
    b = absn.min(-1).values
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
        # Segment count per stroke: short enough for the window, flat enough for `error`.
        polygon = (points[:, 1:] - points[:, :-1]).norm(dim=-1).sum(-1)
        second = (points[:, :-2] - 2 * points[:, 1:-1] + points[:, 2:]).norm(dim=-1).amax(-1)
        by_length = torch.ceil(polygon / segment_length)
        by_flatness = torch.ceil(torch.sqrt(0.75 * second / error))
        counts = torch.maximum(by_length, by_flatness).clamp(1, max_segments).long()
        self.seg_error = 0.75 * second / counts.to(points.dtype) ** 2  # pixels, per stroke
        total = int(counts.sum())
        stroke = torch.repeat_interleave(torch.arange(len(points), device=device), counts, output_size=total)
        starts = torch.cumsum(counts, 0) - counts
        j = torch.arange(total, device=device) - starts[stroke]
        k = counts[stroke].to(points.dtype)
        t0 = j.to(points.dtype) / k
        t1 = (j + 1).to(points.dtype) / k
        ts = torch.stack([t0, t1], dim=1)[..., None]  # (S, 2, 1)
        c = self.coeffs[stroke]  # (S, 4, 2)
        ends = c[:, 0:1] + ts * (c[:, 1:2] + ts * (c[:, 2:3] + ts * c[:, 3:4]))  # (S, 2, 2)
        self.seg_stroke, self.seg_t0, self.seg_dt = stroke, t0, t1 - t0
        self.seg_a, self.seg_ab = ends[:, 0], ends[:, 1] - ends[:, 0]
        # Pixels whose centre lies within `reach` of a segment may see its stroke.
        self.seg_reach = (half_widths + _HALF_DIAGONAL + self.seg_error)[stroke]
        lo = torch.minimum(ends[:, 0], ends[:, 1]) - self.seg_reach[:, None]
        hi = torch.maximum(ends[:, 0], ends[:, 1]) + self.seg_reach[:, None]
        # Each segment's window: the pixels whose centre lies in its reach box, on the image.
        limit = torch.tensor([width - 1, height - 1], device=device)
        first = torch.minimum(torch.ceil(lo - 0.5).long().clamp_min(0), limit + 1)
        last = torch.minimum(torch.floor(hi - 0.5).long(), limit)
        self._pairs(first, (last - first + 1).clamp_min(0))

    def _pairs(self, first: torch.Tensor, extent: torch.Tensor) -> None:
        """(segment, pixel) pairs whose pixel centre is within the segment's reach."""
        device = first.device
        n_cells = extent[:, 0] * extent[:, 1]
        total = int(n_cells.sum())
        seg = torch.repeat_interleave(
            torch.arange(len(first), device=device), n_cells, output_size=total
        )
        local = torch.arange(total, device=device) - (torch.cumsum(n_cells, 0) - n_cells)[seg]
        span_x = extent[seg, 0]
        origin = first[seg]
        cols = origin[:, 0] + local % span_x
        rows = origin[:, 1] + local // span_x
        table = torch.cat(
            [self.seg_a, self.seg_ab, self.seg_reach[:, None] ** 2], dim=1
        )[seg]  # (T, 5)
        ax = (cols.to(table.dtype) + 0.5) - table[:, 0]
        ay = (rows.to(table.dtype) + 0.5) - table[:, 1]
        abx, aby = table[:, 2], table[:, 3]
        u = ((ax * abx + ay * aby) / (abx * abx + aby * aby).clamp_min(1e-12)).clamp(0.0, 1.0)
        dx, dy = ax - u * abx, ay - u * aby
        dist2 = dx * dx + dy * dy
        keep = (dist2 < table[:, 4]).nonzero().squeeze(1)
        seg = seg[keep]
        self.pair_seg = seg
        self.pair_u = u[keep]
        stroke = self.seg_stroke[seg]
        self.pair_stroke = stroke
        self.pair_signed = dist2[keep].sqrt() - self.half_widths[stroke]
        self.pair_pixel = (self.image[stroke] * self.height + rows[keep]) * self.width + cols[keep]

    def coverage_samples(self, pattern: SamplePattern, xy: torch.Tensor) -> torch.Tensor:
        """Hard per-sample coverage (n_images * H * W * s,) float, 1 = inside some stroke.

        xy: (2, H*W*s) sample x and y positions in pixels.
        """
        n_pix_image = self.height * self.width
        n_pix = self.n_images * n_pix_image
        spp = pattern.samples_per_pixel
        dtype = self.seg_a.dtype
        cover = torch.zeros(n_pix * spp, device=xy.device, dtype=dtype)
        if self.pair_seg.numel() == 0:
            return cover
        # Per segment: a, ab, 1/|ab|^2, half-width, polyline error (one gather per pair).
        ab2 = (self.seg_ab * self.seg_ab).sum(-1).clamp_min(1e-12)
        table = torch.cat(
            [
                self.seg_a,
                self.seg_ab,
                (1.0 / ab2)[:, None],
                self.half_widths[self.seg_stroke][:, None],
                self.seg_error[self.seg_stroke][:, None],
            ],
            dim=1,
        )
        nearest = torch.full((n_pix,), float("inf"), device=xy.device, dtype=dtype)
        nearest.scatter_reduce_(
            0, self.pair_pixel, self.pair_signed + table[self.pair_seg, 6], "amin"
        )
        full = nearest < -_HALF_DIAGONAL  # every sample of the pixel is inside
        cover.view(n_pix, spp)[full] = 1.0
        partial = (~full[self.pair_pixel]).nonzero().squeeze(1)
        seg = self.pair_seg[partial]
        pixel = self.pair_pixel[partial]
        tp = table[seg]
        # Expand to samples: (pair, k) for the pixel's own samples.
        sample_local = (pixel % n_pix_image)[:, None] * spp + torch.arange(spp, device=xy.device)
        ax = xy[0][sample_local] - tp[:, 0:1]
        ay = xy[1][sample_local] - tp[:, 1:2]
        abx, aby = tp[:, 2:3], tp[:, 3:4]
        u = ((ax * abx + ay * aby) * tp[:, 4:5]).clamp_(0.0, 1.0)
        dx, dy = ax - u * abx, ay - u * aby
        signed = (dx * dx + dy * dy).sqrt_() - tp[:, 5:6]
        err = tp[:, 6:7]
        sample_global = sample_local + (pixel - pixel % n_pix_image)[:, None] * spp
        cover[sample_global[signed < -err]] = 1.0
        unsure = (signed.abs() <= err) & (cover[sample_global] == 0)
        pair_idx, k = unsure.nonzero(as_tuple=True)
        if pair_idx.numel():
            s = seg[pair_idx]
            stroke = self.seg_stroke[s]
            sample = sample_local[pair_idx, k]
            q_point = xy[:, sample].T
            _, q = _project_on_cubic(self.coeffs[stroke], q_point, *self._piece(s), _REFINE_FORWARD)
            inside = (q - q_point).norm(dim=-1) < self.half_widths[stroke]
            cover[sample_global[pair_idx, k][inside]] = 1.0
        return cover

    def _piece(self, seg: torch.Tensor):
        """Parameter range around a coarse segment that holds the curve's nearest point."""
        t0, dt = self.seg_t0[seg], self.seg_dt[seg]
        return (t0 - 0.5 * dt).clamp_min(0.0), (t0 + 1.5 * dt).clamp_max(1.0)

    def pixel_edges(self):
        """Per pixel near an edge: (pixel, stroke, t, normal, near chord, far chord).

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
        best = best[pixels]
        pair = best % (1 << 26)
        signed = (best // (1 << 26)).to(self.seg_a.dtype) / scale - offset
        seg = self.pair_seg[pair]
        stroke = self.seg_stroke[seg]
        # Chords are non-zero only when an edge is within half a diagonal of the centre.
        slack = _HALF_DIAGONAL + self.seg_error[stroke] + 1e-3
        live = (signed > -slack) | (signed + 2 * self.half_widths[stroke] < slack)
        pixels, seg, stroke = pixels[live], seg[live], stroke[live]
        local = pixels % (self.height * self.width)
        centre = torch.stack(
            [(local % self.width).to(self.seg_a.dtype) + 0.5, (local // self.width).to(self.seg_a.dtype) + 0.5],
            dim=1,
        )
        t, q = _project_on_cubic(self.coeffs[stroke], centre, *self._piece(seg), _REFINE_BACKWARD)
        diff = centre - q
        dist = diff.norm(dim=-1)
        normal = diff / dist.clamp_min(1e-9)[:, None]
        hw = self.half_widths[stroke]
        near = _chord_length(dist - hw, normal)
        far = _chord_length(dist + hw, normal)
        return pixels, stroke, t, normal, near, far


def bernstein(t: torch.Tensor) -> torch.Tensor:
    """Cubic Bernstein weights (n, 4) at parameters t (n,)."""
    s = 1 - t
    return torch.stack([s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t], dim=-1)


class StrokeCoverage(torch.autograd.Function):
    """Coverage of the union of strokes, per pixel (n_images, H, W) or per sample
    (n_images, H*W, s); the backward is the analytic gradient of the pixel's area coverage
    (each sample of a pixel carries its pixel's area gradient).
    """

    @staticmethod
    def forward(ctx, points, half_widths, image, n_images, pattern, xy, counts, extra, per_sample):
        with torch.no_grad():
            geometry = StrokeGeometry(points.detach(), half_widths.detach(), image, n_images, pattern)
            cover = geometry.coverage_samples(pattern, xy)
            spp = pattern.samples_per_pixel
            ctx.geometry = geometry
            ctx.point_shape = points.shape
            ctx.per_sample = per_sample
            if per_sample:
                return cover.view(n_images, -1, spp)
            n_pix_image = pattern.height * pattern.width
            pixel = cover.view(-1, spp).sum(1)
            extra_sample, extra_pixel = extra
            if extra_sample.numel():
                offsets = torch.arange(n_images, device=xy.device)[:, None]
                pixel.index_add_(
                    0,
                    (offsets * n_pix_image + extra_pixel).flatten(),
                    cover[(offsets * n_pix_image * spp + extra_sample).flatten()],
                )
            pixel = (pixel.view(n_images, -1) / counts).view(n_images, pattern.height, pattern.width)
        return pixel

    @staticmethod
    def backward(ctx, grad_pixel):
        geometry = ctx.geometry
        if ctx.per_sample:
            grad_pixel = grad_pixel.sum(-1)
        grad_points = torch.zeros(ctx.point_shape, device=grad_pixel.device, dtype=grad_pixel.dtype)
        grad_hw = torch.zeros(ctx.point_shape[0], device=grad_pixel.device, dtype=grad_pixel.dtype)
        edges = geometry.pixel_edges()
        if edges is not None:
            pixels, stroke, t, normal, near, far = edges
            g = grad_pixel.reshape(-1)[pixels]
            along = (g * (near - far))[:, None] * normal  # (n, 2)
            per_point = bernstein(t)[:, :, None] * along[:, None, :]  # (n, 4, 2)
            grad_points.index_add_(0, stroke, per_point)
            grad_hw.index_add_(0, stroke, g * (near + far))
        return grad_points, grad_hw, None, None, None, None, None, None, None
