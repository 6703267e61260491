"""`sketchlab analyze` from the command line: a report, and one clear sentence for bad input."""

import json
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
    code, _ = run(
        monkeypatch, capsys, "analyze", TINY, "--out", out, "--n-boot", "100",
        "--allow-exclusions",  # 3 of its 7 participants are excluded on purpose
    )  # fmt: skip
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

    # Answers that contradict themselves or the screen (CSV row = table index + 2).
    write("duplicate_trial.csv", pd.concat([table, table.iloc[[9]]], ignore_index=True))
    write("not_an_option.csv", _edit(table, 3, response="horse"))
    write("none_without_none.csv", _edit(table, 3, response="none", is_none=1))
    write("correct_contradicts.csv", _edit(table, 3, correct=1))
    write("is_none_contradicts.csv", _edit(table, 14, is_none=0))
    write("one_option.csv", _edit(table, 3, options_shown="cat"))
    one_class = table[table["true_class"] == "cat"].drop(columns=["options_shown"])
    write("one_class_no_options.csv", one_class)
    return cases


def _edit(table: pd.DataFrame, index: int, **values) -> pd.DataFrame:
    table = table.copy()
    for column, value in values.items():
        table[column] = table[column].astype(object)
        table.loc[index, column] = value
    return table


EXPECTED = {
    "missing_column.csv": ["n_strokes"],
    "unknown_condition.csv": ["condition"],
    "non_numeric.csv": ["n_strokes"],
    "header_only.csv": ["no trials"],
    "empty.csv": ["empty"],
    "duplicate_trial.csv": ["row 46", "'trial_index'", "row 11", "counted twice"],
    "not_an_option.csv": ["row 5", "'response'", "'horse'", "not among the options"],
    "none_without_none.csv": ["row 5", "'response'", "without_none"],
    "correct_contradicts.csv": ["row 5", "'correct'", "'cat'", "'dog'"],
    "is_none_contradicts.csv": ["row 16", "'is_none'", "'none'"],
    "one_option.csv": ["row 5", "'options_shown'", "fewer than 2"],
    "one_class_no_options.csv": ["row 2", "'options_shown'", "fewer than 2"],
}


@pytest.mark.parametrize("name", EXPECTED)
def test_every_bad_responses_file_gives_one_sentence_and_exit_2(
    name, tmp_path, monkeypatch, capsys
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path = _bad_inputs(inputs)[name]
    code, err = run(monkeypatch, capsys, "analyze", path, "--out", tmp_path / "report")
    assert code == 2, name
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sketchlab: "), err
    assert name in lines[0] and all(part in lines[0] for part in EXPECTED[name]), lines[0]
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]  # no report, no temp folder


def test_thresholds_come_from_the_study_file(tmp_path, monkeypatch, capsys):
    from study.synthetic import write_synthetic_study

    study_yaml = write_synthetic_study(tmp_path / "study", max_attention_failures=1)
    out = tmp_path / "report"
    # The tiny table is not that study's data (4 test trials, the study has 10): its
    # sessions are kept whole here, this test is about the attention threshold.
    options = ("--keep-incomplete", "--allow-exclusions")
    code, err = run(
        monkeypatch, capsys, "analyze", TINY, "--study", study_yaml, "--out", out, *options
    )
    assert code == 0, err
    exclusions = pd.read_csv(out / "exclusions.csv").set_index("rule")
    assert exclusions.loc["failed attention checks", "setting"] == "more than 1 wrong"
    assert exclusions.loc["failed attention checks", "sessions_excluded"] == 0  # p5 erred once
    code, _ = run(
        monkeypatch, capsys, "analyze", TINY, "--study", study_yaml, "--out", out,
        "--max-attention-errors", "0", *options,
    )  # fmt: skip
    exclusions = pd.read_csv(out / "exclusions.csv").set_index("rule")
    assert code == 0 and exclusions.loc["failed attention checks", "sessions_excluded"] == 1


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


def test_exported_study_with_timeouts_validates_and_counts_them(tmp_path, monkeypatch, capsys):
    """`study simulate` + `study export` output (timeouts included) is valid input."""
    from study.synthetic import write_synthetic_study

    study_yaml = write_synthetic_study(tmp_path / "study", time_limit_s=2.0)
    responses = tmp_path / "responses.csv"
    for args in (
        ("study", "simulate", study_yaml, "-n", "24"),
        ("study", "export", study_yaml, "--out", responses),
        ("analyze", responses, "--study", study_yaml, "--out", tmp_path / "report"),
    ):
        code, err = run(monkeypatch, capsys, *args)
        assert code == 0, err
    timed_out = (pd.read_csv(responses)["response"] == "timeout").sum()
    assert timed_out > 0
    exclusions = pd.read_csv(tmp_path / "report" / "exclusions.csv").set_index("rule")
    assert "2 s" in exclusions.loc["timed out (answer)", "setting"]
    assert 0 < exclusions.loc["timed out (answer)", "test_trials_excluded"] <= timed_out


def test_bench_analysis_reports_the_report_and_the_model(tmp_path, monkeypatch, capsys, r_lme4):
    out = tmp_path / "bench.json"
    code, err = run(
        monkeypatch, capsys, "bench", "analysis", "--trials", "600", "--participants", "30",
        "--model-trials", "600", "--json", out,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["report_s"] > 0 and result["steps_s"]["mixed_model"] > 0
    model = result["model"]
    assert model["fitted"] and model["trials"] == 600 and "Laplace" in model["method"]
    assert model["goal_s"] == 120 and model["seconds"] >= model["r_fit_s"] > 0
    assert len(result["load_average"]) == 3
