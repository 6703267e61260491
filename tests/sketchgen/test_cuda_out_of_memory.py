"""A real CUDA out-of-memory error halves the batch and the run still finishes.

The GPU is made small with `torch.cuda.set_per_process_memory_fraction` (no mock): room for
the models and three sketches' activations (measured first), so a batch of 8 fails, then
each half of 4, and batches of 2 run.
"""

import gc

import pandas as pd
import pytest
import torch

from sketchgen import batch_worker, runner
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.cuda

IMAGES = TEST_DATA / "generate" / "images.csv"  # 2 photos
SETTINGS = {
    "preset": "paper",
    "weights": "random",
    "init": "edges",
    "iterations": 2,
    "device": "cuda",
    "progress": False,
}


def _free_gpu_memory() -> int:
    """Bytes still allocated once everything unreachable is freed and the cache emptied."""
    gc.collect()
    torch.cuda.empty_cache()
    return torch.cuda.memory_allocated()


def _peak_bytes(out, sketches_per_batch: int) -> int:
    """Peak GPU memory a run whose batches hold `sketches_per_batch` sketches adds."""
    before = _free_gpu_memory()
    torch.cuda.reset_peak_memory_stats()
    runner.generate(
        IMAGES,
        out,
        levels=(2,),
        seeds=tuple(range(sketches_per_batch)),
        max_batch_sketches=sketches_per_batch,
        **SETTINGS,
    )
    return torch.cuda.max_memory_allocated() - before


def test_out_of_memory_halves_the_batch_until_it_fits(tmp_path, monkeypatch):
    one, two = _peak_bytes(tmp_path / "one", 1), _peak_bytes(tmp_path / "two", 2)
    per_sketch, fixed = two - one, 2 * one - two
    assert per_sketch > 0

    sizes: list[int] = []
    real = batch_worker.optimize_sketches

    def counted(jobs, *args, **kwargs):
        sizes.append(len(jobs))
        return real(jobs, *args, **kwargs)

    monkeypatch.setattr(batch_worker, "optimize_sketches", counted)  # counts; the work is real
    total = torch.cuda.get_device_properties(0).total_memory
    room = _free_gpu_memory() + fixed + 3 * per_sketch
    torch.cuda.set_per_process_memory_fraction(room / total)
    try:
        out = runner.generate(
            IMAGES,
            tmp_path / "tight",
            levels=(2, 4),
            seeds=(0, 1),
            max_batch_sketches=8,
            **SETTINGS,
        )
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()

    # 8 ran out of memory, then each half of 4 did, and each of those halves (2) fit
    assert sizes == [8, 4, 2, 2, 4, 2, 2], sizes
    assert len(pd.read_csv(out / "stimuli.csv")) == 4
