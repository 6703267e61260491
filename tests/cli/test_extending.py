"""README's "Where things go", proved: a preset and a prompt set added only as entries of their
registries' data (temporary copies here, no other file changed) show up in `--help`, in the
docs table check and in a real `generate` and `score` run; a plot added only as an entry of the
figure registry shows up in the report `analyze` builds and in the docs table check."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.figures import FIGURES, Figure
from analysis.sdt_observer import simulate_responses
from scoring.prompts import PROMPT_SETS, PROMPTS_FILE
from sketchgen.presets import PRESETS, PRESETS_FILE
from sketchlab import doc_tables
from tests.conftest import REPO, TEST_DATA

TINY = {
    "description": "A newcomer's preset: three XDoG steps at 2 strokes.",
    "method": "xdog",
    "augmentations": 0,
    "iterations": 3,
    "levels": [2],
    "seeds": [0],
}
DOODLE = {"description": "A newcomer's prompt set.", "templates": ["a doodle of a {c}.", "{c}!"]}
# a fresh process whose registries read the given files, then `sketchlab ARGS`
DRIVER = """
import sys
from pathlib import Path
from scoring.prompts import PROMPT_SETS
from sketchgen.presets import PRESETS
PRESETS.source, PROMPT_SETS.source = Path(sys.argv[1]), Path(sys.argv[2])
from sketchlab.cli import main
sys.argv = ["sketchlab", *sys.argv[3:]]
main()
"""


def _fingerprint() -> dict[str, str]:
    files = [
        PRESETS_FILE,
        PROMPTS_FILE,
        *(REPO / "docs").glob("*.md"),
        REPO / "README.md",
        *(REPO / "analysis").rglob("*.py"),
    ]
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


@pytest.fixture
def extended(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Temporary copies of presets.json with `tiny` and prompts.json with `doodle`, read by
    the registries for this test."""
    presets = json.loads(PRESETS_FILE.read_text())
    presets["presets"]["tiny"] = {"base": PRESETS.default, **TINY}
    prompts = json.loads(PROMPTS_FILE.read_text())
    prompts["prompt_sets"]["doodle"] = DOODLE
    paths = tmp_path / "presets.json", tmp_path / "prompts.json"
    for path, data in zip(paths, (presets, prompts), strict=True):
        path.write_text(json.dumps(data))
    monkeypatch.setattr(PRESETS, "source", paths[0])
    monkeypatch.setattr(PROMPT_SETS, "source", paths[1])
    return paths


def test_a_new_preset_and_prompt_set_reach_help_docs_and_runs(extended, tmp_path, run_sketchlab):
    before = _fingerprint()

    code, shown, _ = run_sketchlab("generate", "--help")
    assert "tiny" in shown and TINY["description"].rstrip(".") in " ".join(shown.split())
    env = {**os.environ, "COLUMNS": "2000", "PYTHONPATH": str(REPO)}
    score_help = subprocess.run(
        [sys.executable, "-c", DRIVER, *map(str, extended), "score", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert score_help.returncode == 0, score_help.stderr
    assert "doodle" in score_help.stdout

    assert doc_tables.stale_tables(REPO) == ["presets", "prompt-sets"]
    assert f"| `tiny` | `{PRESETS.default}` | xdog | 2 | 0 | 3 |" in doc_tables.preset_table()
    docs = tmp_path / "repo"
    shutil.copytree(REPO / "docs", docs / "docs")
    assert doc_tables.write_tables(docs) == ["presets", "prompt-sets"]
    assert doc_tables.stale_tables(docs) == []
    assert "`doodle`" in (docs / "docs" / "scoring.md").read_text()

    images = TEST_DATA / "generate" / "images.csv"
    run = tmp_path / "run"
    quick = ["--init", "edges", "--device", "cpu", "--no-progress"]
    code, _, err = run_sketchlab("generate", images, "--out", run, "--preset", "tiny", *quick)
    assert code == 0, err
    stimuli = pd.read_csv(run / "stimuli.csv")
    assert set(stimuli["preset"]) == {"tiny"} and set(stimuli["n_strokes"]) == {2}
    assert stimuli["iterations"].max() <= TINY["iterations"]

    model = ["--model", "ViT-tiny-32", "--weights", "random", "--no-distractors", "--device", "cpu"]
    for asked, expected in (
        (["--prompts", "doodle"], {"doodle"}),
        ([], set(PROMPT_SETS.defaults)),  # a new set does not join the default by itself
    ):
        out = tmp_path / f"scores{len(asked)}.csv"
        code, _, err = run_sketchlab("score", run / "stimuli.csv", *model, *asked, "--out", out)
        assert code == 0, err
        assert set(pd.read_csv(out)["prompt_set"]) == expected

    assert _fingerprint() == before  # nothing but the temporary registry copies


def test_the_docs_tables_are_the_ones_the_registries_make():
    """Regenerate them with `python -m sketchlab.doc_tables` after adding an entry."""
    assert doc_tables.stale_tables(REPO) == []
    for name, (doc, make) in doc_tables.TABLES.items():
        assert f"<!-- table: {name} -->\n{make()}\n<!-- end table -->" in (REPO / doc).read_text()


def plot_trials_per_level(table: pd.DataFrame) -> plt.Figure:
    """A newcomer's plot: test trials per level, one bar per condition."""
    fig, ax = plt.subplots(figsize=(4, 3))
    for offset, (condition, rows) in zip((-0.2, 0.2), table.groupby("condition"), strict=True):
        ax.bar(np.arange(len(rows)) + offset, rows["n"], 0.4, label=condition)
    ax.set_xticks(np.arange(len(rows)), [f"{level} strokes" for level in rows["n_strokes"]])
    ax.legend()
    return fig


TRIALS_PER_LEVEL = Figure(
    section="accuracy",
    data=lambda results: results.composition[["condition", "n_strokes", "n"]],
    draw=plot_trials_per_level,
    caption="A newcomer's figure: how many test trials each condition had at each level.",
)


def test_a_new_plot_reaches_the_report_and_the_docs(tmp_path, monkeypatch, run_sketchlab):
    before = _fingerprint()
    monkeypatch.setitem(FIGURES, "trials_per_level", TRIALS_PER_LEVEL)

    responses = tmp_path / "responses.csv"
    simulate_responses(400, 16, attention_per_participant=0, seed=2).to_csv(responses, index=False)
    report = tmp_path / "report"
    fast = ["--n-boot", "20", "--model-exact-max-trials", "0"]
    code, _, err = run_sketchlab("analyze", responses, "--out", report, *fast)
    assert code == 0, err
    assert (report / "figures" / "trials_per_level.png").is_file()
    assert (report / "figures" / "trials_per_level.svg").is_file()
    page = (report / "index.html").read_text()
    accuracy = page.split("<h2>Accuracy by stroke count</h2>")[1].split("<h2>")[0]
    assert "<img alt='trials_per_level'" in accuracy
    assert "how many test trials each condition had at each level." in accuracy
    figures = accuracy.index("<img alt='accuracy_bars'"), accuracy.index("trials_per_level")
    assert figures[0] < figures[1]  # after the figures registered before it

    assert doc_tables.stale_tables(REPO) == ["figures"]
    row = "| `figures/trials_per_level.png` | `accuracy` | `tests.cli.test_extending.plot_"
    assert row in doc_tables.figure_table()
    docs = tmp_path / "repo"
    shutil.copytree(REPO / "docs", docs / "docs")
    assert doc_tables.write_tables(docs) == ["figures"]
    assert doc_tables.stale_tables(docs) == []

    assert _fingerprint() == before  # nothing but the temporary registry entry


def test_a_broken_registry_file_is_one_sentence_not_a_traceback(tmp_path):
    """The help texts read presets.json and prompts.json when the CLI starts: a newcomer's
    typo there is reported naming the file, with exit code 2, for any command."""
    broken = tmp_path / "prompts.json"
    broken.write_text('{"prompt_sets": {"doodle": ')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(PRESETS_FILE), str(broken), "study", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert run.returncode == 2
    assert run.stderr.startswith(f"sketchlab: {broken} is not a prompts file")
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
