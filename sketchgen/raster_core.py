"""The fast path of the rasterizer: sparse, windowed stroke coverage with an analytic backward.

Every cubic is cut into straight segments short and flat enough that the polyline is within
`error` pixels of the curve; each segment visits only the pixels of a small window around
it, giving (segment, pixel) pairs. One `scatter_reduce` over packed (distance, pair) keys
finds each touched pixel's nearest pair: it names the pixel once (no full-image `nonzero`),
says whether the pixel lies deep inside a stroke (then its samples need no look), and is the
edge the backward uses. Only the samples of the other pixels get a polyline distance, and
only those within `error` of an edge an exact one (Newton on the cubic, started from the
polyline's nearest point). The result is diffvg's hard 2x2 coverage.

Backward: the gradient of the exact area coverage (what diffvg's edge sampling estimates),
per pixel from its nearest stroke: near a locally straight edge, d(area)/d(offset) is the
length of the edge's chord through the pixel, a closed-form trapezoid in the edge's offset
from the pixel centre. The edge moves with the curve's nearest point, i.e. with the control
points' Bernstein weights along the normal, and with the half-width. It is prepared in the
forward pass (one Newton call for samples and pixel centres together) when a gradient is
needed.

Why so few, coarse operations: a render touches a few thousand pixels, so its cost is the
number of tensor operations (a few microseconds each on CPU) and every pass over a whole
image (tens of microseconds each), not arithmetic.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import torch

from sketchgen.raster_samples import SamplePattern

# Pixel centre to farthest point of its square; a sample is at most this far from the centre.
_HALF_DIAGONAL = 0.70711
_NEWTON_STEPS = 1
_SEGMENT_LENGTH = 8.0  # pixels: keeps each segment's pixel window small
_ERROR = 0.1  # pixels: largest distance between a segment and its piece of the curve
_MAX_SEGMENTS = 256
# Packed keys: signed distance + _KEY_OFFSET in units of 1/_KEY_SCALE px, above a pair index.
_KEY_OFFSET, _KEY_SCALE, _PAIR_BITS = 64.0, 65536.0, 26
_NO_KEY = torch.iinfo(torch.int64).max


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values[index] along dim 0 for a 1-D long index (index_select: several times faster
    than advanced indexing on CPU)."""
    return values.index_select(0, index)


# Rows: power-basis coefficients c0..c3 of q(t) = c0 + c1 t + c2 t^2 + c3 t^3 from the four
# control points, then 2*c2, 3*c3 (for q'(t) = c1 + t(2c2 + t 3c3)) and 6*c3 (for q'').
_POWER_BASIS = (
    (1, 0, 0, 0),
    (-3, 3, 0, 0),
    (3, -6, 3, 0),
    (-1, 3, -3, 1),
    (6, -12, 6, 0),
    (-3, 9, -9, 3),
    (-6, 18, -18, 6),
)


@lru_cache(maxsize=8)
def _constant(values: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A small constant tensor, made once per device and dtype."""
    return torch.tensor(values, device=device, dtype=dtype)


def _power_basis(points: torch.Tensor) -> torch.Tensor:
    """Cubic Bézier control points (M, 4, 2) -> (M, 14): the `_POWER_BASIS` rows, x and y
    interleaved (one matrix product)."""
    return torch.matmul(_constant(_POWER_BASIS, points.device, points.dtype), points).flatten(1)


def _cubic(c0, c1, c2, c3, t):
    """q(t) in power basis (Horner)."""
    return torch.addcmul(c0, t, torch.addcmul(c1, t, torch.addcmul(c2, t, c3)))


def _newton(coeff_rows: torch.Tensor, stroke: torch.Tensor, p: torch.Tensor, t: torch.Tensor):
    """Nearest point to p (2, n) on each query's cubic, by Newton steps on
    (q(t) - p) . q'(t) = 0 from t (n,), clamped to [0, 1]. Returns t (n,) and q (2, n).

    x and y are rows of (2, n) planes; dot products add the two rows (a reduction over
    a size-2 axis is several times slower on CPU)."""
    c0, c1, c2, c3, d2, d3, a3 = _take(coeff_rows, stroke).T.reshape(7, 2, -1).unbind(0)
    for _ in range(_NEWTON_STEPS):
        e = _cubic(c0, c1, c2, c3, t) - p
        v = torch.addcmul(c1, t, torch.addcmul(d2, t, d3))
        ev, vv, ea = e * v, v * v, e * torch.addcmul(d2, t, a3)
        speed2 = vv[0] + vv[1]
        slope = speed2 + ea[0] + ea[1]
        slope = torch.where(slope > 0.1 * speed2, slope, speed2).clamp_min_(1e-12)
        t = (t - (ev[0] + ev[1]) / slope).clamp_(0.0, 1.0)
    return t, _cubic(c0, c1, c2, c3, t)


def _chord_lengths(offsets: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Lengths of the lines {x : n.(x - centre) = offset} inside a unit pixel square, for
    each row of offsets (k, n); normal (2, n).

    It is the density of n.x for x uniform on the square: a trapezoid with plateau 1/a on
    |offset| <= (a-b)/2 falling to 0 at (a+b)/2, where a >= b are |n_x|, |n_y|.
    """
    nx, ny = normal.abs().unbind(0)
    a = torch.maximum(nx, ny).clamp_min(_HALF_DIAGONAL)
    b = torch.minimum(nx, ny)
    ramp = (0.5 * (a + b) - offsets.abs()) / (a * b).clamp_min(1e-12)
    return torch.minimum(ramp.clamp_min(0.0), 1.0 / a)


def bernstein(t: torch.Tensor) -> torch.Tensor:
    """Cubic Bernstein weights (n, 4) at parameters t (n,)."""
    s = 1 - t
    return torch.stack([s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t], dim=-1)


class _Segments:
    """Straight pieces of every stroke, as columns of one table (S, 12): a (2), ab (2),
    1/|ab|^2, half-width, polyline error, reach, t0, dt, (half-width -+ error)^2; and
    `stroke` (S,)."""

    def __init__(self, points: torch.Tensor, half_widths: torch.Tensor):
        dtype = points.dtype
        self.coeff_rows = _power_basis(points)
        legs = points.diff(dim=1)
        polygon = legs.norm(dim=2).sum(1)
        second = legs.diff(dim=1).norm(dim=2).amax(1)
        # Segment count per stroke: short enough for the window, flat enough for `_ERROR`.
        counts = (
            torch.maximum(polygon * (1.0 / _SEGMENT_LENGTH), (second * (0.75 / _ERROR)).sqrt_())
            .ceil_()
            .clamp_(1, _MAX_SEGMENTS)
        )
        error = second * 0.75 / counts.square()
        whole = counts.long()
        total = int(whole.sum())
        self.stroke = torch.repeat_interleave(whole, output_size=total)
        per_stroke = torch.stack(
            [
                half_widths,
                error,
                half_widths + error + _HALF_DIAGONAL,  # reach of a pixel centre
                counts.reciprocal(),
                whole.cumsum(0).to(dtype) - counts,
                (half_widths - error).clamp_min(0.0).square(),  # surely inside within this
                (half_widths + error).square(),  # surely outside beyond this
            ],
            dim=1,
        )
        hw, err, reach, dt, start, inner2, outer2 = _take(per_stroke, self.stroke).unbind(1)
        t0 = (torch.arange(total, device=points.device, dtype=dtype) - start) * dt
        c0, c1, c2, c3 = _take(self.coeff_rows[:, :8], self.stroke).view(total, 4, 1, 2).unbind(1)
        ts = torch.stack([t0, t0 + dt], dim=1)[:, :, None]  # (S, 2, 1)
        ends = _cubic(c0, c1, c2, c3, ts)  # (S, 2, 2): each segment's start and end
        ab = ends[:, 1] - ends[:, 0]
        inv_ab2 = ab.square().sum(1).clamp_min_(1e-12).reciprocal_()
        self.table = torch.cat(
            [ends[:, 0], ab, torch.stack([inv_ab2, hw, err, reach, t0, dt, inner2, outer2], dim=1)],
            dim=1,
        )
        self.max_error = error.max()
        self.ends = ends


class _Pairs:
    """(segment, pixel) pairs whose pixel centre is within the segment's reach, with the
    centre's signed distance to the segment (distance - half-width) and the parameter u of
    its nearest point on the segment."""

    def __init__(self, segments: _Segments, image, n_images: int, height: int, width: int):
        device, dtype = image.device, segments.table.dtype
        ends, table = segments.ends, segments.table
        reach = table[:, 7:8]
        lo = torch.minimum(ends[:, 0], ends[:, 1]) - reach
        hi = torch.maximum(ends[:, 0], ends[:, 1]) + reach
        # Each segment's window: the pixels whose centre lies in its reach box, on the image.
        limit = _constant((width - 1, height - 1), device, torch.int64)
        first = torch.minimum(torch.ceil(lo - 0.5).long().clamp_min(0), limit + 1)
        extent = (torch.minimum(torch.floor(hi - 0.5).long(), limit) - first + 1).clamp_min(0)
        n_cells = extent[:, 0] * extent[:, 1]
        total = int(n_cells.sum())
        seg = torch.repeat_interleave(n_cells, output_size=total)
        # Per segment, gathered once per cell: first cell index, window width, cell offset,
        # a, ab, 1/|ab|^2, reach^2.
        per_segment = torch.cat(
            [
                first.to(dtype) + 0.5,
                extent[:, :1].to(dtype),
                (torch.cumsum(n_cells, 0) - n_cells).to(dtype)[:, None],
                table[:, :5],
                reach * reach,
            ],
            dim=1,
        )
        origin_x, origin_y, span, cell0, a_x, a_y, ab_x, ab_y, inv_ab2, reach2 = _take(
            per_segment, seg
        ).T
        # Cell index inside its segment's window (small: exact in floating point).
        local = torch.arange(total, device=device, dtype=dtype) - cell0
        row_off = torch.floor((local + 0.5) / span)
        centre_x = origin_x + torch.addcmul(local, row_off, span, value=-1.0)
        centre_y = origin_y + row_off
        ax, ay = centre_x - a_x, centre_y - a_y
        u = (torch.addcmul(ax * ab_x, ay, ab_y) * inv_ab2).clamp_(0.0, 1.0)
        dx, dy = torch.addcmul(ax, u, ab_x, value=-1.0), torch.addcmul(ay, u, ab_y, value=-1.0)
        dist2 = torch.addcmul(dx * dx, dy, dy)
        keep = (dist2 < reach2).nonzero().squeeze(1)
        self.seg = _take(seg, keep)
        self.u = _take(u, keep)
        self.stroke = _take(segments.stroke, self.seg)
        self.signed = _take(dist2, keep).sqrt_() - _take(table[:, 5], self.seg)
        col, row = _take(centre_x, keep).long(), _take(centre_y, keep).long()
        self.pixel = row * width + col
        if n_images > 1:
            self.pixel += _take(image, self.stroke) * (height * width)


def _nearest(pairs: _Pairs, n_pix: int):
    """Per pair, the key of its pixel's nearest pair; the pairs that are their pixel's nearest."""
    quant = ((pairs.signed + _KEY_OFFSET).clamp(0.0, 1023.0) * _KEY_SCALE).long()
    keys = (quant << _PAIR_BITS) + torch.arange(len(quant), device=quant.device)
    best = torch.full((n_pix,), _NO_KEY, device=quant.device, dtype=torch.int64)
    best.scatter_reduce_(0, pairs.pixel, keys, "amin")
    pixel_key = _take(best, pairs.pixel)
    return pixel_key, (pixel_key == keys).nonzero().squeeze(1)


def _decode_signed(keys: torch.Tensor, dtype) -> torch.Tensor:
    """Signed distance (rounded down to 1/65536 px) from packed keys."""
    return (keys >> _PAIR_BITS).to(dtype) / _KEY_SCALE - _KEY_OFFSET


class Raster:
    """Hard per-sample coverage of the union of strokes on a batch of images, and the
    per-pixel edges its area gradient needs (when `with_edges`).

    points (M, 4, 2), half_widths (M,), image (M,) index of each stroke's image; xy (2, H*W*s)
    sample positions in pixels. `samples` (n_images * H * W * s,) bool is the coverage.
    """

    def __init__(
        self, points, half_widths, image, n_images, pattern: SamplePattern, xy, with_edges
    ):
        device, dtype = points.device, points.dtype
        height, width, spp = pattern.height, pattern.width, pattern.samples_per_pixel
        n_pix_image = height * width
        n_pix = n_images * n_pix_image
        self.samples = torch.zeros(n_pix * spp, device=device, dtype=torch.bool)
        self.touched = torch.zeros(0, device=device, dtype=torch.long)  # pixels near a stroke
        self.edges = None
        if len(points) == 0:
            return
        segments = _Segments(points, half_widths)
        pairs = _Pairs(segments, image, n_images, height, width)
        if len(pairs.seg) == 0:
            return
        pixel_key, nearest = _nearest(pairs, n_pix)
        self.touched = _take(pairs.pixel, nearest)
        # Deep: the pixel's centre is more than half a diagonal inside a stroke (with margin
        # for the polyline error and the key rounding), so all of its samples are covered.
        depth = -(_HALF_DIAGONAL + 1e-4) - segments.max_error
        deep = _decode_signed(pixel_key, dtype) < depth
        deep_pixels = _take(
            pairs.pixel, _take(nearest, (_take(deep, nearest)).nonzero().squeeze(1))
        )
        spp_range = torch.arange(spp, device=device)
        self.samples.index_fill_(0, (deep_pixels[:, None] * spp + spp_range).flatten(), True)
        # Pairs whose samples may be on either side: not in a deep pixel, centre near enough.
        near = (~deep & (pairs.signed <= _HALF_DIAGONAL + segments.max_error)).nonzero().squeeze(1)
        seg, pixel = _take(pairs.seg, near), _take(pairs.pixel, near)
        sample_global = (pixel[:, None] * spp + spp_range).flatten()
        # The same samples' positions in the one image's pattern.
        local = sample_global if n_images == 1 else sample_global % (n_pix_image * spp)
        sample_x = _take(xy[0], local).view(-1, spp)
        sample_y = _take(xy[1], local).view(-1, spp)
        a_x, a_y, ab_x, ab_y, inv_ab2, _, _, _, t0, dt, inner2, outer2 = _take(
            segments.table, seg
        ).T[:, :, None]
        ax, ay = sample_x - a_x, sample_y - a_y
        u = (torch.addcmul(ax * ab_x, ay, ab_y) * inv_ab2).clamp_(0.0, 1.0)
        dx, dy = torch.addcmul(ax, u, ab_x, value=-1.0), torch.addcmul(ay, u, ab_y, value=-1.0)
        dist2 = torch.addcmul(dx * dx, dy, dy)  # to the polyline, within `err` of the curve's
        inside = (dist2 < inner2).flatten().nonzero().squeeze(1)
        self.samples.index_fill_(0, _take(sample_global, inside), True)
        # Samples within the polyline error of an edge: exact distance to the cubic.
        unsure = (dist2 <= outer2).flatten() & ~_take(self.samples, sample_global)
        unsure = unsure.nonzero().squeeze(1)
        unsure_pair = unsure // spp
        query_stroke = _take(_take(segments.stroke, seg), unsure_pair)
        query_p = torch.stack(
            [_take(sample_x.flatten(), unsure), _take(sample_y.flatten(), unsure)]
        )
        query_t = torch.addcmul(
            _take(t0.flatten(), unsure_pair),
            _take(u.flatten(), unsure),
            _take(dt.flatten(), unsure_pair),
        )
        n_unsure = len(unsure)
        if with_edges:
            edge = self._edge_pairs(pairs, nearest, segments, dtype, width, n_pix_image)
            query_stroke = torch.cat([query_stroke, edge[1]])
            query_p = torch.cat([query_p, edge[2]], dim=1)
            query_t = torch.cat([query_t, edge[3]])
        t, q = _newton(segments.coeff_rows, query_stroke, query_p, query_t)
        d = q - query_p
        dist = torch.hypot(d[0], d[1])
        hw_query = _take(half_widths, query_stroke)
        covered = (dist[:n_unsure] < hw_query[:n_unsure]).nonzero().squeeze(1)
        self.samples.index_fill_(0, _take(_take(sample_global, unsure), covered), True)
        if with_edges:
            normal = -d[:, n_unsure:] / dist[n_unsure:].clamp_min(1e-9)  # centre minus curve
            dist, hw_edge = dist[n_unsure:], hw_query[n_unsure:]
            near_chord, far_chord = _chord_lengths(
                torch.stack([dist - hw_edge, dist + hw_edge]), normal
            )
            self.edges = (edge[0], edge[1], t[n_unsure:], normal, near_chord, far_chord)

    @staticmethod
    def _edge_pairs(pairs, nearest, segments, dtype, width, n_pix_image):
        """Pixels whose nearest edge passes within half a diagonal of the centre (others
        have zero chords): (pixel, stroke, centre (2, n), start t (n,))."""
        signed = _take(pairs.signed, nearest)
        stroke = _take(pairs.stroke, nearest)
        slack = _HALF_DIAGONAL + segments.max_error + 1e-3
        hw = _take(segments.table[:, 5], _take(pairs.seg, nearest))
        live = ((signed > -slack) | (signed + 2 * hw < slack)).nonzero().squeeze(1)
        pair = _take(nearest, live)
        pixel, stroke = _take(pairs.pixel, pair), _take(stroke, live)
        local = pixel % n_pix_image
        centre = torch.stack([local % width, local // width]).to(dtype) + 0.5
        seg = _take(pairs.seg, pair)
        t0, dt = _take(segments.table[:, 8:10], seg).T
        return pixel, stroke, centre, torch.addcmul(t0, _take(pairs.u, pair), dt)


@contextmanager
def _one_cpu_thread(device: torch.device):
    """Run the renderer's ops on one CPU thread, whatever the process uses for CLIP.

    A render is a few hundred small tensor operations; on them OpenMP's fork/join costs more
    than a second thread gives back (bench, 2 vs 1 thread: about 2x slower per call).
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
    """Coverage of the union of strokes: `output` "alpha" per pixel (n_images, H, W), "white"
    (1 - coverage in 3 channels: black strokes over white, (n_images, 3, H, W)) or "samples"
    per sample
    (n_images, H*W, s). The backward is the analytic gradient of the pixel's area coverage
    (each sample of a pixel carries its pixel's area gradient).
    """

    @staticmethod
    def forward(ctx, points, half_widths, image, n_images, pattern, xy, counts, extra, output):
        with torch.no_grad(), _one_cpu_thread(points.device):
            raster = Raster(
                points.detach(),
                half_widths.detach(),
                image,
                n_images,
                pattern,
                xy,
                with_edges=any(ctx.needs_input_grad[:2]),
            )
            ctx.edges = raster.edges
            ctx.point_shape = points.shape
            ctx.output = output
            spp, dtype = pattern.samples_per_pixel, points.dtype
            samples = raster.samples
            if output == "samples":
                return samples.to(dtype).view(n_images, -1, spp)
            # Only touched pixels can have covered samples: count theirs, not the whole image's.
            n_pix_image = pattern.height * pattern.width
            touched = raster.touched
            value = _take(samples.view(-1, spp), touched).sum(1, dtype=dtype)
            value /= _take(counts, touched % n_pix_image)
            white = output == "white"
            pixel = torch.full(
                (n_images * n_pix_image,), float(white), device=xy.device, dtype=dtype
            )
            pixel.index_copy_(0, touched, 1.0 - value if white else value)
            extra_sample, extra_pixel = extra
            if extra_sample.numel():  # samples on a pixel edge also count for the neighbour
                offsets = torch.arange(n_images, device=xy.device)[:, None] * n_pix_image
                covered = _take(samples, (offsets * spp + extra_sample).flatten()).to(dtype)
                covered /= _take(counts, extra_pixel).repeat(n_images)
                pixel.index_add_(
                    0, (offsets + extra_pixel).flatten(), covered, alpha=-1.0 if white else 1.0
                )
            size = (pattern.height, pattern.width)
            if white:  # the 3 channels are copied here, on the renderer's one thread
                return pixel.view(n_images, 1, *size).expand(-1, 3, -1, -1).contiguous()
            return pixel.view(n_images, *size)

    @staticmethod
    def backward(ctx, grad):
        with _one_cpu_thread(grad.device):
            if ctx.output == "samples":
                grad = grad.sum(-1)
            grad_points = grad.new_zeros(ctx.point_shape)
            grad_hw = grad.new_zeros(ctx.point_shape[0])
            if ctx.edges is not None:
                pixels, stroke, t, normal, near, far = ctx.edges
                if ctx.output == "white":  # d(1 - coverage) in each of the 3 channels
                    n_pix_image = grad.shape[-2] * grad.shape[-1]
                    image, local = pixels // n_pix_image, pixels % n_pix_image
                    channel = (image * 3)[:, None] + torch.arange(3, device=grad.device)
                    g = -_take(grad.reshape(-1), (channel * n_pix_image + local[:, None]).flatten())
                    g = g.view(-1, 3).sum(1)
                else:
                    g = _take(grad.reshape(-1), pixels)
                along = (g * (near - far))[:, None] * normal.T  # (n, 2)
                grad_points.index_add_(0, stroke, bernstein(t)[:, :, None] * along[:, None, :])
                grad_hw.index_add_(0, stroke, g * (near + far))
        return grad_points, grad_hw, None, None, None, None, None, None, None
