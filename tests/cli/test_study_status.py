"""`sketchlab study status` as a user runs it: after simulated participants, as a table and
as JSON; and its bad input."""

import json
import shutil

from tests.cli.test_study import run
from tests.conftest import TEST_DATA


def test_status_shows_every_cell_with_totals(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(TEST_DATA / "study", folder)
    study_yaml = str(folder / "study.yaml")
    code, _, err = run(monkeypatch, capsys, "study", "simulate", study_yaml, "-n", "24")
    assert code == 0, err

    code, out, err = run(monkeypatch, capsys, "study", "status", study_yaml)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("study test-study at ")
    assert "completed" in lines[1] and "failed attention" in lines[1]
    assert sum(line.split()[0] in ("with_none", "without_none") for line in lines) == 8
    totals_row = next(line.split() for line in lines if line.split()[0] == "all")

    code, out, err = run(monkeypatch, capsys, "study", "status", study_yaml, "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert len(figures["cells"]) == 8
    totals = figures["totals"]
    assert [int(n) for n in totals_row[2:6]] == [
        totals["completed"],
        totals["in_progress"],
        totals["timed_out"],
        totals["failed_attention"],
    ]
    assert totals["completed"] > 0
    assert figures["declined"] + sum(totals.values()) == 24, "every participant counted once"


def test_status_of_a_missing_study_file_is_exit_2(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "study", "status", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml" in err
