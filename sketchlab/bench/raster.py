"""Speed of the rasterizer on diffvg reference scenes, beside its agreement with them
(`sketchlab bench raster`)."""

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
from sketchlab.errors import BadInput


def time_scene(scene: dict[str, np.ndarray], repeats: int = 10, renderer: str = "torch"):
    """Median forward and forward+backward milliseconds (after one warm-up of each).

    `fwd_bwd_cpu_ms` is the median process CPU time of forward+backward: on a machine shared
    with other jobs it is a steadier figure than wall time (it counts every thread).
    """
    points = torch.tensor(scene["points"], dtype=torch.float32)
    half_width = torch.tensor(scene["half_width"], dtype=torch.float32)
    target = torch.tensor(scene["target"], dtype=torch.float32)
    size = scene["image"].shape

    def forward():
        with torch.no_grad():
            render(points, half_width, size, renderer=renderer)

    def forward_backward():
        p = points.clone().requires_grad_(True)
        image = render(p, half_width, size, renderer=renderer)[0]
        ((image - target) ** 2).sum().backward()

    timings = {}
    for name, fn in (("fwd_ms", forward), ("fwd_bwd_ms", forward_backward)):
        fn()
        runs, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            runs.append((time.perf_counter() - start) * 1000.0)
            cpu.append((time.process_time() - start_cpu) * 1000.0)
        timings[name] = statistics.median(runs)
    timings["fwd_bwd_cpu_ms"] = statistics.median(cpu)
    return timings


def bench_raster(scenes_dir: Path, repeats: int = 10, threads: int = 2) -> list[dict]:
    """One row per scene file in `scenes_dir`: agreement figures and timings (ms).

    Adds `diffvg_fwd_bwd_ms` and `speedup` from `diffvg_timing.json` when the folder has one,
    and live pydiffvg timings (`diffvg_live_*`) when pydiffvg is importable.
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
            image, grad = render_and_grad(scene)
            row = {
                "file": path.name,
                "strokes": int(scene["points"].shape[0]),
                "size": int(scene["image"].shape[0]),
                **agreement(scene, image, grad),
                **time_scene(scene, repeats),
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
    finally:
        torch.set_num_threads(previous_threads)
    return rows


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers (speed-ups)."""
    return float(math.exp(sum(math.log(v) for v in values) / len(values)))
