"""`sketchlab generate` end to end (weight-free xdog method) and every bad input it refuses."""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from sketchgen.svg import read_svg
from sketchlab.cli import main
from sketchlab.contracts import STIMULI_COLUMNS
from tests.conftest import TEST_DATA

PHOTOS = TEST_DATA / "generate"
QUICK = [
    "--method",
    "xdog",
    "--init",
    "edges",
    "--preset",
    "demo",
    "--iterations",
    "12",
    "--device",
    "cpu",
    "--no-progress",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A small finished xdog run: 2 photos x levels 2, 4 x seeds 0, 1 (12 iterations)."""
    out = tmp_path_factory.mktemp("run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            sys,
            "argv",
            [
                "sketchlab",
                "generate",
                str(PHOTOS / "images.csv"),
                "--levels",
                "2",
                "4",
                "--seeds",
                "0",
                "1",
                "--out",
                str(out),
                *QUICK,
            ],
        )
        with pytest.raises(SystemExit) as exit_:
            main()
    assert exit_.value.code in (0, None)
    return out


def test_xdog_run_writes_every_output_of_a_run_folder(finished_run):
    stimuli = pd.read_csv(finished_run / "stimuli.csv")
    assert tuple(stimuli.columns) == STIMULI_COLUMNS
    assert list(zip(stimuli["image_id"], stimuli["n_strokes"], strict=True)) == [
        ("duck", 2),
        ("duck", 4),
        ("sedan", 2),
        ("sedan", 4),
    ]
    assert set(stimuli["method"]) == {"xdog"} and set(stimuli["preset"]) == {"demo"}
    assert set(stimuli["class"]) == {"bird", "car"}
    for row in stimuli.to_dict("records"):
        sketch = read_svg(finished_run / row["svg_path"])
        assert sketch.points.shape == (row["n_strokes"], 4, 2)
        assert Image.open(finished_run / row["png_path"]).size == (448, 448)
        seeds = [
            json.loads(
                (
                    finished_run
                    / "seeds"
                    / row["image_id"]
                    / f"{row['n_strokes']}strokes_seed{s}.json"
                ).read_text()
            )
            for s in (0, 1)
        ]
        assert row["final_loss"] == pytest.approx(min(s["loss"] for s in seeds))
        assert row["seed"] == min(seeds, key=lambda s: s["loss"])["seed"]
        assert row["seconds"] > 0 and row["device"] == "cpu" and row["iterations"] <= 12
        curve = pd.read_csv(
            finished_run
            / "curves"
            / row["image_id"]
            / f"{row['n_strokes']}strokes_seed{row['seed']}.csv"
        )
        assert len(curve) == row["iterations"] and curve["eval_total"].notna().iloc[0]
        assert curve.loc[row["best_iteration"], "eval_total"] == pytest.approx(row["final_loss"])
    for image_id in ("duck", "sedan"):
        assert Image.open(finished_run / "sheets" / f"{image_id}.png").width > 448
        assert (finished_run / "curves" / f"{image_id}.png").stat().st_size > 0
    run = json.loads((finished_run / "run.json").read_text())
    assert run["settings"]["levels"] == [2, 4] and run["settings"]["init"] == "edges"
    assert run["sessions"][0]["versions"]["torch"] == torch.__version__.split("+")[0] or run[
        "sessions"
    ][0]["versions"]["torch"].startswith(torch.__version__.split("+")[0])
    assert run["sessions"][0]["models"]["loss"]["name"] == "xdog"


def test_rerunning_a_finished_run_changes_nothing(finished_run, run_sketchlab):
    before = {p: p.stat().st_mtime_ns for p in finished_run.rglob("*") if p.name != "stimuli.csv"}
    code, _, _ = run_sketchlab(
        "generate",
        PHOTOS / "images.csv",
        "--levels",
        2,
        4,
        "--seeds",
        0,
        1,
        "--out",
        finished_run,
        *QUICK,
    )
    assert code == 0
    after = {p: p.stat().st_mtime_ns for p in finished_run.rglob("*") if p.name != "stimuli.csv"}
    assert after == before


def test_init_svg_starts_every_seed_from_its_strokes(finished_run, tmp_path, run_sketchlab):
    start = finished_run / "seeds" / "duck" / "4strokes_seed1.svg"
    code, _, err = run_sketchlab(
        "generate",
        PHOTOS / "images.csv",
        "--init",
        start,
        "--seeds",
        0,
        1,
        "--out",
        tmp_path / "run",
        "--method",
        "xdog",
        "--preset",
        "demo",
        "--iterations",
        1,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert code == 0, err
    stimuli = pd.read_csv(tmp_path / "run" / "stimuli.csv")
    assert stimuli["n_strokes"].tolist() == [4, 4] and stimuli["best_iteration"].tolist() == [0, 0]
    for path in stimuli["svg_path"]:  # one iteration: the kept iterate is the start itself
        torch.testing.assert_close(read_svg(tmp_path / "run" / path).points, read_svg(start).points)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["settings"]["init"] == "svg"


def _write_csv(folder: Path, text: str) -> Path:
    for name in ("duck.jpg", "duck_mask.png", "sedan.jpg"):
        shutil.copy(PHOTOS / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.new("L", (10, 10), 255).save(folder / "small_mask.png")
    path = folder / "images.csv"
    path.write_text(text)
    return path


HEADER = "image_id,class,path,mask_path\n"
GOOD = HEADER + "duck,bird,duck.jpg,duck_mask.png\n"
BAD_INPUTS = {
    "missing image": (HEADER + "duck,bird,gone.jpg,\n", [], ["row 2", "path", "gone.jpg"]),
    "unreadable image": (HEADER + "duck,bird,broken.jpg,\n", [], ["row 2", "broken.jpg"]),
    "empty csv": ("", [], ["images.csv"]),
    "no rows": (HEADER, [], ["no images"]),
    "no class column": ("image_id,path\nduck,duck.jpg\n", [], ["class"]),
    "duplicate image id": (GOOD + "duck,car,sedan.jpg,\n", [], ["row 3", "image_id", "duck"]),
    "mask of wrong size": (
        HEADER + "duck,bird,duck.jpg,small_mask.png\n",
        [],
        ["row 2", "mask_path", "small_mask.png"],
    ),
    "level 0": (GOOD, ["--levels", "0", "4"], ["--levels 0"]),
    "level 1025": (GOOD, ["--levels", "4", "1025"], ["--levels 4 1025", "1025 is out of range"]),
    "unknown preset": (GOOD, ["--preset", "slow"], ["--preset", "slow"]),
    "unknown model": (
        GOOD,
        ["--method", "clipasso", "--loss-model", "RN999", "--weights", "random"],
        ["RN999"],
    ),
    "bad device": (GOOD, ["--device", "tpu"], ["--device", "tpu"]),
    "unknown renderer": (GOOD, ["--renderer", "cairo"], ["--renderer 'cairo'", "torch or diffvg"]),
    "weights not downloadable": (GOOD, ["--method", "clipasso"], ["RN101", "download"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_sentence_exit_2_and_leaves_the_run_folder_alone(
    case, finished_run, tmp_path, monkeypatch, run_sketchlab
):
    from huggingface_hub import constants

    from sketchgen import models

    csv_text, extra, expected = BAD_INPUTS[case]
    # offline with empty caches, even on a machine that has the weights or a network
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(models, "OPENAI_URL_CACHE", tmp_path / "clip")
    images_csv = _write_csv(tmp_path, csv_text)
    # a model problem is only found after the run folder's own settings check, so those
    # cases go to a new folder, which must still not exist afterwards
    out = tmp_path / "new_run" if "--method" in extra else finished_run
    before = {p: p.stat().st_mtime_ns for p in finished_run.rglob("*")}
    args = ["--levels", "2", "4", "--seeds", "0", "1", *QUICK]
    code, _, err = run_sketchlab("generate", images_csv, "--out", out, *args, *extra)
    assert code == 2, err
    assert "Traceback" not in err
    # the test photos are smaller than the canvas: warnings about them may come first
    errors = [line for line in err.splitlines() if not line.startswith("sketchlab: warning: ")]
    assert len(errors) == 1 and errors[0].startswith("sketchlab: ")
    for word in expected:
        assert word in err
    assert {p: p.stat().st_mtime_ns for p in finished_run.rglob("*")} == before
    assert not (tmp_path / "new_run").exists()


def test_other_settings_in_an_existing_run_folder_are_refused(finished_run, run_sketchlab):
    code, _, err = run_sketchlab(
        "generate",
        PHOTOS / "images.csv",
        "--levels",
        2,
        8,
        "--seeds",
        0,
        1,
        "--out",
        finished_run,
        *QUICK,
    )
    assert code == 2 and "levels" in err and "new --out" in err


@pytest.mark.slow  # a finished run, edited, resumed per setting: ~12 s each
@pytest.mark.parametrize("setting", ["precision", "loss_weights"])
def test_a_run_folder_from_before_a_setting_was_recorded_still_resumes(
    setting, finished_run, tmp_path, run_sketchlab
):
    """Settings added later (precision, then each loss term's weight) are taken at the value
    such a folder was made with; another recorded weight is refused."""
    old = tmp_path / "old"
    shutil.copytree(finished_run, old)
    run = json.loads((old / "run.json").read_text())
    recorded = run["settings"].pop(setting)
    assert recorded == {"precision": "fp32", "loss_weights": {"edges": 1.0}}[setting]  # demo
    (old / "run.json").write_text(json.dumps(run))
    shutil.rmtree(old / "done")  # the images are finished again from their sketches' markers
    args = ["--levels", 2, 4, "--seeds", 0, 1, "--out", old, *QUICK]
    code, _, err = run_sketchlab("generate", PHOTOS / "images.csv", *args)
    assert code == 0, err
    assert len(pd.read_csv(old / "stimuli.csv")) == 4
    run["settings"]["loss_weights"] = {"edges": 2.0}
    (old / "run.json").write_text(json.dumps(run))
    code, _, err = run_sketchlab("generate", PHOTOS / "images.csv", *args)
    assert code == 2 and "loss_weights={'edges': 2.0}" in err and "new --out" in err


def test_gpu_out_of_memory_retries_smaller_batches_then_says_so(tmp_path, monkeypatch):
    from sketchgen import batch_worker, runner
    from sketchlab.errors import BadInput

    sizes = []
    real = batch_worker.optimize_sketches

    def tight_memory(jobs, *args, **kwargs):
        sizes.append(len(jobs))
        if len(jobs) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(jobs, *args, **kwargs)

    monkeypatch.setattr(batch_worker, "optimize_sketches", tight_memory)
    out = runner.generate(
        PHOTOS / "images.csv",
        tmp_path / "run",
        levels=(2, 3),
        seeds=(0, 1),
        preset="demo",
        init="edges",
        iterations=3,
        device="cpu",
        progress=False,
        max_batch_sketches=4,
    )
    assert sizes[:3] == [4, 2, 2] and len(pd.read_csv(out / "stimuli.csv")) == 4

    def no_memory(jobs, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(batch_worker, "optimize_sketches", no_memory)
    with pytest.raises(BadInput, match="ran out of memory"):
        runner.generate(
            PHOTOS / "images.csv",
            tmp_path / "run2",
            levels=(2,),
            seeds=(0,),
            preset="demo",
            init="edges",
            iterations=3,
            device="cpu",
            progress=False,
        )


def test_renderer_diffvg_without_pydiffvg_exits_2_saying_how_to_get_it(
    without_pydiffvg, tmp_path, run_sketchlab
):
    out = tmp_path / "run"
    args = ["--levels", "2", "--seeds", "0", *QUICK, "--renderer", "diffvg"]
    code, _, err = run_sketchlab("generate", PHOTOS / "images.csv", "--out", out, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--renderer diffvg needs pydiffvg" in err and "github.com/BachiLi/diffvg" in err
    assert not out.exists()


def test_a_run_folder_from_before_the_renderer_setting_resumes(
    finished_run, tmp_path, run_sketchlab
):
    old = tmp_path / "old_run"
    shutil.copytree(finished_run, old)
    run = json.loads((old / "run.json").read_text())
    del run["settings"]["renderer"]
    (old / "run.json").write_text(json.dumps(run))
    markers = {p: p.read_text() for p in old.rglob("*.json") if p.name != "run.json"}
    args = ["--levels", "2", "4", "--seeds", "0", "1", *QUICK]
    code, _, err = run_sketchlab("generate", PHOTOS / "images.csv", "--out", old, *args)
    assert code == 0, err
    assert {p: p.read_text() for p in markers} == markers


def test_renderer_diffvg_makes_the_sketches_torch_makes_and_is_kept_for_the_run(
    pydiffvg, finished_run, tmp_path, run_sketchlab
):
    """A short run drawn by pydiffvg: recorded in run.json, its loss that of the same sketch
    drawn by our renderer (the renderers agree; only diffvg's noisier gradients differ), and
    a resume with the other renderer is refused."""
    out = tmp_path / "run"
    args = ["--levels", "2", "--seeds", "0", *QUICK]
    images = _write_csv(tmp_path, GOOD)  # the duck, as in finished_run
    code, _, err = run_sketchlab("generate", images, "--out", out, *args, "--renderer", "diffvg")
    assert code == 0, err
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["renderer"] == "diffvg" and run["sessions"][0]["versions"]["diffvg"]
    [row] = pd.read_csv(out / "stimuli.csv").to_dict("records")
    assert row["stimulus_id"] == "duck_2strokes"
    assert Image.open(out / row["png_path"]).size == (448, 448)
    torch_loss = json.loads((finished_run / "seeds" / "duck" / "2strokes_seed0.json").read_text())
    assert row["final_loss"] == pytest.approx(torch_loss["loss"], rel=0.01), torch_loss
    code, _, err = run_sketchlab("generate", images, "--out", out, *args)
    assert code == 2 and "renderer='diffvg'" in err
