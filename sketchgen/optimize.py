"""The batched CLIPasso optimiser loop: many sketches, one padded tensor, one Adam, one device.

All levels x seeds of an image (and several images) optimise together. Strokes are padded
to the longest sketch and masked (`render(..., stroke_mask=)`), so padded points get zero
gradient; Adam is element-wise, so one Adam over the padded tensor takes exactly the steps
separate Adams would take. Each sketch keeps its own seeded generator for its augmentations,
its own best iterate and its own early stop; a sketch that stops leaves the batch.

This module does no file I/O: callers get results through `on_finish` and write them.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd
import torch

from sketchgen.raster import render
from sketchlab.contracts import CANVAS


class SketchLoss(Protocol):
    """What `ClipassoLoss` and `XdogLoss` provide (see sketchgen/losses.py); a loss with a
    true `shared_augmentations` attribute gets one shared generator instead of one per sketch,
    and one with a `numerics()` method has every step run inside that context (precision
    flags, which the backward pass reads too)."""

    def __call__(
        self,
        sketches: torch.Tensor,
        target: torch.Tensor,
        generators: list[torch.Generator] | None,
        eval: bool = False,
    ) -> dict[str, torch.Tensor]: ...


@dataclass(frozen=True)
class SketchJob:
    """One sketch to optimise: which image, how many strokes, which seed, where it starts."""

    image_id: str
    n_strokes: int
    seed: int
    init_points: torch.Tensor  # (n_strokes, 4, 2) pixels on the 224 canvas
    iterations: int  # most Adam steps to take


@dataclass
class SketchResult:
    """The best iterate of one sketch (by eval loss on the clean pair) and its history."""

    job: SketchJob
    points: torch.Tensor  # (n_strokes, 4, 2) pixels, the iterate that was scored
    loss: float  # best eval total
    terms: dict[str, float]  # eval terms at the best iterate, as weighted in the total
    best_iteration: int
    iterations: int  # Adam steps taken (fewer than job.iterations after an early stop)
    seconds: float  # this sketch's share of the batch's wall time
    curve: pd.DataFrame  # one row per iteration: train terms, eval_* terms every eval_interval


@dataclass
class _Track:
    """Book-keeping for one sketch while it is in the batch."""

    job: SketchJob
    generator: torch.Generator
    best_loss: float = float("inf")
    best_terms: dict[str, float] = field(default_factory=dict)
    best_points: torch.Tensor | None = None
    best_iteration: int = -1
    terminate: bool = False
    done: bool = False
    iterations: int = 0
    seconds: float = 0.0
    rows: list[dict] = field(default_factory=list)


def optimize_sketches(
    jobs: Sequence[SketchJob],
    targets: Mapping[str, torch.Tensor],
    loss: SketchLoss,
    *,
    device: torch.device | str = "cpu",
    learning_rate: float = 1.0,
    half_width: float = 1.5,
    eval_interval: int = 10,
    early_stop_delta: float = 1e-5,
    shared_seed: int = 0,
    renderer: str = "torch",
    on_step: Callable[[int], None] | None = None,
    on_finish: Callable[[SketchResult], None] | None = None,
) -> list[SketchResult]:
    """Optimise all `jobs` in one batch and return their results in job order.

    targets: image_id -> (3, 224, 224) photo in [0, 1]. Each iteration renders every
    sketch still running, takes one Adam step on the summed loss, and, every
    `eval_interval` iterations, scores the sketch rendered *before* that step on the clean
    pair (no grad); that iterate is kept if it improves the best by more than
    `early_stop_delta`, and a second non-improving eval within the delta stops the sketch
    (the reference code's rule). `shared_seed` seeds the generator used when the loss
    shares augmentations across sketches (one draw per iteration for the whole batch).
    `renderer` is `sketchgen.raster.render`'s ("torch" or "diffvg").
    `on_step(n_running)` is called after every iteration, `on_finish(result)` as soon as a
    sketch stops.
    """
    device = torch.device(device)
    tracks = [_Track(job, torch.Generator().manual_seed(job.seed)) for job in jobs]
    shared_generator = torch.Generator().manual_seed(shared_seed)
    device_targets = {key: value.to(device) for key, value in targets.items()}
    results: dict[int, SketchResult] = {}

    running = list(range(len(tracks)))
    points, mask = _pad([tracks[i].job.init_points for i in running], device)
    optimizer = torch.optim.Adam([points], lr=learning_rate)
    batch_target = _batch_targets(tracks, device_targets)
    buffer: list[torch.Tensor] = []  # per-iteration (B, terms) train losses, flushed at evals
    buffer_iterations: list[int] = []
    term_names: list[str] = []
    iteration = 0
    with getattr(loss, "numerics", nullcontext)():
        while running:
            started = time.perf_counter()
            batch = [tracks[i] for i in running]
            optimizer.zero_grad(set_to_none=True)
            sketches = render(points, half_width, CANVAS, stroke_mask=mask, renderer=renderer)
            losses = _call_loss(loss, sketches, batch, batch_target, shared_generator, eval=False)
            losses["total"].sum().backward()
            points.grad.mul_(mask[:, :, None, None])
            term_names = term_names or _ordered(losses)
            buffer.append(torch.stack([losses[name].detach() for name in term_names], dim=1))
            buffer_iterations.append(iteration)

            evaluating = iteration % eval_interval == 0
            if evaluating:
                with torch.no_grad():
                    scored = _call_loss(
                        loss, sketches.detach(), batch, batch_target, None, eval=True
                    )
                eval_values = torch.stack([scored[name] for name in term_names], dim=1).cpu()
                before_step = points.detach().clone()
            optimizer.step()

            elapsed = time.perf_counter() - started
            for track in batch:
                track.iterations = iteration + 1
                track.seconds += elapsed / len(batch)
            if evaluating:
                _flush(buffer, buffer_iterations, batch, term_names)
                _record_eval(
                    batch, term_names, eval_values, before_step, iteration, early_stop_delta
                )
            for track in batch:
                if track.iterations >= track.job.iterations:
                    track.done = True

            if any(track.done for track in batch):
                _flush(buffer, buffer_iterations, batch, term_names)
                for index in [i for i in running if tracks[i].done]:
                    results[index] = _result(tracks[index], term_names)
                    if on_finish:
                        on_finish(results[index])
                keep = [row for row, i in enumerate(running) if not tracks[i].done]
                running = [running[row] for row in keep]
                if running:
                    points, mask, optimizer = _compact(points, mask, optimizer, keep, learning_rate)
                    batch_target = _batch_targets([tracks[i] for i in running], device_targets)
            if on_step:
                on_step(len(batch))
            iteration += 1
    return [results[i] for i in range(len(tracks))]


def _pad(strokes: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (n_i, 4, 2) stroke tensors into a zero-padded (B, N, 4, 2) leaf and a (B, N) mask."""
    longest = max(s.shape[0] for s in strokes)
    points = torch.zeros(len(strokes), longest, 4, 2, device=device)
    mask = torch.zeros(len(strokes), longest, dtype=torch.bool, device=device)
    for row, s in enumerate(strokes):
        points[row, : s.shape[0]] = s.to(device=device, dtype=torch.float32)
        mask[row, : s.shape[0]] = True
    return points.requires_grad_(True), mask


def _compact(points, mask, optimizer, keep: list[int], learning_rate: float):
    """Drop finished rows (and padding no longer needed); carry Adam's state for the rest."""
    longest = int(mask[keep].sum(dim=1).max())
    state = optimizer.state[points]
    new_points = points.detach()[keep, :longest].clone().requires_grad_(True)
    new_optimizer = torch.optim.Adam([new_points], lr=learning_rate)
    if state:
        new_optimizer.state[new_points] = {
            "step": state["step"].clone(),
            "exp_avg": state["exp_avg"][keep, :longest].clone(),
            "exp_avg_sq": state["exp_avg_sq"][keep, :longest].clone(),
        }
    return new_points, mask[keep, :longest].clone(), new_optimizer


def _batch_targets(batch: list[_Track], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The photo (3, H, W) when the whole batch sketches one image, else one per sketch."""
    image_ids = {t.job.image_id for t in batch}
    if len(image_ids) == 1:
        return targets[image_ids.pop()]
    return torch.stack([targets[t.job.image_id] for t in batch])


def _call_loss(loss, sketches, batch, target, shared_generator, *, eval: bool):
    """One loss call for the whole batch: per-sketch generators, or (when the loss shares
    augmentations) the one shared generator, so each iteration's draw depends only on the
    iteration, not on which sketches are still running."""
    if eval:
        generators = None
    elif getattr(loss, "shared_augmentations", False):
        generators = [shared_generator] * len(batch)
    else:
        generators = [t.generator for t in batch]
    return loss(sketches, target, generators, eval=eval)


def _ordered(losses: Mapping[str, torch.Tensor]) -> list[str]:
    """Loss term names with `total` first, then the terms in the loss's own order."""
    return ["total"] + [name for name in losses if name != "total"]


def _flush(buffer: list, iterations: list, batch: list[_Track], names: list[str]) -> None:
    """Move buffered train losses to the CPU (one sync per eval, not per iteration)."""
    if not buffer:
        return
    values = torch.stack(buffer).cpu()  # (T, B, terms)
    for step, iteration in enumerate(iterations):
        for row, track in enumerate(batch):
            track.rows.append(
                {
                    "iteration": iteration,
                    **dict(zip(names, values[step, row].tolist(), strict=True)),
                }
            )
    buffer.clear()
    iterations.clear()


def _record_eval(
    batch: list[_Track],
    names: list[str],
    values: torch.Tensor,
    points: torch.Tensor,
    iteration: int,
    delta: float,
) -> None:
    """Add one eval's (B, terms) `values` to each sketch's last curve row (as eval_*) and
    judge each sketch on them (`_judge`); `points` is the batch before this iteration's step."""
    for row, track in enumerate(batch):
        terms = dict(zip(names, values[row].tolist(), strict=True))
        track.rows[-1].update({f"eval_{name}": v for name, v in terms.items()})
        _judge(track, terms, points[row, : track.job.n_strokes], iteration, delta)


def _judge(
    track: _Track, values: dict[str, float], points: torch.Tensor, iteration: int, delta: float
) -> None:
    """The reference code's best-iterate and early-stop rule, for one sketch at one eval."""
    change = values["total"] - track.best_loss
    if abs(change) > delta:
        if change < 0:
            track.best_loss = values["total"]
            track.best_terms = values
            track.best_points = points.cpu().clone()
            track.best_iteration = iteration
            track.terminate = False
    elif track.terminate:
        track.done = True
    else:
        track.terminate = True


def _result(track: _Track, names: list[str]) -> SketchResult:
    columns = ["iteration", *names, *(f"eval_{name}" for name in names)]
    return SketchResult(
        job=track.job,
        points=track.job.init_points if track.best_points is None else track.best_points,
        loss=track.best_loss,
        terms=track.best_terms,
        best_iteration=track.best_iteration,
        iterations=track.iterations,
        seconds=track.seconds,
        curve=pd.DataFrame(track.rows).reindex(columns=columns),
    )
