"""The rasterizer on CUDA: on every diffvg reference scene, the image and gradient equal the
CPU's and stay within the diffvg agreement bars (`within_agreement_bars`)."""

import json

import pytest

from sketchgen.raster_agreement import (
    agreement,
    load_scene,
    render_and_grad,
    within_agreement_bars,
)
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.cuda

SCENES = TEST_DATA / "diffvg"
SCENE_FILES = [row["file"] for row in json.loads((SCENES / "index.json").read_text())]


@pytest.mark.parametrize("name", SCENE_FILES)
def test_cuda_image_and_gradient_equal_the_cpus(name):
    scene = load_scene(SCENES / name)
    cpu_image, cpu_grad = render_and_grad(scene, device="cpu")
    cuda_image, cuda_grad = render_and_grad(scene, device="cuda")

    against_cpu = agreement({**scene, "image": cpu_image, "grad": cpu_grad}, cuda_image, cuda_grad)
    assert within_agreement_bars(against_cpu), against_cpu
    assert within_agreement_bars(agreement(scene, cuda_image, cuda_grad))
