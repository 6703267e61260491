"""Saliency init: XDoG edges, ViT attention, the softmax over edge pixels, start-point sampling."""

import numpy as np
import pytest
import torch

from sketchgen.models import load_clip
from sketchgen.saliency import (
    clip_attention,
    edge_init_strokes,
    saliency_distribution,
    sample_start_points,
)
from sketchgen.strokes_init import init_strokes
from sketchgen.xdog import clip_normalise, xdog_edges


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    return load_clip("ViT-tiny-32", None)[0]


def _bar_photo() -> torch.Tensor:
    """White photo with a thin dark horizontal bar (rows 100-102, columns 40-179)."""
    photo = torch.ones(3, 224, 224)
    photo[:, 100:103, 40:180] = 0.1
    return photo


def test_xdog_marks_the_dark_bar_as_edges_and_flat_white_as_not():
    edges = xdog_edges(_bar_photo())
    assert edges.shape == (224, 224)
    assert set(edges.unique().tolist()) == {0.0, 1.0}
    assert edges[100:103, 50:170].mean() == 1.0
    assert edges[:60].sum() == 0 and edges[150:].sum() == 0
    assert xdog_edges(torch.ones(3, 224, 224)).sum() == 0


def test_clip_attention_is_a_min_max_map_and_leaves_the_model_untouched(vit):
    photo = _bar_photo()
    before = vit.encode_image(photo[None])
    attention = clip_attention(vit, photo)
    assert attention.shape == (224, 224)
    assert attention.min() == 0 and attention.max() == 1
    assert torch.equal(attention, clip_attention(vit, photo))
    assert all(not block.attn._forward_hooks for block in vit.visual.transformer.resblocks)
    assert all(not block.attn._forward_pre_hooks for block in vit.visual.transformer.resblocks)
    torch.testing.assert_close(vit.encode_image(photo[None]), before)


def test_distribution_is_a_temperature_softmax_over_positive_edge_pixels():
    attention = torch.linspace(0, 1, 224 * 224).reshape(224, 224)
    edges = torch.zeros(224, 224)
    edges[50, 10] = edges[50, 20] = edges[120, 200] = 1.0

    probabilities = saliency_distribution(attention, edges, temperature=0.3)

    assert probabilities.sum().item() == pytest.approx(1.0)
    assert (probabilities > 0).sum() == 3
    a, b = attention[120, 200].item(), attention[50, 10].item()
    ratio = (probabilities[120, 200] / probabilities[50, 10]).item()
    assert ratio == pytest.approx(np.exp((a - b) / 0.3), rel=1e-6)
    sharper = saliency_distribution(attention, edges, temperature=0.1)
    assert sharper[120, 200] > probabilities[120, 200]


def test_start_points_lie_on_the_distribution_are_distinct_and_seeded():
    probabilities = saliency_distribution(torch.rand(224, 224), xdog_edges(_bar_photo()))
    points = sample_start_points(probabilities, 32, np.random.default_rng(0))

    assert points.shape == (32, 2)
    cols, rows = points[:, 0].long(), points[:, 1].long()
    assert (probabilities[rows, cols] > 0).all()
    assert len({(int(x), int(y)) for x, y in points}) == 32
    assert torch.equal(points, sample_start_points(probabilities, 32, np.random.default_rng(0)))
    assert not torch.equal(points, sample_start_points(probabilities, 32, np.random.default_rng(1)))


def test_sampling_more_points_than_edge_pixels_still_gives_distinct_points():
    probabilities = torch.zeros(224, 224)
    probabilities[5, 5] = probabilities[7, 9] = 0.5
    points = sample_start_points(probabilities, 4, np.random.default_rng(0))
    assert {(5.0, 5.0), (9.0, 7.0)} <= {tuple(p.tolist()) for p in points}
    assert len({tuple(p.tolist()) for p in points}) == 4


def test_strokes_start_on_their_point_and_walk_at_most_5_6_pixels_per_step():
    start = torch.tensor([[10.0, 20.0], [200.0, 100.0]])
    strokes = init_strokes(start, np.random.default_rng(3))
    assert strokes.shape == (2, 4, 2)
    assert torch.equal(strokes[:, 0], start)
    steps = strokes[:, 1:] - strokes[:, :-1]
    assert steps.abs().max() <= 0.025 * 224 + 1e-4
    assert torch.equal(strokes, init_strokes(start, np.random.default_rng(3)))


def test_saliency_and_edge_inits_start_on_edge_pixels(vit):
    photo = _bar_photo()
    edges = xdog_edges(photo)
    probabilities = saliency_distribution(clip_attention(vit, photo), edges)
    rng = np.random.default_rng(0)
    for strokes in (
        init_strokes(sample_start_points(probabilities, 8, rng), rng),
        edge_init_strokes(photo, 8, np.random.default_rng(0)),
    ):
        assert strokes.shape == (8, 4, 2)
        assert (edges[strokes[:, 0, 1].long(), strokes[:, 0, 0].long()] == 1).all()


def test_clip_attention_averages_cls_to_patch_attention_over_blocks_and_heads(vit):
    """Recompute the reference's map by hand: per block, the head-averaged attention
    probabilities; the CLS row to the 49 patches averaged over blocks; bicubic; min-max."""
    photo = _bar_photo()
    visual = vit.visual
    with torch.no_grad():
        tokens = visual._embeds(clip_normalise(photo)[None])
        rows = []
        for block in visual.transformer.resblocks:
            normed = block.ln_1(tokens)
            _, weights = block.attn(normed, normed, normed, need_weights=True)  # mean over heads
            rows.append(weights[0, 0, 1:])
            tokens = block(tokens)
    cls = torch.stack(rows).mean(dim=0).reshape(1, 1, 7, 7)
    expected = torch.nn.functional.interpolate(cls, size=224, mode="bicubic")[0, 0]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    torch.testing.assert_close(clip_attention(vit, photo), expected, rtol=1e-4, atol=1e-5)
