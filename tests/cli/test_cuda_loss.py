"""`sketchlab loss --device cuda` gives the CPU's numbers (fp32, the same random RN101)."""

import json

import pytest
from typer.testing import CliRunner

from sketchlab import cli
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.cuda

PHOTO = TEST_DATA / "method" / "photo.png"
SKETCH = TEST_DATA / "method" / "clipasso_4strokes.svg"


def _loss(device: str, augmentations: int) -> dict:
    result = CliRunner().invoke(
        cli.app,
        [
            "loss",
            str(PHOTO),
            str(SKETCH),
            "--weights",
            "random",
            "--augmentations",
            str(augmentations),
            "--device",
            device,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("augmentations", [0, 4])
def test_cuda_loss_equals_cpu_loss(augmentations):
    cpu, cuda = _loss("cpu", augmentations), _loss("cuda", augmentations)
    for term in ("total", "layer2", "layer3", "semantic"):
        assert cuda[term] == pytest.approx(cpu[term], rel=1e-4), term
