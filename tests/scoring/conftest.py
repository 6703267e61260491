"""Fixtures of the scoring tests: a random-weight tiny CLIP and run folders of scribbles.

Models are random-weight tiny open_clip configs (`ViT-tiny-32`): the maths and plumbing are
the same as for real checkpoints, the accuracies are meaningless.
"""

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from scoring.scorer import Scorer, load_scorer

CLASSES = ["car", "cat", "dog", "horse"]
TEST_MODEL = "ViT-tiny-32"


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    return load_scorer(TEST_MODEL, None, device="cpu")


@pytest.fixture
def make_stimuli():
    """`make_stimuli(folder, ...)` writes a run folder and returns its stimuli.csv."""
    return write_stimuli


def write_stimuli(folder, n_per_class=2, classes=CLASSES, loss_model="RN101/openai"):
    """A run folder with black-on-white PNG scribbles (every third one RGBA with a transparent
    background, as some tools save them) and its stimuli.csv."""
    rng = np.random.default_rng(1)
    (folder / "png").mkdir(parents=True)
    rows = []
    for c, name in enumerate(classes):
        for i in range(n_per_class):
            k = c * n_per_class + i
            transparent = k % 3 == 0
            image = Image.new(
                "RGBA" if transparent else "RGB",
                (224, 224),
                (0, 0, 0, 0) if transparent else "white",
            )
            draw = ImageDraw.Draw(image)
            for _ in range(4 + 4 * i):
                points = [tuple(p) for p in rng.uniform(10, 214, size=(4, 2)).tolist()]
                draw.line(points, fill=(0, 0, 0, 255) if transparent else "black", width=3)
            image.save(folder / "png" / f"{k}.png")
            rows.append(
                {
                    "stimulus_id": f"{name}-{i}",
                    "image_id": f"{name}_photo",
                    "class": name,
                    "n_strokes": 4 if i == 0 else 32,
                    "seed": 0,
                    "method": "clipasso",
                    "svg_path": f"svg/{k}.svg",
                    "png_path": f"png/{k}.png",
                    "loss_model": loss_model,
                }
            )
    pd.DataFrame(rows).to_csv(folder / "stimuli.csv", index=False)
    return folder / "stimuli.csv"
