"""The work of a run, shared by both executors: load a method once, then finish batches of
images (the local executor in runner.py and each Ray worker in ray_executor.py call these).

A batch holds every missing level x seed of its images; each sketch is written the moment
it stops and each image once all its sketches are done, so a rerun skips what exists.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sketchgen.methods import METHODS
from sketchgen.models import load_frozen_clip, model_record
from sketchgen.optimize import SketchJob, SketchLoss, SketchResult, optimize_sketches
from sketchgen.run_folder import RunFolder
from sketchgen.settings import RunSettings, read_init_svg
from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput


@dataclass
class LoadedMethod:
    """The loaded pieces of a run's method: the loss, the saliency model (if any), and the
    run.json records of the models they loaded."""

    loss: SketchLoss
    saliency_model: torch.nn.Module | None
    models: dict


def load_method(settings: RunSettings, device: torch.device) -> LoadedMethod:
    """Load the loss (see sketchgen/methods.py) and, for the saliency init, ViT-B/32; BadInput
    when weights are missing offline (load_clip's message says what to download and where)."""
    loss, loss_record = METHODS.entry(settings.method).build_loss(settings.loss_options, device)
    models = {"loss": loss_record}
    saliency = None
    if settings.init == "saliency":
        saliency = load_frozen_clip(
            settings.saliency_model,
            settings.saliency_pretrained,
            settings.saliency_weights,
            device=device,
            weights_flag="--saliency-weights",
        )
        models["saliency"] = model_record(
            settings.saliency_model,
            settings.saliency_pretrained,
            settings.saliency_weights,
            saliency,
        )
    return LoadedMethod(loss, saliency, models)


def start_distribution(
    settings: RunSettings, method: LoadedMethod, target: torch.Tensor
) -> torch.Tensor | None:
    """The saliency init's (224, 224) start-point probabilities for one photo (None unless
    the init is "saliency"): ViT-B/32 attention x XDoG edges, softmax at the preset's
    temperature. Computed once per image and shared by its levels and seeds."""
    if settings.init != "saliency":
        return None
    from sketchgen.saliency import clip_attention, saliency_distribution
    from sketchgen.xdog import xdog_edges

    device = next(method.saliency_model.parameters()).device
    with torch.no_grad():
        attention = clip_attention(method.saliency_model, target.to(device)).cpu()
    return saliency_distribution(attention, xdog_edges(target), settings.softmax_temperature)


def initial_strokes(
    settings: RunSettings,
    target: torch.Tensor,
    probabilities: torch.Tensor | None,
    n_strokes: int,
    seed: int,
) -> torch.Tensor:
    """Start strokes (n, 4, 2) px for one sketch, drawn from its own generator seeded with its
    seed (like the reference's set_seed), so they do not depend on the rest of the batch."""
    from sketchgen.saliency import edge_init_strokes, sample_start_points
    from sketchgen.strokes_init import init_strokes

    rng = np.random.default_rng(seed)
    if settings.init == "svg":
        return read_init_svg(settings.init_svg)[0]
    if settings.init == "edges":
        return edge_init_strokes(target, n_strokes, rng)
    return init_strokes(sample_start_points(probabilities, n_strokes, rng), rng, canvas=CANVAS)


def process_images(
    images: Sequence[dict],
    settings: RunSettings,
    method: LoadedMethod,
    folder: RunFolder,
    device: torch.device,
    *,
    max_sketches: int,
    on_step: Callable[[int], None] | None = None,
    on_image: Callable[[str], None] | None = None,
) -> None:
    """Finish `images` (dicts from images.csv): optimise their missing sketches in one batch,
    then write each image's outputs as soon as its last sketch is done. On a CUDA
    out-of-memory error the unfinished sketches are retried in two halves."""
    from sketchgen.preprocess import load_target

    targets = {
        image["image_id"]: load_target(image["path"], image.get("mask_path"), settings.fit)
        for image in images
    }
    jobs = []
    for image in images:
        image_id = image["image_id"]
        missing = [
            (n, seed)
            for n in settings.levels
            for seed in settings.seeds
            if not folder.sketch_done(image_id, n, seed)
        ]
        probabilities = start_distribution(settings, method, targets[image_id]) if missing else None
        for n_strokes, seed in missing:
            init = initial_strokes(settings, targets[image_id], probabilities, n_strokes, seed)
            jobs.append(SketchJob(image_id, n_strokes, seed, init, settings.iterations))
    remaining = {image["image_id"]: 0 for image in images}
    for job in jobs:
        remaining[job.image_id] += 1
    by_id = {image["image_id"]: image for image in images}

    def finish_image(image_id: str) -> None:
        folder.finish_image(
            by_id[image_id],
            targets[image_id],
            list(settings.levels),
            list(settings.seeds),
            labels,
            settings.renderer,
            settings.fit,
        )
        if on_image:
            on_image(image_id)

    labels = {
        "method": settings.method,
        "loss_model": settings.loss_model_label,
        "preset": settings.preset,
    }
    for image_id, count in remaining.items():
        if count == 0:
            finish_image(image_id)

    def on_finish(result: SketchResult) -> None:
        folder.write_sketch(result, settings.half_width, str(device))
        remaining[result.job.image_id] -= 1
        if remaining[result.job.image_id] == 0:
            finish_image(result.job.image_id)

    _run_batches(jobs, targets, settings, method, device, max_sketches, on_step, on_finish, folder)


def _run_batches(
    jobs, targets, settings, method, device, max_sketches, on_step, on_finish, folder
) -> None:
    for start in range(0, len(jobs), max_sketches):
        batch = [
            job
            for job in jobs[start : start + max_sketches]
            if not folder.sketch_done(job.image_id, job.n_strokes, job.seed)
        ]
        if not batch:
            continue
        try:
            optimize_sketches(
                batch,
                {job.image_id: targets[job.image_id] for job in batch},
                method.loss,
                device=device,
                learning_rate=settings.learning_rate,
                half_width=settings.half_width,
                eval_interval=settings.eval_interval,
                early_stop_delta=settings.early_stop_delta,
                shared_seed=settings.seeds[0],
                renderer=settings.renderer,
                on_step=on_step,
                on_finish=on_finish,
            )
            continue
        except torch.cuda.OutOfMemoryError as error:
            if len(batch) == 1:
                raise BadInput(
                    f"{device} ran out of memory optimising a single {batch[0].n_strokes}-stroke "
                    f"sketch of image {batch[0].image_id!r}; free the GPU, pick another with "
                    "--device cuda:N, or use --device cpu."
                ) from error
        # Retried here, not in the handler: while it runs, the error's traceback keeps the
        # failed attempt's tensors alive, so the halves would find the memory still taken.
        torch.cuda.empty_cache()
        half = max(1, len(batch) // 2)
        _run_batches(batch, targets, settings, method, device, half, on_step, on_finish, folder)
