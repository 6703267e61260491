"""The batched optimiser: batching changes nothing, the best iterate and early stop follow
the reference rule, and the saved iterate is the one that was scored."""

import copy

import pytest
import torch

from sketchgen.losses import ClipassoLoss
from sketchgen.models import load_clip
from sketchgen.optimize import SketchJob, optimize_sketches
from sketchgen.raster import render
from tests.conftest import CPU_AND_CUDA


def _strokes(n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    start = 40 + 140 * torch.rand(n, 1, 2, generator=generator)
    return start + 12 * (torch.rand(n, 4, 2, generator=generator) - 0.5)


def _photo(seed: int) -> torch.Tensor:
    """A stand-in photo: a few thick dark strokes and a grey block on white."""
    with torch.no_grad():
        image = render(_strokes(6, seed), 6.0, 224)
    image[:, 60:120, 100:170] *= 0.6
    return image


@pytest.fixture(scope="module")
def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return load_clip("RN-tiny", None)[0]


@pytest.fixture(scope="module")
def tiny_clipasso_loss(tiny_model) -> ClipassoLoss:
    return ClipassoLoss(tiny_model, augmentations=1)


@pytest.mark.slow  # the batch and each sketch alone through the tiny CLIP ResNet: ~15 s on CPU
@pytest.mark.parametrize("device", CPU_AND_CUDA)
def test_a_batch_gives_the_same_sketches_as_separate_runs(tiny_model, device):
    # Different images, stroke counts, seeds and iteration budgets in one batch: padding,
    # masking, per-sketch generators and leaving the batch early must not change anything.
    loss = ClipassoLoss(copy.deepcopy(tiny_model).to(device), augmentations=1)
    targets = {"cat": _photo(1), "cup": _photo(2)}
    jobs = [
        SketchJob("cat", 2, 0, _strokes(2, 10), iterations=4),
        SketchJob("cat", 5, 1000, _strokes(5, 11), iterations=4),
        SketchJob("cup", 3, 2000, _strokes(3, 12), iterations=2),
    ]
    # a random tiny model's losses are ~1e-5, so the reference's 1e-5 early stop is off here
    settings = {"eval_interval": 2, "early_stop_delta": 0.0, "device": device}
    batched = optimize_sketches(jobs, targets, loss, **settings)
    for job, together in zip(jobs, batched, strict=True):
        alone = optimize_sketches([job], targets, loss, **settings)[0]
        assert together.points.shape == (job.n_strokes, 4, 2)
        assert together.best_iteration == alone.best_iteration
        assert together.iterations == alone.iterations == job.iterations
        torch.testing.assert_close(together.points, alone.points, atol=1e-3, rtol=0)
        # losses of a random tiny model are ~1e-5, differences of near-equal features, so
        # float32 rounding that depends on the batch size shows at the 1e-3 relative level
        assert together.loss == pytest.approx(alone.loss, rel=1e-2)
        torch.testing.assert_close(
            torch.tensor(together.curve["total"].to_numpy()),
            torch.tensor(alone.curve["total"].to_numpy()),
            rtol=1e-2,
            atol=1e-8,
        )
    # the strokes really moved, so the comparison above is not trivially true
    assert not torch.allclose(batched[1].points, jobs[1].init_points, atol=0.5)


def test_the_kept_sketch_is_the_one_that_was_scored(tiny_clipasso_loss):
    target = _photo(3)
    job = SketchJob("cat", 4, 0, _strokes(4, 20), iterations=5)
    result = optimize_sketches(
        [job], {"cat": target}, tiny_clipasso_loss, eval_interval=2, early_stop_delta=0.0
    )[0]
    with torch.no_grad():
        rescored = tiny_clipasso_loss(
            render(result.points[None], 1.5, 224), target[None], None, eval=True
        )
    assert rescored["total"].item() == pytest.approx(result.loss, rel=1e-5)
    assert result.curve.loc[result.best_iteration, "eval_total"] == pytest.approx(result.loss)


def test_curve_has_every_iteration_and_an_eval_every_interval(tiny_clipasso_loss):
    job = SketchJob("cat", 3, 0, _strokes(3, 30), iterations=5)
    curve = optimize_sketches(
        [job], {"cat": _photo(4)}, tiny_clipasso_loss, eval_interval=2, early_stop_delta=0.0
    )[0].curve
    assert curve["iteration"].tolist() == list(range(5))
    assert {"total", "layer2", "layer3", "semantic", "eval_total"} <= set(curve.columns)
    assert curve["eval_total"].notna().tolist() == [i % 2 == 0 for i in range(5)]
    terms = curve[["layer2", "layer3", "semantic"]].sum(axis=1)
    torch.testing.assert_close(
        torch.tensor(terms.to_numpy()),
        torch.tensor(curve["total"].to_numpy()),
        rtol=1e-5,
        atol=1e-6,
    )


class _FlatLoss:
    """A loss that never changes: the reference rule stops at the second flat eval."""

    shared_augmentations = False

    def __call__(self, sketches, target, generators, eval=False):
        return {"total": sketches.mean(dim=(1, 2, 3)) * 0 + 1.0}


def test_early_stop_after_two_evals_without_improvement():
    job = SketchJob("cat", 2, 0, _strokes(2, 40), iterations=500)
    result = optimize_sketches([job], {"cat": _photo(5)}, _FlatLoss(), eval_interval=10)[0]
    assert result.best_iteration == 0
    assert result.iterations == 21  # evals at 0 (best), 10 (flat: warn), 20 (flat again: stop)
    torch.testing.assert_close(result.points, job.init_points)
