"""`sketchlab bench generate`: what one optimisation step costs, where the time goes, what
each preset costs per sketch-iteration, and (on a GPU) the batch goals.

All figures use a randomly initialised RN101 (same architecture, same compute as the
OpenAI weights) and synthetic photos, so the bench runs offline. Times are medians of
`iterations` repeats after one warm-up, in milliseconds, unless a key says otherwise.

- per sketch at 16 strokes, paper preset (1 clean + 4 augmented views, own draws):
  render (forward + backward), CLIP (loss forward + backward minus the augmentation),
  other (augmentation, Adam, eval every 10 iterations amortised, book-keeping), next to
  the bare model floor: open_clip RN101 `encode_image` forward + backward on the same 5
  sketch views plus the forward of the 5 target views; and the same floor on the loss's own
  tower (BatchNorm folded, channels-last, 4 target views: the clean one's features are kept).
- throughput in sketch-iterations/s: one batch of 4 levels x 3 seeds (paper), the same batch
  with shared augmentations in fp32, and 12 separate runs.
- presets: seconds per sketch-iteration of each registered clipasso preset (its views, draws
  and precision) on that batch, next to the reference code's best 3.9 s on the 2-core CPU.
- batches (`batch_images` > 0; on by default on CUDA): `timed_iterations` steps of the paper
  preset (evals every 10 included, after a warm-up) for one image's 12 sketches and for
  `batch_images` images' (96 sketches for 8), in fp32 and, on CUDA, tf32 and bf16; the
  4 x 3 x 2001 ladder of one image extrapolated from them; and the largest batch that fits.
- memory per sketch in the batch: bytes autograd saves for the backward pass (any device)
  and, on CUDA, peak allocated memory.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from sketchgen.optimize import SketchJob, optimize_sketches
from sketchgen.raster import render
from sketchlab.contracts import CANVAS

LEVELS = (4, 8, 16, 32)
SEEDS = (0, 1000, 2000)
AUGMENTATIONS = 4
EVAL_INTERVAL = 10
WARMUP_ITERATIONS = 2
# The official CLIPasso code's best time per sketch-iteration on the project's 2-core CPU.
REFERENCE_CPU_SECONDS_PER_SKETCH_ITERATION = 3.9
FAST_GOAL_SPEEDUP_OVER_REFERENCE = 3.0
GOAL_LADDER_SECONDS = 60.0  # one image, 4 levels x 3 seeds x 2001 iterations, paper, on a GPU
PAPER_PRECISIONS = ("fp32", "tf32", "bf16")  # on CUDA: the paper preset's fp32, 2 speed-ups


def run_bench(
    device: str = "auto",
    iterations: int = 3,
    threads: int = 2,
    model_name: str = "RN101",
    timed_iterations: int = 50,
    batch_images: int | None = None,
    fit_limit: int | None = None,
    agreement_images: str | None = None,
    agreement_iterations: int = 200,
    agreement_photos: int | None = None,
) -> dict:
    """Run every measurement; returns a JSON-ready dict (milliseconds, MiB, it/s).

    `model_name` other than RN101 (e.g. the test config RN-tiny) only to check the bench.
    `batch_images` (default 8 on CUDA, 0 = skip on CPU) and `fit_limit` (largest batch tried
    when looking for the largest that fits; default 4096 sketches on CUDA, 0 elsewhere) size
    the batches section. `agreement_images` (an images.csv) adds the bf16-vs-fp32 agreement
    of the fast preset's loss on its photos (`sketchlab.bench.precision`).
    """
    from sketchgen.devices import parse_device
    from sketchgen.losses import ClipassoLoss
    from sketchgen.models import load_clip
    from sketchgen.presets import PRESETS

    torch.set_num_threads(threads)
    dev = parse_device(device)
    on_gpu = dev.type == "cuda"
    batch_images = (8 if on_gpu else 0) if batch_images is None else batch_images
    fit_limit = (4096 if on_gpu else 0) if fit_limit is None else fit_limit
    torch.manual_seed(0)
    model, _ = load_clip(model_name, None, device=dev)
    paper = ClipassoLoss(model, augmentations=AUGMENTATIONS, shared_augmentations=False)
    shared = ClipassoLoss(model, augmentations=AUGMENTATIONS, shared_augmentations=True)
    photo = _photo(0).to(dev)

    split = _split_16_strokes(model, paper, photo, dev, iterations)
    batch_jobs = ladder_jobs("photo", iterations + 1)
    batched = _iteration_ms(batch_jobs, photo, paper, dev)
    shared_ms = _iteration_ms(batch_jobs, photo, shared, dev)
    single = {
        n: _iteration_ms(
            [SketchJob("photo", n, 0, _strokes(n, 0), iterations + 1)], photo, paper, dev
        )
        for n in LEVELS
    }
    separate_ms = len(SEEDS) * sum(single.values())  # 12 runs, one iteration each
    measured = {(AUGMENTATIONS, False, "fp32"): batched, (AUGMENTATIONS, True, "fp32"): shared_ms}
    presets = {}
    for name, preset in PRESETS.items():
        if preset.method != "clipasso":  # this bench times the CLIPasso loss
            continue
        loss = ClipassoLoss(
            model,
            augmentations=preset.augmentations,
            shared_augmentations=preset.shared_augmentations,
            precision=preset.precision,
        )
        key = (preset.augmentations, preset.shared_augmentations, loss.precision)
        if key not in measured:
            measured[key] = _iteration_ms(batch_jobs, photo, loss, dev)
        seconds = measured[key] / 1000 / len(batch_jobs)
        presets[name] = {
            "precision_asked": preset.precision,
            "precision_used": loss.precision,
            "shared_augmentations": preset.shared_augmentations,
            "seconds_per_sketch_iteration": seconds,
            "speedup_over_reference_cpu": REFERENCE_CPU_SECONDS_PER_SKETCH_ITERATION / seconds,
            "iterations": preset.iterations,
            "seconds_per_sketch": seconds * preset.iterations,
        }
    saved = _saved_bytes(batch_jobs, photo, paper, dev)
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(dev)
        _iteration_ms(batch_jobs[:], photo, paper, dev)
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 / len(batch_jobs)
    else:
        peak = None
    n_batch = len(batch_jobs)
    figures = {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if on_gpu else "cpu",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_1_5_15_min": list(os.getloadavg()),
        "weights": f"random-init {model_name} (same compute as the OpenAI weights)",
        "repeats": iterations,
        "per_sketch_16_strokes_paper_ms": split,
        "throughput_sketch_iterations_per_s": {
            "batch_4_levels_x_3_seeds": n_batch / batched * 1000,
            "batch_4_levels_x_3_seeds_shared_augmentations": n_batch / shared_ms * 1000,
            "separate_12_runs": n_batch / separate_ms * 1000,
            "single_run_ms_per_iteration_by_strokes": single,
        },
        "presets": presets,
        "reference_cpu_seconds_per_sketch_iteration": REFERENCE_CPU_SECONDS_PER_SKETCH_ITERATION,
        "goal_fast_seconds_per_sketch_iteration_cpu": (
            REFERENCE_CPU_SECONDS_PER_SKETCH_ITERATION / FAST_GOAL_SPEEDUP_OVER_REFERENCE
        ),
        "memory_per_sketch_in_batch_mib": {
            "autograd_saved": saved / 2**20 / n_batch,
            "cuda_peak_allocated": peak,
            "process_peak_rss_total": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    }
    if agreement_images:
        from sketchlab.bench.precision import bf16_agreement

        figures["bf16_agreement"] = bf16_agreement(
            model, agreement_images, dev, agreement_iterations, agreement_photos
        )
    if batch_images:  # last: the search for the largest batch fills the GPU's memory
        figures["batches"] = _batches(model, dev, timed_iterations, batch_images, fit_limit)
    return figures


def ladder_jobs(image_id: str, iterations: int) -> list[SketchJob]:
    """One image's 4 levels x 3 seeds, from synthetic start strokes."""
    return [
        SketchJob(image_id, n, seed, _strokes(n, seed), iterations)
        for n in LEVELS
        for seed in SEEDS
    ]


def _photo(seed: int) -> torch.Tensor:
    """A stand-in photo: thick random strokes and a grey block (content does not change cost)."""
    with torch.no_grad():
        image = render(_strokes(12, 7 + seed), 5.0, CANVAS)
    image[:, 60:140, 80:170] *= 0.5
    return image


def _strokes(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    start = rng.uniform(30, 194, (n, 1, 2))
    return torch.from_numpy(start + rng.uniform(-6, 6, (n, 4, 2))).float()


def _sync(dev: torch.device) -> Callable[[], None]:
    return (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)


def _iteration_ms(jobs: list[SketchJob], photo, loss, dev) -> float:
    """Median wall time of one optimiser step for `jobs` as one batch (eval steps excluded)."""
    stamps = []
    sync = _sync(dev)

    def stamp(_running: int) -> None:
        sync()
        stamps.append(time.perf_counter())

    optimize_sketches(jobs, {"photo": photo}, loss, device=dev, eval_interval=10**9, on_step=stamp)
    steps = np.diff(stamps)  # the first step (which also evaluates) has no predecessor
    return float(np.median(steps)) * 1000


def _mean_step_ms(jobs: list[SketchJob], photos: dict, loss, dev, timed: int) -> float:
    """Mean wall time per step over `timed` steps after `WARMUP_ITERATIONS`, with the eval
    every `EVAL_INTERVAL` steps included: what a long run pays per iteration."""
    stamps: list[float] = []
    sync = _sync(dev)

    def stamp(_running: int) -> None:
        sync()
        stamps.append(time.perf_counter())

    optimize_sketches(
        jobs,
        photos,
        loss,
        device=dev,
        eval_interval=EVAL_INTERVAL,
        early_stop_delta=0.0,
        on_step=stamp,
    )
    return (stamps[-1] - stamps[WARMUP_ITERATIONS - 1]) / timed * 1000


def _batches(model, dev: torch.device, timed: int, n_images: int, fit_limit: int) -> dict:
    """The paper preset's per-iteration time for one image's ladder (12 sketches) and for
    `n_images` images at once, per precision; the ladder extrapolated to 2001 iterations;
    and the largest batch that fits."""
    from sketchgen.losses import ClipassoLoss
    from sketchgen.presets import PRESETS

    paper = PRESETS["paper"]
    steps = WARMUP_ITERATIONS + timed
    photos = _Photos(dev)
    one_image = ladder_jobs("0", steps)
    many = [job for i in range(n_images) for job in ladder_jobs(str(i), steps)]
    per_precision = {}
    # on a CPU tf32 is fp32, and bf16 is the fast preset's business (see presets)
    for precision in PAPER_PRECISIONS if dev.type == "cuda" else ("fp32",):
        loss = ClipassoLoss(model, augmentations=paper.augmentations, precision=precision)
        one_ms = _mean_step_ms(one_image, photos.targets(one_image), loss, dev, timed)
        many_ms = (
            _mean_step_ms(many, photos.targets(many), loss, dev, timed) if n_images > 1 else one_ms
        )
        per_precision[precision] = {
            "precision_used": loss.precision,
            "ms_per_iteration_one_image": one_ms,
            "ms_per_iteration_many_images": many_ms,
            "ladder_seconds_one_image": one_ms * paper.iterations / 1000,
            "ladder_seconds_per_image_in_many": many_ms * paper.iterations / 1000 / n_images,
        }
    return {
        "timed_iterations": timed,
        "warmup_iterations": WARMUP_ITERATIONS,
        "how": (
            f"mean step time over {timed} timed iterations after {WARMUP_ITERATIONS} warm-up "
            f"ones (evals every {EVAL_INTERVAL} included) x {paper.iterations} iterations: "
            "extrapolated, not a full run"
        ),
        "one_image_sketches": len(one_image),
        "many_images": n_images,
        "many_images_sketches": len(many),
        "paper_precision": paper.precision,
        "ladder_seconds_paper": per_precision[paper.precision]["ladder_seconds_one_image"],
        "goal_ladder_seconds": GOAL_LADDER_SECONDS,
        "by_precision": per_precision,
        "largest_batch": _largest_batch(model, dev, photos, fit_limit),
    }


class _Photos:
    """Synthetic photo number i (image_id str(i)) on the device, made once."""

    def __init__(self, dev: torch.device) -> None:
        self.dev = dev
        self.made: dict[str, torch.Tensor] = {}

    def targets(self, jobs: list[SketchJob]) -> dict[str, torch.Tensor]:
        for image_id in {job.image_id for job in jobs} - set(self.made):
            self.made[image_id] = _photo(int(image_id)).to(self.dev)
        return {job.image_id: self.made[job.image_id] for job in jobs}


def _largest_batch(model, dev: torch.device, photos: _Photos, limit: int) -> dict:
    """The most sketches (whole images of 12) that one paper step fits in memory: doubling,
    then bisecting, up to `limit` sketches; each try runs 2 steps (the first with an eval)."""
    from sketchgen.losses import ClipassoLoss

    loss = ClipassoLoss(model, augmentations=AUGMENTATIONS)

    def fits(n_images: int) -> bool:
        jobs = [job for i in range(n_images) for job in ladder_jobs(str(i), 2)]
        failed = False
        try:
            optimize_sketches(jobs, photos.targets(jobs), loss, device=dev)
        except RuntimeError as error:  # torch.cuda.OutOfMemoryError, or cuBLAS/cuDNN's
            if not _out_of_memory(error):
                raise
            failed = True  # memory is freed below, once the handler lets go of the frames
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        return not failed

    per_image = len(LEVELS) * len(SEEDS)
    top = max(limit // per_image, 0)
    good, bad, n = 0, None, 1
    while n <= top:
        if not fits(n):
            bad = n
            break
        good, n = n, n * 2
    while bad is not None and bad - good > 1:
        middle = (good + bad) // 2
        good, bad = (middle, bad) if fits(middle) else (good, middle)
    return {
        "sketches": good * per_image,
        "first_failing_sketches": None if bad is None else bad * per_image,
        "limit_tried_sketches": top * per_image,
    }


def _out_of_memory(error: RuntimeError) -> bool:
    """A CUDA allocation failure, however the library that hit it words it."""
    text = str(error)
    return isinstance(error, torch.cuda.OutOfMemoryError) or any(
        sign in text for sign in ("out of memory", "ALLOC_FAILED")
    )


def _split_16_strokes(model, loss, photo, dev, repeats: int) -> dict:
    """Render / CLIP / other for one 16-stroke sketch, and the bare RN101 floor.

    Every part is timed between two steps of the same optimisation run (round-robin), so a
    machine whose speed drifts during the bench (shared cloud cores) slows the steps and
    the floor alike and their ratio stays meaningful.
    """
    from sketchgen.augment import apply_views, draw_views

    sync = _sync(dev)
    points = _strokes(16, 0).to(dev)[None].requires_grad_(True)
    generator = torch.Generator().manual_seed(0)

    def render_step() -> None:
        image = render(points, 1.5, CANVAS)
        image.backward(torch.ones_like(image))

    sketch = render(points.detach(), 1.5, CANVAS).requires_grad_(True)

    def loss_step() -> None:
        loss(sketch, photo, [generator])["total"].sum().backward()

    def augment_step() -> None:
        params = draw_views(AUGMENTATIONS, generator)
        views = apply_views(sketch.repeat_interleave(AUGMENTATIONS, 0), params)
        with torch.no_grad():
            apply_views(photo[None].repeat_interleave(AUGMENTATIONS, 0), params)
        views.sum().backward()

    def eval_step() -> None:
        with torch.no_grad():
            loss(sketch.detach(), photo[None], None, eval=True)

    views = torch.rand(1 + AUGMENTATIONS, 3, CANVAS, CANVAS, device=dev)

    def floor_step() -> None:
        sketch_views = views.clone().requires_grad_(True)
        model.encode_image(sketch_views).sum().backward()
        with torch.no_grad():
            model.encode_image(views)

    def tower_floor_step() -> None:
        """The floor on the loss's own tower (BatchNorm folded, channels-last), with the 4
        augmented target views it computes per step (the clean one's features are kept)."""
        sketch_views = views.clone().requires_grad_(True)
        loss.features(sketch_views)[2].sum().backward()
        with torch.no_grad():
            loss.features(views[1:])

    parts = {
        "render": render_step,
        "loss": loss_step,
        "augmentation": augment_step,
        "eval": eval_step,
        "floor": floor_step,
        "tower_floor": tower_floor_step,
    }
    times: dict[str, list[float]] = {name: [] for name in [*parts, "step"]}
    resumed: list[float] = []

    def between_steps(_running: int) -> None:
        sync()
        if resumed:  # the step that just ended (the first one also evaluated: not timed)
            times["step"].append((time.perf_counter() - resumed[-1]) * 1000)
        for name, work in parts.items():  # inside the run's numerics() already
            started = time.perf_counter()
            work()
            sync()
            times[name].append((time.perf_counter() - started) * 1000)
        resumed.append(time.perf_counter())

    job = SketchJob("photo", 16, 0, _strokes(16, 0), repeats + 2)
    optimize_sketches(
        [job], {"photo": photo}, loss, device=dev, eval_interval=10**9, on_step=between_steps
    )
    # each part's first run is its warm-up
    ms = {
        name: statistics.median(values[1:] if name in parts else values)
        for name, values in times.items()
    }
    total_ms = ms["step"] + ms["eval"] / EVAL_INTERVAL
    clip_ms = ms["loss"] - ms["augmentation"]
    return {
        "total": total_ms,
        "render": ms["render"],
        "clip": clip_ms,
        "other": total_ms - ms["render"] - clip_ms,
        "of_which_augmentation": ms["augmentation"],
        "of_which_eval_amortised": ms["eval"] / EVAL_INTERVAL,
        "bare_model_floor": ms["floor"],
        "total_over_floor": total_ms / ms["floor"],
        "loss_tower_floor": ms["tower_floor"],
        "total_over_loss_tower_floor": total_ms / ms["tower_floor"],
    }


def _saved_bytes(jobs: list[SketchJob], photo, loss, dev) -> int:
    """Bytes autograd keeps for the backward pass of one batched step (activation memory)."""
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    points = torch.zeros(len(jobs), max(j.n_strokes for j in jobs), 4, 2, device=dev)
    mask = torch.zeros(points.shape[:2], dtype=torch.bool, device=dev)
    for row, job in enumerate(jobs):
        points[row, : job.n_strokes] = job.init_points.to(dev)
        mask[row, : job.n_strokes] = True
    points.requires_grad_(True)
    generators = [torch.Generator().manual_seed(j.seed) for j in jobs]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), loss.numerics():
        sketches = render(points, 1.5, CANVAS, stroke_mask=mask)
        losses = loss(sketches, photo, generators)
        losses["total"].sum().backward()
    return total
