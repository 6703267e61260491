"""`--executor ray` on a local 2-worker Ray cluster writes the same run as the local executor."""

import pandas as pd
import pytest
import ray
import torch

from sketchgen.runner import generate
from sketchgen.svg import read_svg
from tests.conftest import TEST_DATA

SETTINGS = {
    "levels": (2, 3),
    "seeds": (0, 1),
    "method": "xdog",
    "init": "edges",
    "preset": "demo",
    "iterations": 15,
    "device": "cpu",
    "progress": False,
}


@pytest.fixture
def local_ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow  # a local Ray cluster starts and stops: ~30 s
def test_ray_executor_gives_the_same_sketches_as_the_local_one(tmp_path, local_ray_cluster):
    images = TEST_DATA / "generate" / "images.csv"
    local = generate(images, tmp_path / "local", executor="local", **SETTINGS)
    on_ray = generate(images, tmp_path / "ray", executor="ray", **SETTINGS)
    a, b = pd.read_csv(local / "stimuli.csv"), pd.read_csv(on_ray / "stimuli.csv")
    assert len(a) == 4
    same = [
        "stimulus_id",
        "image_id",
        "n_strokes",
        "seed",
        "best_iteration",
        "iterations",
        "svg_path",
        "png_path",
    ]
    pd.testing.assert_frame_equal(a[same], b[same])
    pd.testing.assert_series_equal(a["final_loss"], b["final_loss"], rtol=1e-5)
    for path in a["svg_path"]:
        torch.testing.assert_close(
            read_svg(on_ray / path).points, read_svg(local / path).points, atol=1e-3, rtol=0
        )
    for image_id in ("duck", "sedan"):
        assert (on_ray / "sheets" / f"{image_id}.png").is_file()
