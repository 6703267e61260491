"""Answer times of the test answers per condition x stroke level, participants as the unit.

Each participant's median answer time at a level comes first; the cell's value is the median
of those medians, with a distribution-free 95% interval (the order statistics of the
participant medians, scipy's `quantile_test`). A participant counts once however many
answers they gave, so the interval is as wide as people differ, not as narrow as their
answers are many; answer times are skewed, so medians, not means.
"""

import numpy as np
import pandas as pd
from scipy.stats import quantile_test

from sketchlab.contracts import CONDITIONS

RT_COLUMNS = [
    "condition", "n_strokes", "participants", "n_answers", "median_rt_ms", "ci_low", "ci_high",
]  # fmt: skip
"""reaction_times.csv: the median of the participant medians (ms) with its 95% interval."""


def reaction_times(tests: pd.DataFrame) -> pd.DataFrame:
    """RT_COLUMNS per condition x level of the included test answers (`accuracy.test_trials`
    with `rt_ms`; answers without a time are left out). Bounds are NaN below 6 participants
    (too few for a 95% interval); the table is empty without answer times."""
    timed = tests[tests["rt_ms"].notna()] if "rt_ms" in tests else tests.iloc[:0]
    if timed.empty:
        return pd.DataFrame(columns=RT_COLUMNS)
    per_person = timed.groupby(
        ["condition", "n_strokes", "participant_id"], observed=True, sort=True
    )["rt_ms"].agg(["median", "size"])
    rows = []
    for (condition, level), cell in per_person.groupby(level=[0, 1], observed=True, sort=True):
        medians = cell["median"].to_numpy()
        center = float(np.median(medians))
        interval = quantile_test(medians, q=center, p=0.5).confidence_interval(0.95)
        rows.append(
            {
                "condition": str(condition),
                "n_strokes": int(level),
                "participants": len(medians),
                "n_answers": int(cell["size"].sum()),
                "median_rt_ms": center,
                "ci_low": float(interval.low),
                "ci_high": float(interval.high),
            }
        )
    table = pd.DataFrame(rows, columns=RT_COLUMNS)
    order = table["condition"].map({condition: i for i, condition in enumerate(CONDITIONS)})
    return table.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)
