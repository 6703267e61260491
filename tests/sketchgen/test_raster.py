"""Rasterizer behaviour: batching and masks, colours, devices, bad input, the diffvg backend,
and the `bench raster` command."""

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from sketchgen.diffvg_backend import diffvg_available
from sketchgen.raster import render, render_rgba
from sketchgen.raster_samples import sample_pattern
from sketchlab.cli import app
from sketchlab.errors import BadInput
from tests.conftest import CPU_AND_CUDA, TEST_DATA


def strokes(n: int, seed: int, size: int = 64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 1, 2, generator=generator) * (size - 20) + 10
    return centre + torch.randn(n, 4, 2, generator=generator) * 8


def test_sample_positions_reproduce_diffvgs_edge_samples():
    """The conventions doc lists the 4 samples (224 px, 2x2, seed 0) that sit on a pixel edge."""
    pattern = sample_pattern(224, 224, 2, 0)
    pixels = sorted(zip(pattern.extra_pixel // 224, pattern.extra_pixel % 224, strict=True))
    assert [(int(r), int(c)) for r, c in pixels] == [(56, 153), (91, 32), (159, 44), (199, 202)]
    assert sorted(pattern.counts[pattern.extra_pixel].tolist()) == [5.0] * 4


@pytest.mark.parametrize("device", CPU_AND_CUDA)
def test_batch_with_padding_equals_rendering_each_sketch_alone(device):
    counts = [3, 5, 1]
    sketches = [strokes(n, seed) for seed, n in enumerate(counts)]
    widths = [torch.full((n,), 1.5) + 0.3 * torch.arange(n) for n in counts]
    batch = torch.zeros(len(counts), max(counts), 4, 2)
    half_widths = torch.ones(len(counts), max(counts))
    mask = torch.zeros(len(counts), max(counts), dtype=torch.bool)
    for b, (p, w) in enumerate(zip(sketches, widths, strict=True)):
        batch[b, : len(p)], half_widths[b, : len(p)], mask[b, : len(p)] = p, w, True
    batch[~mask] = 32.0  # padding strokes sit in the middle of the canvas: must not be drawn
    batch = batch.to(device).requires_grad_(True)
    weights = torch.rand(len(counts), 3, 64, 64, generator=torch.Generator().manual_seed(9)).to(
        device
    )
    images = render(batch, half_widths.to(device), 64, stroke_mask=mask.to(device))
    (images * weights).sum().backward()
    assert images.shape == (3, 3, 64, 64) and images.device.type == device
    for b, (p, w) in enumerate(zip(sketches, widths, strict=True)):
        single = p.to(device).requires_grad_(True)
        image = render(single, w.to(device), 64)
        (image * weights[b]).sum().backward()
        assert torch.equal(image, images[b])
        assert torch.allclose(single.grad, batch.grad[b, : len(p)], atol=1e-5)
    assert torch.all(batch.grad[~mask.to(device)] == 0)


def test_unbatched_input_gives_unbatched_output_and_sizes_may_differ():
    points = strokes(2, 0)
    assert render(points, 1.5, 64).shape == (3, 64, 64)
    assert render(points, torch.tensor([1.0, 2.0]), (48, 80)).shape == (3, 48, 80)
    assert render_rgba(points, 1.5, 64).shape == (64, 64, 4)
    assert render_rgba(points[None], 1.5, 64).shape == (1, 64, 64, 4)


def test_width_gets_a_gradient_that_grows_the_stroke():
    points = strokes(2, 1)
    half_widths = torch.tensor([1.5, 2.0], requires_grad=True)
    render_rgba(points, half_widths, 64)[..., 3].sum().backward()
    assert torch.all(half_widths.grad > 0)


def test_empty_scenes_render_white_with_zero_gradient():
    nothing = torch.zeros(0, 4, 2, requires_grad=True)
    image = render(nothing, 1.5, 32)
    assert torch.equal(image, torch.ones(3, 32, 32))
    masked = strokes(3, 2).requires_grad_(True)
    image = render(masked, 1.5, 64, stroke_mask=torch.zeros(3, dtype=torch.bool))
    assert torch.equal(image, torch.ones(3, 64, 64))
    image.sum().backward()
    assert torch.equal(masked.grad, torch.zeros_like(masked))


def test_coloured_overlapping_strokes_blend_like_diffvg():
    """Two horizontal 8 px bands, red then blue at alpha 0.5: diffvg blends each sample
    back to front and returns straight colour with alpha."""
    line = torch.tensor([[10.0, 20.0], [20.0, 20.0], [30.0, 20.0], [40.0, 20.0]])
    points = torch.stack([line, line])
    colors = torch.tensor([[1.0, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.5]])
    rgba = render_rgba(points, 4.0, 48, colors=colors)
    alpha = 0.5 + 0.5 * 0.5
    expected = torch.tensor([0.25 / alpha, 0.0, 0.5 / alpha, alpha])
    assert torch.allclose(rgba[20, 25], expected, atol=1e-6)
    assert torch.equal(rgba[40, 25], torch.zeros(4))
    image = render(points, 4.0, 48, colors=colors)
    assert torch.allclose(image[:, 20, 25], alpha * expected[:3] + 1 - alpha, atol=1e-6)
    # One opaque colour for all strokes takes the fast path and equals the general one.
    red = torch.tensor([[0.8, 0.1, 0.1, 1.0]]).expand(2, 4)
    shifted = points.clone()
    shifted[1, :, 1] += 3.0
    fast = render_rgba(shifted, 2.0, 48, colors=red)
    general = render_rgba(shifted, 2.0, 48, colors=red.clone().requires_grad_(True))
    assert torch.allclose(fast, general, atol=1e-6)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: render(torch.zeros(3, 3, 2), 1.5, 64), "points must have shape"),
        (lambda: render(torch.zeros(2, 3, 4, 2, 1), 1.5, 64), "points must have shape"),
        (lambda: render(torch.full((1, 4, 2), float("nan")), 1.5, 64), "NaN or infinite"),
        (lambda: render(torch.full((1, 4, 2), float("inf")), 1.5, 64), "NaN or infinite"),
        (lambda: render(torch.zeros(1, 4, 2), 1.5, 0), "size must be positive"),
        (lambda: render(torch.zeros(1, 4, 2), 1.5, (64, -1)), "size must be positive"),
        (lambda: render(torch.zeros(1, 4, 2), 0.0, 64), "half_widths must be finite and > 0"),
        (lambda: render(torch.zeros(2, 4, 2), torch.tensor([1.0, -1.0]), 64), "half_widths"),
        (lambda: render(torch.zeros(2, 4, 2), torch.ones(3), 64), "half_widths must have shape"),
        (lambda: render(torch.zeros(1, 4, 2), 1.5, 64, samples=0), "samples must be a positive"),
        (
            lambda: render(torch.zeros(1, 4, 2), 1.5, 64, colors=torch.ones(1, 3)),
            "colors must have shape",
        ),
        (
            lambda: render(
                torch.zeros(1, 2, 4, 2), 1.5, 64, stroke_mask=torch.ones(2, 2, dtype=torch.bool)
            ),
            "stroke_mask must have shape",
        ),
        (lambda: render(torch.zeros(1, 4, 2), 1.5, 64, renderer="cairo"), "renderer must be"),
        (lambda: render(np.zeros((1, 4, 2)), 1.5, 64), "points must be a torch.Tensor"),
    ],
)
def test_bad_input_raises_badinput_naming_the_problem(call, words):
    with pytest.raises(BadInput, match=words):
        call()


def test_diffvg_renderer_draws_what_ours_draws(pydiffvg):
    points = strokes(2, 3)
    ours = render(points, 1.5, 64)
    theirs = render(points, 1.5, 64, renderer="diffvg")
    assert (torch.abs(ours - theirs) > 0.01).float().mean() <= 0.001


def test_diffvg_renderer_without_pydiffvg_says_how_to_get_it(without_pydiffvg):
    assert not diffvg_available()
    with pytest.raises(BadInput, match="pydiffvg, which is not installed; build it from https"):
        render(strokes(2, 3), 1.5, 64, renderer="diffvg")


def test_bench_raster_writes_rows_with_agreement_and_speed(tmp_path):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for name in ("scene00_init_4s_224px.npz", "diffvg_timing.json"):
        shutil.copy(TEST_DATA / "diffvg" / name, scenes / name)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        ["bench", "raster", "--scenes", str(scenes), "--json", str(out), "--repeats", "1"]
        + ["--batch", "4"],
    )
    assert result.exit_code == 0, result.output
    assert "geometric mean" in result.output and "sketches/s" in result.output
    figures = json.loads(out.read_text())
    (row,) = figures["scenes"]
    assert row["file"] == "scene00_init_4s_224px.npz" and row["strokes"] == 4 and row["size"] == 224
    for key in (
        "frac_pixels_off",
        "mean_abs_diff",
        "grad_cos",
        "grad_norm_ratio",
        "fwd_ms",
        "fwd_bwd_ms",
    ):
        assert np.isfinite(row[key])
    assert row["grad_cos"] > 0.95
    assert row["speedup"] == pytest.approx(145.58 / row["fwd_bwd_ms"])
    assert figures["speedup_geometric_mean"] == pytest.approx(row["speedup"])
    assert figures["device"] == "cpu" and figures["batch_throughput"]["batch"] == 4
    assert figures["batch_throughput"]["sketches_per_s"] > 0


def test_bench_raster_refuses_a_folder_without_scenes(tmp_path):
    result = CliRunner().invoke(app, ["bench", "raster", "--scenes", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, BadInput) and "no scene files" in str(result.exception)


def test_padding_strokes_colours_are_ignored():
    points = torch.tensor(
        [[[[5.0, 5], [6, 5], [7, 5], [8, 5]], [[10.0, 10], [20, 10], [30, 10], [40, 10]]]]
    )
    mask = torch.tensor([[False, True]])
    colors = torch.tensor([[[9.0, 9, 9, 9], [0.2, 0.4, 0.6, 1.0]]])
    rgba = render_rgba(points, 2.0, 48, stroke_mask=mask, colors=colors)
    assert torch.allclose(rgba[0, 10, 20], torch.tensor([0.2, 0.4, 0.6, 1.0]))
    assert torch.equal(rgba[0, 5, 6], torch.zeros(4))
