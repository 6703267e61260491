"""README's "Where things go", proved: a preset and a prompt set added only as entries of their
registries' data (temporary copies here, no other file changed) show up in `--help`, in the
docs table check and in a real `generate` and `score` run."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

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
    files = [PRESETS_FILE, PROMPTS_FILE, *(REPO / "docs").glob("*.md"), REPO / "README.md"]
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
    for path, data in zip(paths, (presets, prompts)):
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
