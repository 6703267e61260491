"""Timeouts are no answer, and a rule that cannot run says so (hand-made tables with one
known change each)."""

import pandas as pd
import pytest

from analysis.accuracy import accuracy_table
from analysis.compare import compare_none
from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.responses import answer_category, options_per_condition, read_responses
from analysis.synthetic import simulate_responses
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
