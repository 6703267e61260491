"""Reading the responses table: its types, its answers, and which columns the analysis keeps."""

import numpy as np
import pandas as pd
import pytest

from analysis.responses import (
    ANALYSED_COLUMNS,
    SET_ASIDE_COLUMNS,
    analysed_columns,
    answer_category,
    read_responses,
)
from analysis.sdt_observer import simulate_responses
from sketchlab.contracts import RESPONSE_COLUMNS
from sketchlab.errors import BadInput


def test_every_export_column_is_analysed_or_set_aside_for_a_reason():
    """A column `study export` writes reaches the analysis unless a rule here leaves it out on
    purpose: a new export column fails this test until it is put in one list."""
    analysed, set_aside = set(ANALYSED_COLUMNS), set(SET_ASIDE_COLUMNS)
    assert analysed | set_aside == set(RESPONSE_COLUMNS), "an export column is in neither list"
    assert not analysed & set_aside
    assert all(len(why.split()) >= 5 for why in SET_ASIDE_COLUMNS.values())
    assert "rt_ms" in analysed


def test_the_analysis_keeps_its_columns_in_order_and_only_those_the_table_has():
    exported = pd.DataFrame(columns=[*reversed(RESPONSE_COLUMNS), "from_another_tool"])
    assert analysed_columns(exported) == list(ANALYSED_COLUMNS)
    assert analysed_columns(exported.drop(columns=["rt_ms", "image_id"])) == [
        column for column in ANALYSED_COLUMNS if column not in ("rt_ms", "image_id")
    ]


def test_read_responses_types_every_column(tmp_path):
    path = tmp_path / "responses.csv"
    simulate_responses(200, 10, foils_per_participant=1, seed=1).to_csv(path, index=False)
    table = read_responses(path)
    assert set(table.columns) >= set(ANALYSED_COLUMNS)
    assert table["rt_ms"].dtype == float and table["n_strokes"].dtype == float
    assert table["correct"].dtype == np.int8 and table["is_none"].dtype == np.int8
    assert all(table[c].dtype == "category" for c in ("participant_id", "condition", "response"))


def test_an_answer_time_that_is_no_number_names_the_file_row_and_column(tmp_path):
    trials = simulate_responses(40, 2, attention_per_participant=0, seed=1)
    trials["rt_ms"] = trials["rt_ms"].astype(object)
    trials.loc[1, "rt_ms"] = "slow"
    path = tmp_path / "responses.csv"
    trials.to_csv(path, index=False)
    with pytest.raises(BadInput, match=r"responses.csv: row 3 column 'rt_ms' is not a number"):
        read_responses(path)


def test_each_answer_is_right_wrong_none_or_no_answer():
    trials = pd.DataFrame(
        {
            "correct": [1, 0, 0, 0],
            "is_none": [0, 0, 1, 0],
            "response": ["cat", "dog", "none", "timeout"],
        }
    )
    assert answer_category(trials).tolist() == ["correct", "wrong", "none", "timeout"]
