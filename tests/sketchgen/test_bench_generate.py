"""`sketchlab bench generate`'s figures, on the tiny RN-shaped test model (fast, offline)."""

import math

import pytest
import torch

from sketchgen.presets import PRESETS
from sketchlab.bench.generate import run_bench


@pytest.mark.slow  # every measurement of the bench, 12 sketches x 5 views each: ~20 s on CPU
def test_bench_generate_reports_every_figure_with_consistent_parts():
    threads = torch.get_num_threads()
    try:
        figures = run_bench(device="cpu", iterations=1, threads=1, model_name="RN-tiny")
    finally:
        torch.set_num_threads(threads)

    split = figures["per_sketch_16_strokes_paper_ms"]
    assert set(split) == {
        "total",
        "render",
        "clip",
        "other",
        "of_which_augmentation",
        "of_which_eval_amortised",
        "bare_model_floor",
        "total_over_floor",
        "loss_tower_floor",
        "total_over_loss_tower_floor",
    }
    assert all(math.isfinite(v) for v in split.values())
    assert split["total"] > 0 and split["render"] > 0 and split["bare_model_floor"] > 0
    assert math.isclose(split["render"] + split["clip"] + split["other"], split["total"])
    assert math.isclose(split["total_over_floor"], split["total"] / split["bare_model_floor"])
    throughput = figures["throughput_sketch_iterations_per_s"]
    assert all(
        throughput[key] > 0
        for key in (
            "batch_4_levels_x_3_seeds",
            "batch_4_levels_x_3_seeds_shared_augmentations",
            "separate_12_runs",
        )
    )
    assert set(throughput["single_run_ms_per_iteration_by_strokes"]) == {4, 8, 16, 32}
    assert figures["memory_per_sketch_in_batch_mib"]["autograd_saved"] > 0
    assert figures["torch_threads"] == 1
    presets = figures["presets"]
    assert set(presets) == {name for name, p in PRESETS.items() if p.method == "clipasso"}
    assert (
        presets["paper"]["precision_used"] == "fp32"
        and not presets["paper"]["shared_augmentations"]
    )
    assert (
        presets["fast"]["precision_asked"] == "bf16-if-native"
        and presets["fast"]["shared_augmentations"]
    )
    for preset in presets.values():
        seconds = preset["seconds_per_sketch_iteration"]
        assert preset["speedup_over_reference_cpu"] == 3.9 / seconds
        assert preset["seconds_per_sketch"] == seconds * preset["iterations"]
    # paper's figure is the 4 levels x 3 seeds batch's
    assert presets["paper"]["seconds_per_sketch_iteration"] == pytest.approx(
        1 / throughput["batch_4_levels_x_3_seeds"]
    )
    assert "batches" not in figures and "bf16_agreement" not in figures  # GPU / on request
