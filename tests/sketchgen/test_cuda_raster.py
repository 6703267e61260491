"""The rasterizer on CUDA: on every diffvg reference scene, the image and gradient equal the
CPU's and stay within the diffvg agreement bars (the bars of test_raster_agreement.py)."""

import json

import pytest

from sketchgen.raster_agreement import agreement, load_scene, render_and_grad
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.cuda

SCENES = TEST_DATA / "diffvg"
SCENE_FILES = [row["file"] for row in json.loads((SCENES / "index.json").read_text())]


def within_agreement_bars(figures: dict[str, float]) -> bool:
    return (
        figures["frac_pixels_off"] <= 0.001
        and figures["mean_abs_diff"] <= 0.0005
        and figures["grad_cos"] >= 0.95
        and 0.7 <= figures["grad_norm_ratio"] <= 1.3
    )


@pytest.mark.parametrize("name", SCENE_FILES)
def test_cuda_image_and_gradient_equal_the_cpus(name):
    scene = load_scene(SCENES / name)
    cpu_image, cpu_grad = render_and_grad(scene, device="cpu")
    cuda_image, cuda_grad = render_and_grad(scene, device="cuda")

    against_cpu = agreement({**scene, "image": cpu_image, "grad": cpu_grad}, cuda_image, cuda_grad)
    assert within_agreement_bars(against_cpu), against_cpu
    assert within_agreement_bars(agreement(scene, cuda_image, cuda_grad))
