"""`sketchlab bench generate`: what one optimisation step costs, and where the time goes.

All figures use a randomly initialised RN101 (same architecture, same compute as the
OpenAI weights) and a synthetic photo, so the bench runs offline. Times are medians of
`iterations` repeats after one warm-up, in milliseconds.

- per sketch at 16 strokes, paper preset (1 clean + 4 augmented views, own draws):
  render (forward + backward), CLIP (loss forward + backward minus the augmentation),
  other (augmentation, Adam, eval every 10 iterations amortised, book-keeping), next to
  the bare model floor: open_clip RN101 `encode_image` forward + backward on the same 5
  sketch views plus the forward of the 5 target views; and the same floor on the loss's own
  tower (BatchNorm folded, channels-last, 4 target views: the clean one's features are kept).
- throughput in sketch-iterations/s: one batch of 4 levels x 3 seeds, the same batch with
  shared augmentations (fast preset), and 12 separate runs.
- memory per sketch in the batch: bytes autograd saves for the backward pass (any device)
  and, on CUDA, peak allocated memory.
"""

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


def run_bench(
    device: str = "auto", iterations: int = 3, threads: int = 2, model_name: str = "RN101"
) -> dict:
    """Run every measurement; returns a JSON-ready dict (milliseconds, MiB, it/s).
    `model_name` other than RN101 (e.g. the test config RN-tiny) only to check the bench."""
    from sketchgen.devices import parse_device
    from sketchgen.losses import ClipassoLoss
    from sketchgen.models import load_clip

    torch.set_num_threads(threads)
    dev = parse_device(device)
    torch.manual_seed(0)
    model, _ = load_clip(model_name, None, device=dev)
    paper = ClipassoLoss(model, augmentations=AUGMENTATIONS, shared_augmentations=False)
    fast = ClipassoLoss(model, augmentations=AUGMENTATIONS, shared_augmentations=True)
    photo = _photo().to(dev)

    split = _split_16_strokes(model, paper, photo, dev, iterations)
    batch_jobs = [
        SketchJob("photo", n, seed, _strokes(n, seed), iterations + 1)
        for n in LEVELS
        for seed in SEEDS
    ]
    batched = _iteration_ms(batch_jobs, photo, paper, dev)
    shared = _iteration_ms(batch_jobs, photo, fast, dev)
    single = {
        n: _iteration_ms(
            [SketchJob("photo", n, 0, _strokes(n, 0), iterations + 1)], photo, paper, dev
        )
        for n in LEVELS
    }
    separate_ms = len(SEEDS) * sum(single.values())  # 12 runs, one iteration each
    saved = _saved_bytes(batch_jobs, photo, paper, dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        _iteration_ms(batch_jobs[:], photo, paper, dev)
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 / len(batch_jobs)
    else:
        peak = None
    n_batch = len(batch_jobs)
    return {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "weights": f"random-init {model_name} (same compute as the OpenAI weights)",
        "repeats": iterations,
        "per_sketch_16_strokes_paper_ms": split,
        "throughput_sketch_iterations_per_s": {
            "batch_4_levels_x_3_seeds": n_batch / batched * 1000,
            "batch_4_levels_x_3_seeds_shared_augmentations": n_batch / shared * 1000,
            "separate_12_runs": n_batch / separate_ms * 1000,
            "single_run_ms_per_iteration_by_strokes": single,
        },
        "memory_per_sketch_in_batch_mib": {
            "autograd_saved": saved / 2**20 / n_batch,
            "cuda_peak_allocated": peak,
            "process_peak_rss_total": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    }


def _photo() -> torch.Tensor:
    """A stand-in photo: thick random strokes and a grey block (content does not change cost)."""
    with torch.no_grad():
        image = render(_strokes(12, 7), 5.0, CANVAS)
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
        for name, work in parts.items():
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
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        sketches = render(points, 1.5, CANVAS, stroke_mask=mask)
        losses = loss(sketches, photo, generators)
    losses["total"].sum().backward()
    return total
