"""Free naming (study/trial_types/naming.py) beside forced choice: accuracy per stroke level of
the naming condition next to the forced-choice conditions', with the same interval for all
three (the report's headline interval per condition: two-way participant x image design effect,
Jeffreys at the effective number of answers, t on fewer clusters - 1 degrees of freedom;
analysis/gap_interval.py), and how the typed answers were matched.

A typed answer that matched no class and has not been coded (`study code`) counts as wrong:
the naming accuracy is then a lower bound, and the report says how many such answers there are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.gap_interval import gap_intervals
from sketchlab.contracts import CONDITIONS, TEST, TIMEOUT
from study.trial_types.naming import NAMING
from study.trial_types.naming_match import MATCHES, UNMATCHED

NAMING_COLUMNS = (
    "condition", "n_strokes", "n_trials", "n_correct", "accuracy", "ci_low", "ci_high",
    "unmatched",
)  # fmt: skip
"""naming.csv: per condition (naming, then the forced-choice ones) and level: answers, right
answers, accuracy and its interval, and (naming) the answers still unmatched and uncoded."""


def naming_rows(trials: pd.DataFrame) -> pd.DataFrame:
    """The naming condition's naming trials that were answered (not timed out)."""
    rows = trials[(trials["trial_type"] == NAMING) & (trials["response"] != TIMEOUT)]
    return rows.assign(n_strokes=rows["n_strokes"].astype(int))


def accuracy_beside_forced_choice(trials: pd.DataFrame) -> pd.DataFrame:
    """NAMING_COLUMNS per level for the naming trials and the forced-choice test trials."""
    named = naming_rows(trials)
    tests = trials[(trials["trial_type"] == TEST) & (trials["response"] != TIMEOUT)]
    tests = tests.assign(n_strokes=tests["n_strokes"].astype(int))
    parts = [(NAMING, named)] + [
        (condition, tests[tests["condition"] == condition])
        for condition in CONDITIONS
        if (tests["condition"] == condition).any()
    ]
    rows = []
    for condition, answers in parts:
        if answers.empty:
            continue
        image_column = "image_id" if "image_id" in answers.columns else "stimulus_id"
        found = gap_intervals(
            answers["correct"].to_numpy(),
            np.zeros(len(answers), dtype=np.int64),
            answers["n_strokes"].to_numpy(),
            pd.factorize(answers["participant_id"].astype(str))[0],
            pd.factorize(answers[image_column].astype(str))[0],
        )
        unmatched = (
            answers.get("naming_match", pd.Series(index=answers.index, dtype=object)) == UNMATCHED
        )
        for i, level in enumerate(found.levels):
            at_level = answers["n_strokes"].to_numpy() == level
            rows.append(
                (
                    condition,
                    int(level),
                    int(found.answers[i, 0]),
                    int(answers["correct"].to_numpy()[at_level].sum()),
                    float(found.accuracy[i, 0]),
                    float(found.accuracy_low[i, 0]),
                    float(found.accuracy_high[i, 0]),
                    int(unmatched.to_numpy()[at_level].sum()) if condition == NAMING else 0,
                )
            )
    return pd.DataFrame(rows, columns=list(NAMING_COLUMNS))


def match_counts(trials: pd.DataFrame) -> dict[str, int]:
    """How the naming answers were matched: answers per kind (naming_match.MATCHES)."""
    kinds = naming_rows(trials).get("naming_match", pd.Series(dtype=object)).astype(str)
    return {kind: int((kinds == kind).sum()) for kind in MATCHES}
