"""Throughput of `sketchlab score` next to open_clip's bare `encode_image` on the same batches.

Both run in one process on one loaded model, same batch size, device and precision, so the
ratio shows what reading PNGs, preprocessing, the text classifiers and the result table cost
on top of the image tower. Random weights (`weights="random"`, or `pretrained=None`) cost the
same compute as real ones, so the bench runs offline.
"""

from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw

from scoring.classifier import inference_autocast
from scoring.data import default_workers, open_sketch, read_stimuli
from scoring.prompts import load_prompt_sets
from scoring.scorer import encode_images, load_scorer, score_images
from sketchlab.errors import BadInput

BENCH_CLASSES = ("cat", "dog", "horse", "car", "chair")


def write_synthetic_sketches(folder: Path, n: int, *, size: int = 224, seed: int = 0) -> Path:
    """`n` black-on-white PNG scribbles (4-32 strokes, 3 px wide) and their stimuli.csv;
    returns the CSV."""
    rng = np.random.default_rng(seed)
    (folder / "png").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        n_strokes = int(rng.choice([4, 8, 16, 32]))
        image = Image.new("RGB", (size, size), "white")
        draw = ImageDraw.Draw(image)
        for _ in range(n_strokes):
            points = rng.uniform(10, size - 10, size=(4, 2)).round().tolist()
            draw.line([tuple(p) for p in points], fill="black", width=3, joint="curve")
        path = f"png/sketch_{i:05d}.png"
        image.save(folder / path)
        rows.append(
            {
                "stimulus_id": f"s{i:05d}",
                "image_id": f"img{i % 20:03d}",
                "class": BENCH_CLASSES[i % len(BENCH_CLASSES)],
                "n_strokes": n_strokes,
                "png_path": path,
            }
        )
    csv = folder / "stimuli.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


@torch.inference_mode()
def _bare_encode_seconds(
    model, batches: list[torch.Tensor], device: torch.device, amp: bool
) -> float:
    start = time.perf_counter()
    for batch in batches:
        with inference_autocast(device, amp):
            model.encode_image(batch.to(device, non_blocking=True))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _decode_seconds(preprocess, pngs: list[Path]) -> float:
    """Seconds to open and preprocess every PNG with one torch thread (a worker's setting)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        for path in pngs:
            preprocess(open_sketch(path))
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


def bench_score(
    *,
    model_name: str = "ViT-B-32",
    pretrained: str | None = None,
    weights: str | None = None,
    batch_size: int = 32,
    n_sketches: int = 128,
    device: str = "auto",
    prompts: tuple[str, ...] = ("photo",),
    workers: int | None = None,
    threads: int | None = 2,
    repeats: int = 2,
) -> dict:
    """Sketches/s of bare `encode_image`, of score's per-sketch path (`encode_images`: PNG
    decoding, preprocessing, encoding) and of the whole `score_images` call (adds the text
    classifiers, a fixed cost per run, and the result table); best of `repeats`.

    `threads` sets torch's CPU threads (the bench machine's cores are shared); None leaves it.
    """
    if batch_size < 1 or n_sketches < 1:
        raise BadInput("--batch-size and --n-sketches must be at least 1")
    if threads:
        torch.set_num_threads(threads)
    prompt_sets = load_prompt_sets(prompts)
    scorer = load_scorer(model_name, pretrained, weights=weights, device=device)
    model, resolved = scorer.model, scorer.device
    with tempfile.TemporaryDirectory(prefix="sketchlab-bench-score-") as tmp:
        csv = write_synthetic_sketches(Path(tmp), n_sketches)
        stimuli, pngs = read_stimuli(csv)
        warm = torch.randn(min(batch_size, n_sketches), 3, 224, 224)
        _bare_encode_seconds(model, [warm], resolved, True)  # warm-up: allocator, kernels

        batches = [
            torch.randn(min(batch_size, n_sketches - i), 3, 224, 224)
            for i in range(0, n_sketches, batch_size)
        ]
        decode_s = _decode_seconds(scorer.preprocess, pngs)
        bare, images, full = [], [], []
        for _ in range(repeats):
            bare.append(_bare_encode_seconds(model, batches, resolved, True))
            start = time.perf_counter()
            encode_images(
                model,
                scorer.preprocess,
                pngs,
                batch_size=batch_size,
                device=resolved,
                workers=workers,
            )
            images.append(time.perf_counter() - start)
            start = time.perf_counter()
            score_images(
                scorer,
                stimuli,
                pngs,
                prompt_sets=prompt_sets,
                batch_size=batch_size,
                workers=workers,
            )
            full.append(time.perf_counter() - start)
    bare_rate = n_sketches / min(bare)
    image_rate = n_sketches / min(images)
    score_rate = n_sketches / min(full)
    return {
        "bench": "score",
        "model": model_name,
        "pretrained": scorer.pretrained,
        "device": str(resolved),
        "device_name": torch.cuda.get_device_name(resolved)
        if resolved.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "n_sketches": n_sketches,
        "prompt_sets": [p.name for p in prompt_sets],
        "decode_workers": default_workers(resolved) if workers is None else workers,
        "repeats": repeats,
        "bare_encode_image_sketches_per_s": round(bare_rate, 2),
        "score_image_path_sketches_per_s": round(image_rate, 2),
        "score_sketches_per_s": round(score_rate, 2),
        "ratio_image_path": round(image_rate / bare_rate, 3),
        "ratio_whole_call": round(score_rate / bare_rate, 3),
        "goal_ratio": 0.9,
        "text_classifier_seconds": round(max(min(full) - min(images), 0.0), 3),
        # Noise-free view of the overhead: CPU cost of reading + preprocessing one PNG (one
        # thread, as in a DataLoader worker) against the model's time per sketch.
        "decode_preprocess_ms_per_sketch": round(1000 * decode_s / n_sketches, 2),
        "encode_image_ms_per_sketch": round(1000 / bare_rate, 2),
        "bare_seconds": [round(s, 3) for s in bare],
        "image_path_seconds": [round(s, 3) for s in images],
        "score_seconds": [round(s, 3) for s in full],
    }
