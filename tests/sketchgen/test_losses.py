"""The CLIPasso loss and its paired augmentation, on random-weight open_clip ResNets.

RN101-shaped for the real code path (built once), `RN-tiny` (same ModifiedResNet code,
[1, 1, 1, 1] blocks, width 16) where many calls are needed.
"""

import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF

from sketchgen.augment import apply_views, draw_views
from sketchgen.losses import ClipassoLoss, XdogLoss, resnet_features
from sketchgen.models import load_clip
from sketchgen.xdog import clip_normalise


@pytest.fixture(scope="module")
def rn101():
    torch.manual_seed(0)
    return load_clip("RN101", None)[0]


@pytest.fixture(scope="module")
def tiny():
    """RN-tiny re-initialised so its features differ clearly between images (open_clip's
    init zeroes each block's last BatchNorm and shrinks activations layer by layer)."""
    torch.manual_seed(0)
    model = load_clip("RN-tiny", None)[0]
    for module in model.visual.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.ones_(module.weight)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model


def _images(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 3, 224, 224, generator=generator)


def _generators(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_rn101_loss_gives_per_sketch_terms_and_gradients_only_for_sketch_pixels(rn101):
    sketches = _images(2, 1).requires_grad_(True)
    target = _images(1, 2)[0]
    loss = ClipassoLoss(rn101, augmentations=0)
    shapes = {}
    hooks = [
        getattr(loss.visual, name).register_forward_hook(
            lambda module, inputs, output, name=name: shapes.update({name: tuple(output.shape[1:])})
        )
        for name in ("layer2", "layer3", "attnpool")
    ]
    try:
        values = loss(sketches, target, _generators(0, 1000))
        values["total"].sum().backward()
    finally:
        for hook in hooks:
            hook.remove()

    assert shapes == {"layer2": (512, 28, 28), "layer3": (1024, 14, 14), "attnpool": (512,)}
    assert set(values) == {"total", "layer2", "layer3", "semantic"}
    assert all(v.shape == (2,) for v in values.values())
    summed = values["layer2"] + values["layer3"] + values["semantic"]
    torch.testing.assert_close(values["total"], summed)
    assert (sketches.grad.abs().sum(dim=(1, 2, 3)) > 0).all()
    assert all(p.grad is None and not p.requires_grad for p in loss.visual.parameters())
    assert all(p.grad is None for p in rn101.parameters())  # the caller's model is untouched


def test_a_sketchs_loss_does_not_depend_on_the_rest_of_the_batch(tiny):
    sketches, targets = _images(3, 4), _images(3, 5)
    targets[2] = targets[0]  # two sketches of one photo, one of another
    loss = ClipassoLoss(tiny, augmentations=1)

    batched = loss(sketches, targets, _generators(0, 1000, 2000))
    for b, seed in enumerate((0, 1000, 2000)):
        alone = loss(sketches[b : b + 1], targets[b], _generators(seed))
        for name in batched:
            torch.testing.assert_close(alone[name], batched[name][b : b + 1], rtol=1e-4, atol=1e-7)


def test_loss_matches_the_reference_formula_with_torchvision_augmentations(tiny):
    """CLIPConvLoss: cat(sketch, target) → RandomPerspective → RandomResizedCrop per view,
    drawn from torch's global RNG; MSE means over the 5-view batch; 0.1 × mean(1 − cos)."""
    sketch, target = _images(1, 6), _images(1, 7)
    torch.manual_seed(11)
    xs, ys = [sketch], [target]
    for _ in range(4):
        torch.rand(1)  # RandomPerspective's p test
        start, end = T.RandomPerspective.get_params(224, 224, 0.5)
        pair = TF.perspective(
            torch.cat([sketch, target]), start, end, fill=None
        )  # 0.8.2: no fill mask
        top, left, h, w = T.RandomResizedCrop.get_params(pair, (0.8, 0.8), (1.0, 1.0))
        pair = TF.resized_crop(pair, top, left, h, w, [224, 224], antialias=False)
        xs.append(pair[:1])
        ys.append(pair[1:])
    with torch.no_grad():
        x2, x3, xe = resnet_features(tiny.visual, clip_normalise(torch.cat(xs)))
        y2, y3, ye = resnet_features(tiny.visual, clip_normalise(torch.cat(ys)))
    expected = {
        "layer2": (x2 - y2).square().mean(),
        "layer3": (x3 - y3).square().mean(),
        "semantic": 0.1 * (1 - torch.cosine_similarity(xe, ye, dim=1)).mean(),
    }

    with torch.no_grad():
        ours = ClipassoLoss(tiny)(sketch, target[0], _generators(11))
    for name, value in expected.items():
        torch.testing.assert_close(ours[name][0], value, rtol=1e-3, atol=1e-6)


def test_eval_is_deterministic_and_is_the_clean_pair_only(tiny):
    sketches, target = _images(2, 8), _images(1, 9)[0]
    with torch.no_grad():
        first = ClipassoLoss(tiny)(sketches, target, None, eval=True)
        second = ClipassoLoss(tiny)(sketches, target, _generators(1, 2), eval=True)
        clean_only = ClipassoLoss(tiny, augmentations=0)(sketches, target, _generators(3, 4))
        augmented = ClipassoLoss(tiny)(sketches, target, _generators(3, 4))
    for name in first:
        assert torch.equal(first[name], second[name])
        assert torch.equal(first[name], clean_only[name])
    assert not torch.equal(first["total"], augmented["total"])


def test_shared_augmentations_draw_once_and_compute_each_target_once(tiny):
    sketches, target = _images(3, 10), _images(1, 11)[0]
    images_seen = []
    hook = tiny.visual.layer1.register_forward_hook(lambda m, i, o: images_seen.append(o.shape[0]))
    try:
        with torch.no_grad():
            shared = ClipassoLoss(tiny, augmentations=2, shared_augmentations=True)
            values = shared(sketches, target, _generators(5))
            shared_count = sum(images_seen)
            images_seen.clear()
            ClipassoLoss(tiny, augmentations=2)(sketches, target, _generators(5, 6, 7))
            separate_count = sum(images_seen)
            first_alone = ClipassoLoss(tiny, augmentations=2)(sketches[:1], target, _generators(5))
    finally:
        hook.remove()
    assert shared_count == 3 * 3 + (1 + 2)  # sketch views + one target's views
    assert separate_count == 3 * 3 + (1 + 3 * 2)  # per-sketch target views, clean view once
    torch.testing.assert_close(values["total"][:1], first_alone["total"], rtol=1e-4, atol=0)


def test_paired_views_warp_sketch_and_target_identically():
    image = _images(1, 12)
    params = draw_views(3, torch.Generator().manual_seed(0))
    pair = apply_views(
        torch.cat([image.expand(3, -1, -1, -1), image.expand(3, -1, -1, -1)]), params.repeat(2)
    )
    assert torch.equal(pair[:3], pair[3:])
    assert not torch.equal(pair[0], pair[1])  # different views differ


def test_view_draws_are_reproducible_per_seed_and_match_torchvision():
    images = _images(2, 13)
    again = draw_views(2, torch.Generator().manual_seed(7))
    ours = apply_views(images, draw_views(2, torch.Generator().manual_seed(7)))
    assert torch.equal(ours, apply_views(images, again))
    assert not torch.equal(
        ours, apply_views(images, draw_views(2, torch.Generator().manual_seed(8)))
    )

    torch.manual_seed(7)
    expected = []
    for image in images:
        torch.rand(1)
        start, end = T.RandomPerspective.get_params(224, 224, 0.5)
        warped = TF.perspective(image, start, end, fill=None)
        top, left, h, w = T.RandomResizedCrop.get_params(warped, (0.8, 0.8), (1.0, 1.0))
        expected.append(TF.resized_crop(warped, top, left, h, w, [224, 224], antialias=False))
    torch.testing.assert_close(ours, torch.stack(expected), rtol=0, atol=1e-4)


def test_xdog_loss_prefers_strokes_on_the_photos_edges():
    photo = torch.ones(3, 224, 224)
    photo[:, 100:104, 40:180] = 0.0  # a dark bar: its pixels are XDoG edges
    on_edges = photo.clone()[None]
    blank = torch.ones(1, 3, 224, 224)
    elsewhere = torch.ones(1, 3, 224, 224)
    elsewhere[:, :, 30:34, 40:180] = 0.0
    sketches = torch.cat([on_edges, blank, elsewhere]).requires_grad_(True)

    values = XdogLoss()(sketches, photo, None)
    values["total"].sum().backward()

    assert values["total"][0] < values["total"][1] < values["total"][2]
    assert set(values) == {"total", "edges"} and torch.equal(values["edges"], values["total"])
    doubled = XdogLoss(weight=2.0)(sketches.detach(), photo, None)
    torch.testing.assert_close(doubled["total"], 2 * values["total"].detach())
    assert sketches.grad.abs().sum() > 0


def test_half_precision_autocast_stays_close_to_fp32(tiny):
    sketches = _images(2, 14).requires_grad_(True)
    target = _images(1, 15)[0]
    full = ClipassoLoss(tiny)(sketches, target, _generators(0, 1))
    half = ClipassoLoss(tiny, precision="bf16")(sketches, target, _generators(0, 1))
    half["total"].sum().backward()
    assert half["total"].dtype == torch.float32
    torch.testing.assert_close(half["total"], full["total"], rtol=2e-2, atol=0)
    assert sketches.grad.dtype == torch.float32 and sketches.grad.abs().sum() > 0


def test_tf32_is_fp32_on_a_cpu(tiny):
    sketches, target = _images(2, 16), _images(1, 17)[0]
    fp32 = ClipassoLoss(tiny, precision="fp32")(sketches, target, _generators(0, 1))
    tf32 = ClipassoLoss(tiny, precision="tf32")(sketches, target, _generators(0, 1))
    assert torch.equal(fp32["total"], tf32["total"])


@pytest.mark.parametrize("make_loss", [lambda tiny: ClipassoLoss(tiny), lambda tiny: XdogLoss()])
def test_a_photo_changed_in_place_is_not_mistaken_for_the_one_seen_before(tiny, make_loss):
    # the loss remembers photos it has seen by their memory (no GPU sync per step); writing
    # into that memory must count as a new photo
    loss = make_loss(tiny)
    sketches = _images(3, 18)
    photos = torch.stack([_images(1, 19)[0], _images(1, 19)[0], _images(1, 20)[0]])
    loss(sketches, photos, _generators(0, 1, 2), eval=True)
    photos[1] = _images(1, 21)[0]
    again = loss(sketches, photos, _generators(0, 1, 2), eval=True)
    fresh = make_loss(tiny)(sketches, photos.clone(), _generators(0, 1, 2), eval=True)
    torch.testing.assert_close(again["total"], fresh["total"], rtol=1e-6, atol=0)
