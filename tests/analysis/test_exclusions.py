"""Timeouts are no answer, and a rule that cannot run says so (hand-made tables with one
known change each)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.accuracy import accuracy_table
from analysis.compare import compare_none
from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.responses import answer_category, options_per_condition, read_responses
from analysis.sdt_observer import simulate_responses
from tests.conftest import TEST_DATA

TINY = TEST_DATA / "analysis" / "tiny_responses.csv"


def _tiny_with(tmp_path, drop_columns=(), **rows) -> pd.DataFrame:
    """tiny_responses.csv with some rows changed ({row index: {column: value}}), read back."""
    table = pd.read_csv(TINY).drop(columns=list(drop_columns))
    for index, values in rows.items():
        for column, value in values.items():
            table[column] = table[column].astype(object)
            table.loc[int(index), column] = value
    table.to_csv(tmp_path / "responses.csv", index=False)
    return read_responses(tmp_path / "responses.csv")


TIMEOUT_ROW = {"response": "timeout", "correct": 0, "is_none": 0, "rt_ms": 20500}


def test_a_timed_out_test_trial_is_neither_right_nor_wrong(tmp_path):
    # Row 9 is p2's 4-stroke dog, answered right; timing it out removes it from the cell.
    before = accuracy_table(apply_exclusions(read_responses(TINY)).trials, pooled=True)
    trials = _tiny_with(tmp_path, **{"9": TIMEOUT_ROW})
    assert answer_category(trials).iloc[9] == "timeout"
    result = apply_exclusions(trials, ExclusionRules(time_limit_s=20))
    after = accuracy_table(result.trials, pooled=True)
    cell = (after["condition"] == "without_none") & (after["n_strokes"] == 4)
    assert int(after.loc[cell, "n_trials"].iloc[0]) == int(before.loc[cell, "n_trials"].iloc[0]) - 1
    assert (
        int(after.loc[cell, "n_correct"].iloc[0]) == int(before.loc[cell, "n_correct"].iloc[0]) - 1
    )
    row = result.table.set_index("rule").loc["timed out (answer)"]
    assert (row["sessions_excluded"], row["test_trials_excluded"]) == (0, 1)
    assert "20 s" in row["setting"]


def test_too_many_timeouts_excludes_the_session(tmp_path):
    trials = _tiny_with(tmp_path, **{"9": TIMEOUT_ROW})
    result = apply_exclusions(trials, ExclusionRules(max_timeouts=0))
    row = result.table.set_index("rule").loc["too many timeouts (participant)"]
    assert (row["sessions_excluded"], row["test_trials_excluded"]) == (1, 4)
    assert "p2" not in set(result.trials["participant_id"])


def test_a_timed_out_foil_is_not_a_false_alarm():
    trials = simulate_responses(
        4_000, 200, foils_per_participant=4, attention_per_participant=0, seed=3
    )
    foils = trials.index[trials["trial_type"] == "foil"]
    timed_out = foils[::3]
    trials.loc[timed_out, ["response", "correct", "is_none"]] = ["timeout", 0, 0]
    kept = apply_exclusions(trials, ExclusionRules(min_median_rt_ms=None, min_rt_ms=None)).trials
    comparison = compare_none(kept, options_per_condition(trials)).set_index("n_strokes")
    answered = trials.loc[foils.difference(timed_out)]
    for level, rows in answered.groupby("n_strokes"):
        expected = 1 - rows["is_none"].mean()
        assert comparison.loc[level, "false_alarm_rate"] == pytest.approx(expected)


def test_rules_that_cannot_run_say_not_applied(tmp_path):
    trials = _tiny_with(tmp_path, drop_columns=["rt_ms", "session_id"])
    no_checks = trials[trials["trial_type"] != "attention"].reset_index(drop=True)
    table = apply_exclusions(no_checks).table.set_index("rule")
    for rule in (
        "duplicate participant id",
        "failed attention checks",
        "too fast (participant)",
        "too fast (answer)",
    ):
        assert table.loc[rule, "setting"].startswith("not applied"), rule
        assert pd.isna(table.loc[rule, "sessions_excluded"]), rule
        assert pd.isna(table.loc[rule, "test_trials_excluded"]), rule
    assert not pd.isna(table.loc["incomplete session", "sessions_excluded"])  # this one can


def _study_responses(tmp_path, participants: int = 40) -> tuple[pd.DataFrame, Path]:
    """A simulated study through the study's own design (10 test images per session)."""
    from analysis.study_simulation import as_responses, simulate_study
    from analysis.study_simulation import study_design as design_of
    from study.config import load_study
    from study.response_model import ResponseModel
    from study.synthetic import write_synthetic_study

    study_yaml = write_synthetic_study(tmp_path / "study")
    design = design_of(load_study(study_yaml, verify_images=False))
    logit = {c: {lv: 1.0 + 0.5 * np.log2(lv / 4) - (c == "with_none") for lv in (4, 8, 16, 32)}
             for c in ("without_none", "with_none")}  # fmt: skip
    rng = np.random.default_rng(1)
    study = simulate_study(design, participants, ResponseModel(logit), rng)
    return as_responses(study, design, "p"), study_yaml


def test_one_stray_extra_row_does_not_make_every_other_session_incomplete(tmp_path):
    """Without a participants table, a session was complete only if as long as the longest:
    one duplicated row (a table without trial_index) left 1 of 40 participants."""
    table, _ = _study_responses(tmp_path)
    table = table.drop(columns=["trial_index"])
    stray = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    result = apply_exclusions(stray)
    row = result.table.set_index("rule").loc["incomplete session"]
    assert row["sessions_excluded"] == 0 and result.participants_included == 40
    assert row["setting"] == (
        "fewer test trials than the modal 10 test trials, as 39 of 40 sessions do"
    )
    short = table[~((table["participant_id"] == "p7") & (table["n_strokes"] == 32))]
    assert apply_exclusions(short).table.set_index("rule").loc[
        "incomplete session", "sessions_excluded"] == 1  # fmt: skip


def test_sessions_are_judged_against_the_study_design(tmp_path, run_sketchlab):
    """Everyone stopped after 8 of the design's 10 test images: with study.yaml they are all
    incomplete, and `analyze` says so and stops instead of writing an empty report."""
    table, study_yaml = _study_responses(tmp_path)
    table[table["trial_index"] < 8].to_csv(tmp_path / "responses.csv", index=False)
    code, out, err = run_sketchlab(
        "analyze", tmp_path / "responses.csv", "--study", study_yaml, "--out", tmp_path / "r"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the exclusions would remove 40 of 40 participants" in err
    assert "incomplete session: 40); every test answer." in err and "--allow-exclusions" in err
    assert not (tmp_path / "r").exists()
    result = apply_exclusions(
        read_responses(tmp_path / "responses.csv"), ExclusionRules(design_test_trials=10)
    )
    assert result.complete_length == "the design's 10 test trials (study.yaml)"


def test_a_level_missing_from_one_condition_is_never_dropped_silently(tmp_path, run_sketchlab):
    """No 32-stroke answers without "none": that condition's sessions are shorter, so the
    incomplete rule would take the whole condition (and with it the comparison)."""
    table, _ = _study_responses(tmp_path)
    cut = table[~((table["condition"] == "without_none") & (table["n_strokes"] == 32))]
    cut.to_csv(tmp_path / "responses.csv", index=False)
    code, _, err = run_sketchlab("analyze", tmp_path / "responses.csv", "--out", tmp_path / "r")
    assert code == 2 and "; every test answer of without_none." in err
    assert "would remove 20 of 40 participants (50%, more than 10%;" in err
    assert not (tmp_path / "r").exists()

    code, _, err = run_sketchlab(
        "analyze", tmp_path / "responses.csv", "--out", tmp_path / "r", "--allow-exclusions",
        "--n-boot", "50",
    )  # fmt: skip
    assert code == 0 and "warning: the exclusions removed every test answer of without_none" in err
    page = (tmp_path / "r" / "index.html").read_text()
    first = page[page.index("<p class='summary'>") : page.index("</p>", page.index("summary"))]
    assert "Analysed: 20 of 40 participants (20 of 40 sessions)" in first
    assert "incomplete session 20" in first and "duplicate participant id" in first
    assert "too fast (answer)" in first  # every rule is counted, applied or not
    assert "Large exclusions, allowed with --allow-exclusions" in page


def test_keep_incomplete_labels_the_terms_that_were_fitted(tmp_path, run_sketchlab, r_lme4):
    """Kept, the data have no 32-stroke answers without "none": glmer used to drop
    level32:with_none silently and label the with-"none" odds 'without "none"'."""
    table, _ = _study_responses(tmp_path, participants=80)
    cut = table[~((table["condition"] == "without_none") & (table["n_strokes"] == 32))]
    cut.to_csv(tmp_path / "responses.csv", index=False)
    code, _, err = run_sketchlab(
        "analyze", tmp_path / "responses.csv", "--out", tmp_path / "r", "--keep-incomplete",
        "--n-boot", "50",
    )  # fmt: skip
    assert code == 0, err
    terms = pd.read_csv(tmp_path / "r" / "mixed_model.csv").set_index(["model", "term"])
    assert terms.loc[("levels", "level32"), "meaning"] == (
        'odds of a right answer with "none", at 32 strokes'
    )
    assert np.isfinite(terms.loc[("levels", "level32"), "estimate"])
    contrast = terms.loc[("levels", "level32:with_none")]
    assert contrast["note"] == 'not estimable: no answers without "none" at 32 strokes'
    assert terms.loc[("levels", "level16"), "meaning"] == (
        'odds of a right answer without "none", at 16 strokes'
    )
    page = (tmp_path / "r" / "index.html").read_text()
    assert 'not estimable: no answers without "none" at 32 strokes' in page


def test_an_interrupted_trial_leaves_the_analysis_and_is_counted(tmp_path):
    # Row 9 is p2's 4-stroke dog; its connection was lost while it was on screen.
    table = pd.read_csv(TINY).assign(interrupted_ms=0)
    table.loc[9, "interrupted_ms"] = 13_000
    table.to_csv(tmp_path / "responses.csv", index=False)
    trials = read_responses(tmp_path / "responses.csv")
    before = apply_exclusions(read_responses(TINY)).trials
    result = apply_exclusions(trials)
    assert len(result.trials) == len(before) - 1
    row = result.table.set_index("rule").loc["interrupted (answer)"]
    assert (row["sessions_excluded"], row["test_trials_excluded"]) == (0, 1)
    kept = apply_exclusions(trials, ExclusionRules(interrupted=False)).trials
    assert len(kept) == len(before), "switchable"


def test_without_interruption_times_the_rule_says_it_was_not_applied():
    table = apply_exclusions(read_responses(TINY)).table.set_index("rule")
    assert table.loc["interrupted (answer)", "setting"].startswith("not applied")
