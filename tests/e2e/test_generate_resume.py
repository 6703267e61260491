"""Killed with SIGKILL mid-run and rerun, `sketchlab generate` finishes the missing sketches
without redoing finished ones, and no file that looks complete is half-written."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from PIL import Image

from sketchgen.svg import read_svg
from tests.conftest import TEST_DATA

SKETCHLAB = [sys.executable, "-m", "sketchlab"]
ARGS = [
    "--levels",
    "2",
    "3",
    "--seeds",
    "0",
    "1",
    "--method",
    "xdog",
    "--init",
    "edges",
    "--preset",
    "demo",
    "--iterations",
    "20",
    "--device",
    "cpu",
    "--batch-sketches",
    "1",
    "--no-progress",
]


def _markers(out: Path) -> dict[Path, tuple[int, str]]:
    return {p: (p.stat().st_mtime_ns, p.read_text()) for p in (out / "seeds").rglob("*.json")}


def test_kill_9_mid_run_then_rerun_finishes_without_redoing_sketches(tmp_path):
    out = tmp_path / "run"
    for name in ("duck.jpg", "duck_mask.png"):
        shutil.copy(TEST_DATA / "generate" / name, tmp_path / name)
    (tmp_path / "images.csv").write_text(
        "image_id,class,path,mask_path\nduck,bird,duck.jpg,duck_mask.png\n"
    )
    command = [*SKETCHLAB, "generate", str(tmp_path / "images.csv"), *ARGS, "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "seeds").exists() or not list((out / "seeds").rglob("*.json")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no sketch finished within 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = _markers(out)
    assert 1 <= len(finished) < 4, "the kill must land mid-run"

    # whatever is there and not hidden is complete
    for path in out.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            {
                ".json": lambda p: json.loads(p.read_text()),
                ".svg": read_svg,
                ".png": lambda p: Image.open(p).load(),
                ".csv": pd.read_csv,
            }[path.suffix](path)

    rerun = subprocess.run(command, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    after = _markers(out)
    assert len(after) == 4
    assert {p: after[p] for p in finished} == finished  # not one finished sketch redone
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert len(stimuli) == 2
    for row in stimuli.to_dict("records"):
        assert read_svg(out / row["svg_path"]).points.shape[0] == row["n_strokes"]
        assert (out / row["png_path"]).is_file()
    run = json.loads((out / "run.json").read_text())
    assert len(run["sessions"]) == 2
    assert not [p for p in out.rglob("*.tmp") if not p.name.startswith(".")]
    assert (out / "sheets" / "duck.png").is_file() and (out / "done" / "duck.json").is_file()
