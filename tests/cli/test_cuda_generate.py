"""`sketchlab generate --device cuda` end to end on 2 photos: the run folder has the form of
the CPU's (same files, columns, settings and sketch shapes), for the weight-free xdog method
and for clipasso with random RN101 and ViT-B/32 weights (the saliency init runs on CUDA too)."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from sketchgen.svg import read_svg
from sketchlab.cli import main
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.cuda

PHOTOS = TEST_DATA / "generate"
METHODS = {
    "xdog": ["--method", "xdog", "--preset", "demo", "--init", "edges"],
    "clipasso": [
        "--method",
        "clipasso",
        "--preset",
        "paper",
        "--weights",
        "random",
        "--saliency-weights",
        "random",
    ],
}


def _generate(out: Path, method: str, device: str) -> Path:
    argv = ["sketchlab", "generate", str(PHOTOS / "images.csv"), "--out", str(out)]
    argv += ["--levels", "4", "--seeds", "0", "--iterations", "2", "--no-progress"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", [*argv, *METHODS[method], "--device", device])
        with pytest.raises(SystemExit) as exit_:
            main()
    assert exit_.value.code in (0, None)
    return out


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_cuda_run_folder_has_the_form_of_the_cpus(tmp_path, method):
    cpu = _generate(tmp_path / "cpu", method, "cpu")
    cuda = _generate(tmp_path / "cuda", method, "cuda")

    assert _files(cuda) == _files(cpu)
    cpu_rows, cuda_rows = pd.read_csv(cpu / "stimuli.csv"), pd.read_csv(cuda / "stimuli.csv")
    assert list(cuda_rows.columns) == list(cpu_rows.columns)
    same = ["stimulus_id", "image_id", "class", "n_strokes", "seed", "method", "svg_path"]
    assert cuda_rows[same].equals(cpu_rows[same])
    assert set(cuda_rows["device"]) == {"cuda"} and set(cpu_rows["device"]) == {"cpu"}
    assert cuda_rows["final_loss"].notna().all() and (cuda_rows["iterations"] <= 2).all()
    for row in cuda_rows.to_dict("records"):
        assert read_svg(cuda / row["svg_path"]).points.shape == (row["n_strokes"], 4, 2)
        with Image.open(cuda / row["png_path"]) as png, Image.open(cpu / row["png_path"]) as ref:
            assert png.size == ref.size
    cpu_run, cuda_run = (json.loads((f / "run.json").read_text()) for f in (cpu, cuda))
    assert cuda_run["settings"] == cpu_run["settings"]
    assert cuda_run["sessions"][0].keys() == cpu_run["sessions"][0].keys()
    assert cuda_run["sessions"][0]["device"] == "cuda"
    assert cuda_run["sessions"][0]["models"] == cpu_run["sessions"][0]["models"]
