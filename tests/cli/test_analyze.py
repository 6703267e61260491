"""`sketchlab analyze` from the command line: a report, and one clear sentence for bad input."""

import sys

import pandas as pd
import pytest

from sketchlab import cli
from tests.conftest import TEST_DATA

TINY = TEST_DATA / "analysis" / "tiny_responses.csv"


def run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["sketchlab", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code or 0, capsys.readouterr().err


def test_analyze_writes_report_and_keeps_it_when_a_later_run_fails(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    code, _ = run(monkeypatch, capsys, "analyze", TINY, "--out", out, "--n-boot", "100")
    assert code == 0
    assert (out / "index.html").is_file() and (out / "accuracy.csv").is_file()
    page = (out / "index.html").read_text()
    assert "Not fitted: too little data" in page  # 16 test trials: the model says why it is absent
    before = (out / "accuracy.csv").read_bytes()

    broken = tmp_path / "broken.csv"
    pd.read_csv(TINY).drop(columns=["correct"]).to_csv(broken, index=False)
    code, err = run(monkeypatch, capsys, "analyze", broken, "--out", out)
    assert code == 2 and "'correct'" in err
    assert (out / "accuracy.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "report"]


def _bad_inputs(tmp_path):
    table = pd.read_csv(TINY)
    cases = {}

    def write(name: str, frame: pd.DataFrame) -> None:
        frame.to_csv(tmp_path / name, index=False)
        cases[name] = tmp_path / name

    write("missing_column.csv", table.drop(columns=["n_strokes"]))
    write(
        "unknown_condition.csv",
        table.assign(condition=table["condition"].replace("with_none", "maybe_none")),
    )
    strokes = table["n_strokes"].astype(object)
    strokes.iloc[5] = "eight"
    write("non_numeric.csv", table.assign(n_strokes=strokes))
    write("header_only.csv", table.iloc[:0])
    (tmp_path / "empty.csv").write_text("")
    cases["empty.csv"] = tmp_path / "empty.csv"
    return cases


EXPECTED = {
    "missing_column.csv": "n_strokes",
    "unknown_condition.csv": "condition",
    "non_numeric.csv": "n_strokes",
    "header_only.csv": "no trials",
    "empty.csv": "empty",
}


def test_every_bad_responses_file_gives_one_sentence_and_exit_2(tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, path in _bad_inputs(inputs).items():
        out = tmp_path / f"report-{name}"
        code, err = run(monkeypatch, capsys, "analyze", path, "--out", out)
        assert code == 2, name
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sketchlab: "), err
        assert name in lines[0] and EXPECTED[name] in lines[0], lines[0]
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # no report, no temp folder


def test_non_numeric_strokes_names_the_row(tmp_path, monkeypatch, capsys):
    path = _bad_inputs(tmp_path)["non_numeric.csv"]
    _, err = run(monkeypatch, capsys, "analyze", path, "--out", tmp_path / "r")
    assert "row 7" in err and "'eight'" in err


def test_scores_that_do_not_join_are_refused(tmp_path, monkeypatch, capsys):
    scores = pd.DataFrame(
        {
            "stimulus_id": ["elsewhere-1", "elsewhere-2"],
            "class": ["cat", "dog"],
            "n_strokes": [4, 8],
            "model": "ViT-B-32",
            "pretrained": "openai",
            "prompt_set": "photo",
            "correct_top1": [1, 0],
        }
    )
    scores.to_csv(tmp_path / "scores.csv", index=False)
    code, err = run(
        monkeypatch,
        capsys,
        "analyze",
        TINY,
        "--scores",
        tmp_path / "scores.csv",
        "--out",
        tmp_path / "r",
    )
    assert code == 2 and "scores.csv" in err and "stimulus_id" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]
