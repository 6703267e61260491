"""Killed with SIGKILL mid-run and rerun, `sketchlab generate` finishes the missing sketches
without redoing finished ones, and no file that looks complete is half-written."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from PIL import Image

from conftest import TEST_DATA
from sketchgen.svg import read_svg

SKETCHLAB = [sys.executable, "-m", "sketchlab"]
ARGS = ["generate", str(TEST_DATA / "generate" / "images.csv"), "--levels", "2", "3",
        "--seeds", "0", "1", "--method", "xdog", "--init", "edges", "--preset", "demo",
        "--iterations", "40", "--device", "cpu", "--batch-sketches", "1", "--no-progress"]


def _markers(out: Path) -> dict[Path, tuple[int, str]]:
    return {p: (p.stat().st_mtime_ns, p.read_text()) for p in (out / "seeds").rglob("*.json")}


def test_kill_9_mid_run_then_rerun_finishes_without_redoing_sketches(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([*SKETCHLAB, *ARGS, "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "seeds").exists() or len(list((out / "seeds").rglob("*.json"))) < 2:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no sketch finished within 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = _markers(out)
    assert 2 <= len(finished) < 8, "the kill must land mid-run"

    # whatever is there and not hidden is complete
    for path in out.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            {".json": lambda p: json.loads(p.read_text()), ".svg": read_svg,
             ".png": lambda p: Image.open(p).load(), ".csv": pd.read_csv}[path.suffix](path)

    rerun = subprocess.run([*SKETCHLAB, *ARGS, "--out", str(out)], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    after = _markers(out)
    assert len(after) == 8
    assert {p: after[p] for p in finished} == finished  # not one finished sketch redone
    stimuli = pd.read_csv(out / "stimuli.csv")
    assert len(stimuli) == 4
    for row in stimuli.to_dict("records"):
        assert read_svg(out / row["svg_path"]).points.shape[0] == row["n_strokes"]
        assert (out / row["png_path"]).is_file()
    run = json.loads((out / "run.json").read_text())
    assert len(run["sessions"]) == 2
    assert not [p for p in out.rglob("*.tmp") if not p.name.startswith(".")]
    assert os.path.isfile(out / "sheets" / "duck.png") and os.path.isfile(out / "sheets" / "sedan.png")
