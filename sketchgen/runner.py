"""`generate()`: images.csv -> a resumable run folder of sketches (see run_folder.py).

Order of work: validate every input (nothing is written before this passes), load the
models, write run.json, then process images in batches (all levels x seeds of an image,
several images per batch on a GPU), writing each sketch the moment it stops and each image
once all its sketches are done. A rerun skips every sketch and image whose marker exists.
"""

import dataclasses
import hashlib
import importlib.metadata
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sketchgen.devices import parse_device
from sketchgen.optimize import SketchJob, SketchResult, optimize_sketches
from sketchgen.presets import get_preset
from sketchgen.run_folder import RunFolder
from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

MAX_STROKES = 1024
RANDOM_WEIGHTS = "random"  # --weights random: a randomly initialised model (tests, benchmarks)
# Default batch sizes. On CPU a CLIPasso sketch in a batch holds ~1 GB of RN101 activations
# (bench generate), so 4 at a time; the XDoG loss needs little, so one image's 4 x 3.
CPU_BATCH_SKETCHES = {"clipasso": 4, "xdog": 12}
GPU_BATCH_SKETCHES = 96
VERSIONED_PACKAGES = ["sketchlab", "torch", "torchvision", "open_clip_torch", "numpy", "kornia"]


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides the sketches; a run folder keeps one of these for life."""

    levels: tuple[int, ...]
    seeds: tuple[int, ...]
    preset: str
    method: str
    iterations: int
    augmentations: int
    shared_augmentations: bool
    learning_rate: float
    half_width: float
    eval_interval: int
    early_stop_delta: float
    softmax_temperature: float
    loss_model: str
    loss_pretrained: str | None
    weights: str | None
    saliency_model: str
    saliency_pretrained: str | None
    saliency_weights: str | None
    init: str  # "saliency", "edges" or "svg"
    init_svg: str | None
    init_svg_sha256: str | None

    @property
    def loss_model_label(self) -> str:
        """The loss_model column of stimuli.csv."""
        if self.method == "xdog":
            return "xdog"
        if self.weights == RANDOM_WEIGHTS:
            return f"{self.loss_model}/random-init"
        if self.weights:
            return f"{self.loss_model}/{Path(self.weights).name}"
        return f"{self.loss_model}/{self.loss_pretrained}"


INIT_CHOICES = ("saliency", "edges")


def resolve_settings(
    *,
    levels,
    seeds,
    preset,
    method,
    iterations,
    augmentations,
    init_svg,
    weights,
    saliency_weights,
    loss_model=None,
    init=None,
) -> RunSettings:
    """Preset + flags -> checked RunSettings (BadInput names the flag at fault).

    init: "saliency" (ViT-B/32 attention x XDoG), "edges" (uniform over XDoG edges, no
    weights) or None: saliency for clipasso; for xdog saliency when ViT-B/32 weights are
    available offline, else edges. `init_svg` (a file) overrides both.
    """
    if init is not None and init not in INIT_CHOICES:
        raise BadInput(f"--init {init!r} is neither saliency, edges nor an existing SVG file.")
    chosen = get_preset(preset)
    method = method or chosen.method
    if method not in ("clipasso", "xdog"):
        raise BadInput(f"--method {method!r} is not known; use clipasso or xdog.")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise BadInput(f"--seeds {' '.join(map(str, seeds))} must be distinct integers >= 0.")
    if iterations is not None and iterations < 1:
        raise BadInput(f"--iterations {iterations} must be at least 1.")
    if augmentations is not None and augmentations < 0:
        raise BadInput(f"--augmentations {augmentations} must be 0 or more.")
    init_points, init_hash = None, None
    if init_svg is not None:
        init_points, init_hash = _read_init_svg(init_svg)
        levels = levels or (init_points.shape[0],)
    levels = tuple(int(n) for n in (levels or (4, 8, 16, 32)))
    for n in levels:
        if not 1 <= n <= MAX_STROKES:
            raise BadInput(
                f"--levels {n} is out of range; a level is a stroke count from 1 to {MAX_STROKES}."
            )
    if len(set(levels)) != len(levels):
        raise BadInput(f"--levels {' '.join(map(str, levels))} repeats a level.")
    if init_points is not None and levels != (init_points.shape[0],):
        raise BadInput(
            f"--init {init_svg} has {init_points.shape[0]} strokes, so --levels must be "
            f"{init_points.shape[0]} (got {' '.join(map(str, levels))})."
        )
    for flag, value in (("--weights", weights), ("--saliency-weights", saliency_weights)):
        if value not in (None, RANDOM_WEIGHTS) and not Path(value).is_file():
            raise BadInput(f"{flag} {value} does not exist or is not a file.")
    loss_model = loss_model or chosen.loss_model
    if init_svg is not None:
        init = "svg"
    elif init is None:
        available = method == "clipasso" or _saliency_available(chosen, saliency_weights)
        init = "saliency" if available else "edges"
        if not available:
            print(
                f"sketchlab: no cached {chosen.saliency_model} weights, so the xdog method starts "
                "from strokes on XDoG edges (--init edges) instead of the saliency init.",
                file=sys.stderr,
            )
    return RunSettings(
        levels=levels,
        seeds=seeds,
        preset=preset,
        method=method,
        iterations=iterations or chosen.iterations,
        augmentations=chosen.augmentations if augmentations is None else augmentations,
        shared_augmentations=chosen.shared_augmentations,
        learning_rate=chosen.learning_rate,
        half_width=chosen.half_width,
        eval_interval=chosen.eval_interval,
        early_stop_delta=chosen.early_stop_delta,
        softmax_temperature=chosen.softmax_temperature,
        loss_model=loss_model,
        loss_pretrained=chosen.loss_pretrained,
        weights=_absolute(weights),
        saliency_model=chosen.saliency_model,
        saliency_pretrained=chosen.saliency_pretrained,
        saliency_weights=_absolute(saliency_weights),
        init=init,
        init_svg=_absolute(init_svg),
        init_svg_sha256=init_hash,
    )


def _absolute(path: str | None) -> str | None:
    if path in (None, RANDOM_WEIGHTS):
        return path
    return str(Path(path).resolve())


def _saliency_available(preset, saliency_weights: str | None) -> bool:
    """Whether the ViT-B/32 saliency model can be loaded here without a download."""
    if saliency_weights:
        return True
    from sketchgen.models import load_clip

    try:
        load_clip(
            preset.saliency_model, preset.saliency_pretrained, weights_flag="--saliency-weights"
        )
    except BadInput:
        return False
    return True


def _read_init_svg(path: str) -> tuple[torch.Tensor, str]:
    """Strokes of an --init SVG, scaled to the 224 canvas, and the file's sha256."""
    from sketchgen.models import file_sha256
    from sketchgen.svg import read_svg

    if not Path(path).is_file():
        raise BadInput(f"--init {path} does not exist.")
    sketch = read_svg(path)
    scale = torch.tensor([CANVAS / sketch.width, CANVAS / sketch.height])
    return sketch.points.float() * scale, file_sha256(path)


# --- inputs -------------------------------------------------------------------------------


def read_images(images_csv: str | Path) -> pd.DataFrame:
    """images.csv, checked (ids and class names by the contracts' rules, so whatever is
    generated here passes `study check`, `analyze` and `score`) and every photo (and mask)
    loaded, before any model is loaded or anything is written."""
    from sketchgen.images import read_images_csv
    from sketchgen.preprocess import load_target

    images = read_images_csv(images_csv)
    for row, image in enumerate(images.to_dict("records"), start=2):
        where = f"{images_csv} row {row} (image_id {image['image_id']!r})"
        try:
            load_target(image["path"], _mask(image))
        except BadInput as error:
            raise BadInput(f"{where}: {error}") from error
        except Exception as error:  # any failure to read is the user's file
            raise BadInput(f"{where}: cannot read {image['path']}: {error}") from error
    return images


def _mask(image: dict) -> str | None:
    mask = image.get("mask_path")
    return None if mask is None or pd.isna(mask) or mask == "" else str(mask)


# --- models -------------------------------------------------------------------------------


@dataclass
class Method:
    """The loaded pieces of a method: the loss, the saliency model (if any), their ids."""

    loss: Callable
    saliency_model: torch.nn.Module | None
    models: dict


def load_method(settings: RunSettings, device: torch.device) -> Method:
    """Load the loss model and (for the saliency init) ViT-B/32; BadInput when weights are
    missing offline (load_clip's message says what to download and where)."""
    from sketchgen.losses import ClipassoLoss, XdogLoss

    models: dict = {}
    if settings.method == "clipasso":
        model = _load(
            settings.loss_model, settings.loss_pretrained, settings.weights, device, "--weights"
        )
        loss = ClipassoLoss(
            model,
            augmentations=settings.augmentations,
            shared_augmentations=settings.shared_augmentations,
        )
        models["loss"] = _model_id(
            settings.loss_model, settings.loss_pretrained, settings.weights, model
        )
    else:
        loss = XdogLoss()
        models["loss"] = {"name": "xdog", "checkpoint_sha256": None}
    saliency = None
    if settings.init == "saliency":
        saliency = _load(
            settings.saliency_model,
            settings.saliency_pretrained,
            settings.saliency_weights,
            device,
            "--saliency-weights",
        )
        models["saliency"] = _model_id(
            settings.saliency_model,
            settings.saliency_pretrained,
            settings.saliency_weights,
            saliency,
        )
    return Method(loss, saliency, models)


def _load(
    name: str, pretrained: str | None, weights: str | None, device, flag: str
) -> torch.nn.Module:
    from sketchgen.models import RANDOM_INIT_SEED, load_clip

    if weights == RANDOM_WEIGHTS:
        torch.manual_seed(RANDOM_INIT_SEED)
        model, _ = load_clip(name, None, device=device)
    else:
        model, _ = load_clip(
            name, None if weights else pretrained, weights=weights, device=device, weights_flag=flag
        )
    return model.eval().requires_grad_(False)


def _model_id(name: str, pretrained, weights, model: torch.nn.Module) -> dict:
    """Which weights: the checkpoint file's sha256, or for a random init a hash of the tensors."""
    from sketchgen.models import checkpoint_sha256

    if weights != RANDOM_WEIGHTS:
        return {
            "name": name,
            "pretrained": None if weights else pretrained,
            "weights": weights,
            "checkpoint_sha256": checkpoint_sha256(
                name, None if weights else pretrained, weights=weights
            ),
        }
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return {"name": name, "pretrained": "random-init", "state_dict_sha256": digest.hexdigest()}


# --- one batch of images ------------------------------------------------------------------


def start_distribution(
    settings: RunSettings, method: Method, target: torch.Tensor
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
        return _read_init_svg(settings.init_svg)[0]
    if settings.init == "edges":
        return edge_init_strokes(target, n_strokes, rng)
    return init_strokes(sample_start_points(probabilities, n_strokes, rng), rng, canvas=CANVAS)


def process_images(
    images: Sequence[dict],
    settings: RunSettings,
    method: Method,
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

    targets = {image["image_id"]: load_target(image["path"], _mask(image)) for image in images}
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
            by_id[image_id], targets[image_id], list(settings.levels), list(settings.seeds), labels
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
                on_step=on_step,
                on_finish=on_finish,
            )
        except torch.cuda.OutOfMemoryError as error:
            torch.cuda.empty_cache()
            if len(batch) == 1:
                raise BadInput(
                    f"{device} ran out of memory optimising a single {batch[0].n_strokes}-stroke "
                    f"sketch of image {batch[0].image_id!r}; free the GPU, pick another with "
                    "--device cuda:N, or use --device cpu."
                ) from error
            half = max(1, len(batch) // 2)
            _run_batches(batch, targets, settings, method, device, half, on_step, on_finish, folder)


# --- the whole run ------------------------------------------------------------------------


def generate(
    images_csv: str | Path,
    out: str | Path,
    *,
    levels: Sequence[int] | None = None,
    seeds: Sequence[int] = (0, 1000, 2000),
    preset: str = "paper",
    method: str | None = None,
    device: str = "auto",
    iterations: int | None = None,
    augmentations: int | None = None,
    init_svg: str | None = None,
    init: str | None = None,
    weights: str | None = None,
    saliency_weights: str | None = None,
    loss_model: str | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = True,
    max_batch_sketches: int | None = None,
) -> Path:
    """Make sketches of every image in `images_csv` into the run folder `out` and return it.

    Resumable: rerun with the same arguments and it finishes only what is missing. `method`
    None takes the preset's; `init` "saliency" or "edges" (None: see resolve_settings), or
    `init_svg` a file of start strokes; `weights`/`saliency_weights` are local checkpoints (or
    "random" for a randomly initialised model); `max_batch_sketches` caps how many sketches
    optimise together (default on CPU: 4 for clipasso, 12 for xdog; 96 on a GPU).
    """
    if executor not in ("local", "ray"):
        raise BadInput(f"--executor {executor!r} is not known; use local or ray.")
    if max_batch_sketches is not None and max_batch_sketches < 1:
        raise BadInput(f"--batch-sketches {max_batch_sketches} must be at least 1.")
    torch_device = parse_device(device)
    settings = resolve_settings(
        levels=levels,
        seeds=seeds,
        preset=preset,
        method=method,
        iterations=iterations,
        augmentations=augmentations,
        init_svg=init_svg,
        weights=weights,
        init=init,
        saliency_weights=saliency_weights,
        loss_model=loss_model,
    )
    images = read_images(images_csv)
    folder = RunFolder(out)
    _check_folder(folder, settings)
    image_rows = images.to_dict("records")
    pending = [image for image in image_rows if not folder.image_done(image["image_id"])]
    image_ids = [image["image_id"] for image in image_rows]
    if not pending:
        folder.write_stimuli(image_ids)
        return folder.root
    loaded = load_method(settings, torch_device)
    _write_run_json(folder, settings, loaded.models, torch_device, executor, images_csv)
    max_sketches = max_batch_sketches or (
        GPU_BATCH_SKETCHES if torch_device.type == "cuda" else CPU_BATCH_SKETCHES[settings.method]
    )
    if executor == "ray":
        from sketchgen.ray_executor import run_on_ray

        del loaded
        run_on_ray(
            pending,
            settings,
            folder,
            torch_device,
            ray_address=ray_address,
            max_sketches=max_sketches,
            progress=progress,
        )
    else:
        _run_local(pending, settings, loaded, folder, torch_device, max_sketches, progress)
    folder.write_stimuli(image_ids)
    return folder.root


def _run_local(pending, settings, method, folder, device, max_sketches, progress) -> None:
    """Images in batches of up to `max_sketches` sketches, with a progress display."""
    per_image = len(settings.levels) * len(settings.seeds)
    images_per_batch = max(1, max_sketches // per_image)
    batches = [pending[i : i + images_per_batch] for i in range(0, len(pending), images_per_batch)]
    with GenerationProgress(len(pending), settings, enabled=progress) as bar:
        for batch in batches:
            bar.start_batch(batch)
            process_images(
                batch,
                settings,
                method,
                folder,
                device,
                max_sketches=max_sketches,
                on_step=bar.step,
                on_image=lambda _: bar.image_done(),
            )


class GenerationProgress:
    """Rich progress: images done, and sketch-iterations of the current batch with rate/ETA."""

    def __init__(self, n_images: int, settings: RunSettings, *, enabled: bool = True):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.settings = settings
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not enabled,
        )
        self.images = self.progress.add_task("images", total=n_images, rate="")
        self.iterations = self.progress.add_task("sketch-iterations", total=1, rate="")
        self.started = time.perf_counter()
        self.done = 0

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start_batch(self, images: Sequence[dict]) -> None:
        names = ", ".join(str(image["image_id"]) for image in images[:3])
        names += "" if len(images) <= 3 else f" +{len(images) - 3}"
        levels = " ".join(map(str, self.settings.levels))
        total = len(images) * len(self.settings.levels) * len(self.settings.seeds)
        self.progress.reset(
            self.iterations,
            total=total * self.settings.iterations,
            rate="",
            description=f"{names}: levels {levels} x {len(self.settings.seeds)} seeds",
        )
        self.started, self.done = time.perf_counter(), 0

    def step(self, n_running: int) -> None:
        self.done += n_running
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.iterations, advance=n_running, rate=f"{rate:.1f} it/s")

    def image_done(self) -> None:
        self.progress.advance(self.images)


def _check_folder(folder: RunFolder, settings: RunSettings) -> None:
    """Refuse to mix settings in one run folder, or to write into an unrelated folder."""
    run_json = folder.root / "run.json"
    if run_json.exists():
        try:
            previous = json.loads(run_json.read_text())["settings"]
        except (ValueError, KeyError) as error:
            raise BadInput(f"{run_json} is not a readable run.json; use a new --out.") from error
        current = dataclasses.asdict(settings)
        changed = [
            key for key in current if json.loads(json.dumps(current[key])) != previous.get(key)
        ]
        if changed:
            key = changed[0]
            raise BadInput(
                f"{folder.root} was made with {key}={previous.get(key)!r}, not "
                f"{current[key]!r}; rerun with the same settings or use a new --out."
            )
    elif folder.root.exists() and any(not p.name.startswith(".") for p in folder.root.iterdir()):
        raise BadInput(
            f"--out {folder.root} is a folder with other files in it and no run.json; "
            "choose a new or empty folder."
        )


def _write_run_json(
    folder: RunFolder,
    settings: RunSettings,
    models: dict,
    device: torch.device,
    executor: str,
    images_csv,
) -> None:
    """run.json: the settings (fixed for the folder's life) plus one entry per session."""
    path = folder.root / "run.json"
    sessions = json.loads(path.read_text())["sessions"] if path.exists() else []
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    sessions.append(
        {
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "images_csv": str(Path(images_csv).resolve()),
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else platform.processor() or platform.machine(),
            "executor": executor,
            "python": platform.python_version(),
            "versions": versions,
            "models": models,
        }
    )
    with atomic_write(path) as handle:
        json.dump(
            {"settings": dataclasses.asdict(settings), "sessions": sessions}, handle, indent=1
        )
