"""Answer times per condition x level: the median of participant medians, with an interval
over participants."""

import numpy as np
import pandas as pd

from analysis.reaction_time import RT_COLUMNS, reaction_times


def answers(times_by_participant: dict[str, list[float]], level: int = 4) -> pd.DataFrame:
    """Test answers of the with-"none" condition at one level, with these answer times."""
    rows = [
        {"participant_id": who, "condition": "with_none", "n_strokes": level, "rt_ms": rt}
        for who, times in times_by_participant.items()
        for rt in times
    ]
    return pd.DataFrame(rows)


def test_each_participant_counts_once_however_many_answers_they_gave():
    """Nine people answer in 1 s; one slow person gives 50 answers of 5 s. The answers' median
    would be 5 s; the typical participant's is 1 s."""
    times = {f"p{i}": [900.0, 1100.0] for i in range(9)} | {"slow": [5000.0] * 50}
    table = reaction_times(answers(times))
    assert list(table.columns) == RT_COLUMNS
    (row,) = table.itertuples()
    assert np.median(answers(times)["rt_ms"]) == 5000.0
    assert row.median_rt_ms == 1000.0 and row.participants == 10 and row.n_answers == 68
    assert row.ci_low <= 1000.0 <= row.ci_high


def test_the_interval_is_the_order_statistics_of_the_participant_medians():
    """For 20 participants the distribution-free 95% interval of a median runs from the 6th to
    the 15th smallest value (binomial(20, 1/2): 95.9% coverage)."""
    table = reaction_times(answers({f"p{i}": [100.0 * i] for i in range(1, 21)}))
    assert (table["ci_low"].item(), table["ci_high"].item()) == (600.0, 1500.0)


def test_below_six_participants_there_is_no_95_interval():
    table = reaction_times(answers({f"p{i}": [1000.0 + i] for i in range(5)}))
    assert table["median_rt_ms"].item() == 1002.0
    assert table[["ci_low", "ci_high"]].isna().all(axis=None)


def test_answers_without_a_time_are_left_out_and_no_times_give_no_table():
    trials = answers({"a": [1000.0, np.nan], "b": [np.nan]})
    assert reaction_times(trials)["n_answers"].tolist() == [1]
    assert reaction_times(trials.assign(rt_ms=np.nan)).empty
    assert reaction_times(trials.drop(columns="rt_ms")).empty


def test_cells_come_in_the_conditions_order_then_by_level():
    trials = pd.concat(
        [
            answers({"a": [1000.0]}, level=8),
            answers({"b": [1200.0]}, level=4).assign(condition="without_none"),
            answers({"a": [900.0]}, level=4),
        ]
    )
    table = reaction_times(trials)
    assert list(zip(table["condition"], table["n_strokes"], strict=True)) == [
        ("without_none", 4), ("with_none", 4), ("with_none", 8),
    ]  # fmt: skip
