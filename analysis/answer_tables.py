"""How the test answers split: by kind of answer (composition) and by class (confusions).

Both are tables of the report (answer_composition.csv, confusion.csv) and the data of its
figures (`analysis.figures`).
"""

import pandas as pd

from analysis.responses import answer_category
from sketchlab.contracts import ANSWER_CATEGORIES, CORRECT, NONE, TEST, TIMEOUT, WRONG

CONFUSION_KEYS = ["condition", "n_strokes", "true_class"]


def confusion_table(tests: pd.DataFrame) -> pd.DataFrame:
    """Counts per condition x level x true class x response (test trials), and `share`: the
    count over that true class's answers at that condition and level (a confusion matrix's
    row sums to 1)."""
    counts = tests.groupby([*CONFUSION_KEYS, "response"], observed=True).size()
    table = counts.rename("n").reset_index()
    table = table.assign(
        **{column: table[column].astype(str) for column in ("condition", "true_class", "response")}
    )
    table["n_strokes"] = table["n_strokes"].astype(int)
    table["share"] = table["n"] / table.groupby(CONFUSION_KEYS)["n"].transform("sum")
    return table


def answer_composition(tests: pd.DataFrame, timed_out: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of right, wrong-class, "none" and timed-out answers per condition x level among
    the test trials shown (`timed_out`: the timed-out test trials, which are no answer)."""
    trials = (
        tests
        if timed_out is None or timed_out.empty
        else pd.concat([tests, timed_out[timed_out["trial_type"] == TEST]], ignore_index=True)
    )
    answers = pd.crosstab(
        [trials["condition"].astype(str), trials["n_strokes"].astype(int)],
        answer_category(trials),
    ).reindex(columns=list(ANSWER_CATEGORIES), fill_value=0)
    table = answers.div(answers.sum(axis=1), axis=0)
    table.insert(0, "n", answers.sum(axis=1))
    table = table.rename(columns={WRONG: "wrong class"}).reset_index()
    table.columns.name = None
    return table.rename(columns={"row_0": "condition", "row_1": "n_strokes"})[
        ["condition", "n_strokes", "n", CORRECT, "wrong class", NONE, TIMEOUT]
    ]
