"""Simulated answers of the trial types with analyses of their own: confidence ratings after
the measured answers and a free-naming condition, added to `sdt_observer` tables so that the
report's tests see every section and figure."""

import numpy as np
import pandas as pd

from analysis.sdt_observer import simulate_responses
from sketchlab.contracts import SIMULATED_PREFIX, TEST, TIMEOUT, WITHOUT_NONE


def named(n_participants: int, seed: int) -> pd.DataFrame:
    """A naming condition's answers: forced-choice answers of simulated people, typed instead
    (an eighth of the wrong ones typed as something that matches no class)."""
    trials = simulate_responses(
        25 * n_participants, n_participants, conditions=(WITHOUT_NONE,),
        id_prefix=f"{SIMULATED_PREFIX}name-", seed=seed,
    )  # fmt: skip
    tests = trials["trial_type"] == TEST
    unmatched = tests & (trials["correct"] == 0) & (np.arange(len(trials)) % 8 == 0)
    return trials.assign(
        condition="naming",
        trial_type=np.where(tests, "naming", trials["trial_type"]),
        response=np.where(unmatched, "squiggle", trials["response"]),
        typed_response=np.where(tests, trials["response"].str.upper(), None),
        naming_match=np.where(unmatched, "unmatched", np.where(tests, "exact", None)),
        options_shown=np.where(tests, None, trials["options_shown"]),
    )


def with_ratings(trials: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A 1-5 confidence rating, higher on right answers, after every answered test or naming
    trial, with its own answer time."""
    rng = np.random.default_rng(seed)
    rated = trials["trial_type"].isin((TEST, "naming")) & (trials["response"] != TIMEOUT)
    rating = np.clip(np.rint(2.2 + 1.6 * trials["correct"] + rng.normal(0, 1, len(trials))), 1, 5)
    return trials.assign(
        confidence=pd.array(np.where(rated, rating, np.nan)).astype("Int64"),
        confidence_rt_ms=pd.array(
            np.where(rated, rng.lognormal(np.log(900), 0.3, len(trials)).round(), np.nan)
        ).astype("Int64"),
    )
