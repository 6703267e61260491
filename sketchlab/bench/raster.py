"""Speed of the rasterizer on diffvg reference scenes, beside its agreement with them, and
its throughput on a batch of 224 x 224 sketches (`sketchlab bench raster`)."""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sketchgen.diffvg_backend import diffvg_available
from sketchgen.raster import render
from sketchgen.raster_agreement import agreement, load_scene, render_and_grad
from sketchlab.contracts import CANVAS
from sketchlab.errors import BadInput

CPU = torch.device("cpu")  # the default device of the benchmarks


def _timed(fn, repeats: int, device: torch.device) -> tuple[float, float]:
    """Median wall and process CPU milliseconds of `fn` (after one warm-up), waiting for the
    GPU to finish each run."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    runs, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        runs.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(runs), statistics.median(cpu)


def time_scene(
    scene: dict[str, np.ndarray],
    repeats: int = 10,
    renderer: str = "torch",
    device: torch.device = CPU,
):
    """Median forward and forward+backward milliseconds (after one warm-up of each).

    `fwd_bwd_cpu_ms` is the median process CPU time of forward+backward: on a machine shared
    with other jobs it is a steadier figure than wall time (it counts every thread).
    """
    points = torch.tensor(scene["points"], dtype=torch.float32, device=device)
    half_width = torch.tensor(scene["half_width"], dtype=torch.float32, device=device)
    target = torch.tensor(scene["target"], dtype=torch.float32, device=device)
    size = scene["image"].shape

    def forward():
        with torch.no_grad():
            render(points, half_width, size, renderer=renderer)

    def forward_backward():
        p = points.clone().requires_grad_(True)
        image = render(p, half_width, size, renderer=renderer)[0]
        ((image - target) ** 2).sum().backward()

    fwd_ms, _ = _timed(forward, repeats, device)
    fwd_bwd_ms, fwd_bwd_cpu_ms = _timed(forward_backward, repeats, device)
    return {"fwd_ms": fwd_ms, "fwd_bwd_ms": fwd_bwd_ms, "fwd_bwd_cpu_ms": fwd_bwd_cpu_ms}


def batch_throughput(
    batch: int, repeats: int = 10, device: torch.device = CPU, seed: int = 0
) -> dict:
    """224 x 224 sketches rendered forward + backward per second, `batch` at a time: sketches
    of 4, 8, 16 and 32 strokes in turn (padded to 32 and masked, as the optimiser batches
    them), each stroke spanning about 60 px like a finished CLIPasso sketch."""
    generator = torch.Generator().manual_seed(seed)
    counts = torch.tensor([(4, 8, 16, 32)[i % 4] for i in range(batch)])
    centres = 20 + 184 * torch.rand(batch, 32, 1, 2, generator=generator)
    points = (centres + 20 * torch.randn(batch, 32, 4, 2, generator=generator)).to(device)
    mask = (torch.arange(32)[None] < counts[:, None]).to(device)
    weights = torch.rand(batch, 3, CANVAS, CANVAS, generator=generator).to(device)

    def forward_backward():
        p = points.clone().requires_grad_(True)
        (render(p, 1.5, CANVAS, stroke_mask=mask) * weights).sum().backward()

    ms, _ = _timed(forward_backward, repeats, device)
    return {
        "batch": batch,
        "strokes": "4, 8, 16, 32 in turn",
        "fwd_bwd_ms_per_batch": ms,
        "sketches_per_s": batch / ms * 1000.0,
    }


def bench_raster(
    scenes_dir: Path,
    repeats: int = 10,
    threads: int = 2,
    device: torch.device = CPU,
    batch: int = 96,
) -> dict:
    """Agreement figures and timings (ms) per scene file in `scenes_dir` (`scenes`), rendered
    on `device`, and the throughput of a batch of `batch` sketches (`batch`, if > 0).

    Adds `diffvg_fwd_bwd_ms` and `speedup` from `diffvg_timing.json` (diffvg on a 2-core
    CPU) when the folder has one, and live pydiffvg timings (`diffvg_live_*`, CPU) when
    pydiffvg is importable.
    """
    scenes_dir = Path(scenes_dir)
    files = sorted(scenes_dir.glob("*.npz"))
    if not files:
        raise BadInput(f"{scenes_dir}: no scene files (*.npz) found.")
    if repeats < 1:
        raise BadInput(f"repeats must be at least 1, got {repeats}.")
    stored = {}
    timing_file = scenes_dir / "diffvg_timing.json"
    if timing_file.exists():
        stored = {row["file"]: row for row in json.loads(timing_file.read_text())}
    live_diffvg = diffvg_available()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for path in files:
            scene = load_scene(path)
            image, grad = render_and_grad(scene, device=device)
            row = {
                "file": path.name,
                "strokes": int(scene["points"].shape[0]),
                "size": int(scene["image"].shape[0]),
                **agreement(scene, image, grad),
                **time_scene(scene, repeats, device=device),
            }
            if path.name in stored:
                row["diffvg_fwd_bwd_ms"] = float(stored[path.name]["fwd_bwd_ms"])
                row["speedup"] = row["diffvg_fwd_bwd_ms"] / row["fwd_bwd_ms"]
            if live_diffvg:
                live = time_scene(scene, repeats, renderer="diffvg")
                row["diffvg_live_fwd_ms"] = live["fwd_ms"]
                row["diffvg_live_fwd_bwd_ms"] = live["fwd_bwd_ms"]
                row["live_speedup"] = live["fwd_bwd_ms"] / row["fwd_bwd_ms"]
            rows.append(row)
        throughput = batch_throughput(batch, repeats, device) if batch > 0 else None
    finally:
        torch.set_num_threads(previous_threads)
    speedups = [row["speedup"] for row in rows if "speedup" in row]
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": threads,
        "repeats": repeats,
        "scenes": rows,
        "speedup_geometric_mean": geometric_mean(speedups) if speedups else None,
        "speedup_slowest_scene": min(speedups) if speedups else None,
        "batch_throughput": throughput,
    }


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers (speed-ups)."""
    return float(math.exp(sum(math.log(v) for v in values) / len(values)))
