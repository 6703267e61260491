"""`make gpu-check --dry-run`-style run on the CPU: every step of the GPU check runs at tiny
sizes and the one JSON report has every step, figure and goal the GPU run fills in."""

import json
import os
import subprocess
import sys

import pytest

from sketchgen.presets import PRESETS
from tests.conftest import REPO

STEPS = {"install", "cuda_tests", "bench_raster", "bench_generate", "bench_score"}
GOALS = {
    "ladder_seconds_paper",
    "raster_speedup_vs_diffvg_cpu_geometric_mean",
    "score_throughput_over_bare_encode_image",
    "fast_bf16_gradient_cosine_mean",
    "fast_bf16_eval_loss_relative_difference_max",
}


@pytest.mark.slow  # every step of the GPU check, each a process of its own: ~90 s on 2 cores
def test_dry_run_reports_every_step_figure_and_goal(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "sketchlab.bench.gpu_check", "--dry-run", "--out", str(out)]
        + ["--wheels", str(tmp_path / "no-wheels")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "gpu-check.json").read_text())
    log = (out / "gpu-check.log").read_text()

    assert report["dry_run"] is True and set(report["steps"]) == STEPS
    for name, step in report["steps"].items():
        assert step["status"] == "ok", (name, step.get("output_tail"))
        assert f"===== {name}: " in log
    tests = report["steps"]["cuda_tests"]
    assert tests["tests"] > 0 and tests["failed"] == []
    assert tests["passed"] + tests["skipped"] == tests["tests"]

    generate = report["steps"]["bench_generate"]["figures"]
    assert set(generate["presets"]) == {n for n, p in PRESETS.items() if p.method == "clipasso"}
    assert generate["presets"]["paper"]["precision_used"] == "fp32"
    assert generate["batches"]["largest_batch"]["sketches"] == 12
    assert {"ms_per_iteration_one_image", "ms_per_iteration_many_images"} <= set(
        generate["batches"]["by_precision"]["fp32"]
    )
    assert generate["bf16_agreement"]["photos"] == ["duck"]
    assert report["steps"]["bench_raster"]["figures"]["batch_throughput"]["batch"] == 4
    assert report["steps"]["bench_score"]["figures"]["batch_size"] == 4

    assert set(report["goals"]) == GOALS | {"figures"}
    for name in GOALS:
        goal = report["goals"][name]
        assert isinstance(goal["value"], float) and isinstance(goal["met"], bool), name
    assert all(value is not None for value in report["goals"]["figures"].values())
