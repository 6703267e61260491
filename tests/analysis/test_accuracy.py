"""Accuracy tables, exclusions and the participant bootstrap against hand-computed answers."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.accuracy import ACCURACY_COLUMNS, accuracy_table, cluster_bootstrap
from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.responses import options_per_condition, read_responses, validate_responses
from analysis.sdt_observer import simulate_responses
from tests.conftest import TEST_DATA

TINY = TEST_DATA / "analysis" / "tiny_responses.csv"

# Hand count of tiny_responses.csv after the default exclusions (p1's second session, p5's
# failed attention check, p6's unfinished session, p7's 100 ms answers and p2's 120 ms
# answer removed): (condition, class, strokes) -> (trials, correct).
HAND_COUNTS = {
    ("without_none", "cat", 4): (2, 1),
    ("without_none", "cat", 8): (2, 2),
    ("without_none", "dog", 4): (2, 1),
    ("without_none", "dog", 8): (1, 1),
    ("with_none", "cat", 4): (2, 1),
    ("with_none", "cat", 8): (2, 2),
    ("with_none", "dog", 4): (2, 1),
    ("with_none", "dog", 8): (2, 1),
}


@pytest.fixture(scope="module")
def tiny():
    return read_responses(TINY)


def test_accuracy_table_matches_hand_counts_and_statsmodels_wilson(tiny):
    table = accuracy_table(apply_exclusions(tiny).trials)
    assert list(table.columns) == ACCURACY_COLUMNS
    got = {(r.condition, r._2, r.n_strokes): (r.n_trials, r.n_correct) for r in table.itertuples()}
    assert got == HAND_COUNTS
    assert list(table["condition"].unique()) == ["without_none", "with_none"]
    low, high = proportion_confint(
        table["n_correct"], table["n_trials"], alpha=0.05, method="wilson"
    )
    np.testing.assert_allclose(table["ci_low"], low)
    np.testing.assert_allclose(table["ci_high"], high)
    np.testing.assert_allclose(table["accuracy"], table["n_correct"] / table["n_trials"])


def test_pooled_table_sums_classes_per_level(tiny):
    pooled = accuracy_table(apply_exclusions(tiny).trials, pooled=True)
    assert list(pooled.columns) == ACCURACY_COLUMNS
    assert set(pooled["class"]) == {"all"}
    got = {(r.condition, r.n_strokes): (r.n_trials, r.n_correct) for r in pooled.itertuples()}
    assert got == {
        ("without_none", 4): (4, 2),
        ("without_none", 8): (3, 3),
        ("with_none", 4): (4, 2),
        ("with_none", 8): (4, 3),
    }


def test_wilson_worked_example_from_reference():
    table = accuracy_table(
        validate_responses(
            pd.DataFrame(
                {
                    "participant_id": [f"p{i}" for i in range(100)],
                    "condition": "with_none",
                    "trial_type": "test",
                    "true_class": "cat",
                    "n_strokes": 4,
                    "response": ["cat"] * 36 + ["none"] * 64,
                    "correct": [1] * 36 + [0] * 64,
                }
            )
        )
    )
    assert table.loc[0, "ci_low"] == pytest.approx(0.273, abs=5e-4)
    assert table.loc[0, "ci_high"] == pytest.approx(0.458, abs=5e-4)


def test_exclusions_are_listed_with_counts_in_order(tiny):
    result = apply_exclusions(tiny)
    applied = result.table[result.table["rule"] != "interrupted (answer)"]  # no such column
    counts = dict(
        zip(
            applied["rule"],
            zip(applied["sessions_excluded"], applied["test_trials_excluded"], strict=True),
            strict=True,
        )
    )
    assert counts == {
        "duplicate participant id": (1, 4),
        "failed attention checks": (1, 4),
        "incomplete session": (1, 2),
        "too fast (participant)": (1, 4),
        "timed out (answer)": (0, 0),
        "too fast (answer)": (0, 1),
    }
    assert (result.sessions_total, result.sessions_included) == (8, 4)
    assert set(result.trials["session_id"]) == {"p1-a", "p2-a", "p3-a", "p4-a"}


def test_each_exclusion_can_be_switched_off(tiny):
    everything = ExclusionRules(
        duplicates=False,
        max_attention_errors=None,
        incomplete=False,
        min_median_rt_ms=None,
        min_rt_ms=None,
        interrupted=False,
    )
    result = apply_exclusions(tiny, everything)
    assert list(result.table["rule"]) == ["timed out (answer)"]  # not answers: never counted
    assert result.sessions_included == 8
    assert int((result.trials["trial_type"] == "test").sum()) == 30


def test_duplicate_keeps_the_first_complete_session(tiny):
    # p1's first session made incomplete: the later, complete one is kept instead.
    frame = tiny[~((tiny["session_id"] == "p1-a") & (tiny["true_class"] == "dog"))]
    kept = apply_exclusions(frame.reset_index(drop=True)).trials
    assert set(kept.loc[kept["participant_id"] == "p1", "session_id"]) == {"p1-b"}


def test_participants_table_status_decides_completion(tiny):
    status = pd.DataFrame(
        {
            "participant_id": ["p1", "p1", "p2", "p3", "p4", "p5", "p6", "p7"],
            "session_id": ["p1-a", "p1-b", "p2-a", "p3-a", "p4-a", "p5-a", "p6-a", "p7-a"],
            "status": [
                "completed",
                "completed",
                "completed",
                "in_progress",
                "completed",
                "completed",
                "completed",
                "completed",
            ],
        }
    )
    result = apply_exclusions(tiny, participants=status)
    assert "p3" not in set(result.trials["participant_id"])
    assert "p6" in set(result.trials["participant_id"])  # finished per the table, though short


def test_chance_uses_buttons_shown(tiny):
    assert options_per_condition(tiny) == {"without_none": 2, "with_none": 3}


def test_cluster_bootstrap_is_wider_than_wilson_when_participants_differ():
    trials = simulate_responses(
        6000, 120, participant_sd=1.5, image_sd=0.0, attention_per_participant=0, seed=3
    )
    pooled = accuracy_table(trials, pooled=True)
    boot = cluster_bootstrap(trials, n_boot=400, seed=1)
    again = cluster_bootstrap(trials, n_boot=400, seed=1)
    pd.testing.assert_frame_equal(boot, again)
    merged = pooled.merge(boot, on=["condition", "class", "n_strokes"])
    assert len(merged) == len(pooled)
    assert (merged["boot_low"] <= merged["accuracy"]).all() and (
        merged["accuracy"] <= merged["boot_high"]
    ).all()
    four = merged[merged["n_strokes"] == 4]
    assert ((four["boot_high"] - four["boot_low"]) > 1.3 * (four["ci_high"] - four["ci_low"])).all()


def test_parquet_and_csv_give_the_same_tables(tiny, tmp_path):
    pd.read_csv(TINY, dtype={"list_id": str}).to_parquet(tmp_path / "tiny.parquet", index=False)
    from_parquet = read_responses(tmp_path / "tiny.parquet")
    pd.testing.assert_frame_equal(
        accuracy_table(apply_exclusions(from_parquet).trials),
        accuracy_table(apply_exclusions(tiny).trials),
    )
