"""Recognition accuracy per condition x class x stroke level, with two kinds of interval.

Wilson 95% intervals per cell (statsmodels `proportion_confint(method="wilson")`) treat
trials as independent; the participant-cluster bootstrap resamples whole participants
(within their condition, which is between-subjects) and so respects that one person's
answers go together (docs/analysis.md, "Statistics"). Only test trials count.
"""

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from sketchlab.contracts import CONDITIONS, TEST

ACCURACY_COLUMNS = [
    "condition",
    "class",
    "n_strokes",
    "n_trials",
    "n_correct",
    "accuracy",
    "ci_low",
    "ci_high",
]
ALL_CLASSES = "all"


def test_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The rows that count towards accuracy, with `class` and integer `n_strokes`.

    Returns its input unchanged when that is already such a table (no copy of a large frame)."""
    is_test = trials["trial_type"] == TEST
    if "class" in trials.columns and bool(is_test.all()):
        return trials
    rows = trials[is_test]
    return rows.assign(**{"class": rows["true_class"], "n_strokes": rows["n_strokes"].astype(int)})


def wilson_interval(n_correct, n_trials) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% interval for each count/total pair (NaN where there are no trials)."""
    n_correct = np.asarray(n_correct, dtype=float)
    n_trials = np.asarray(n_trials, dtype=float)
    low = np.full(n_trials.shape, np.nan)
    high = np.full(n_trials.shape, np.nan)
    has = n_trials > 0
    if has.any():
        low[has], high[has] = proportion_confint(
            n_correct[has], n_trials[has], alpha=0.05, method="wilson"
        )
    return low, high


def _condition_order(values) -> list[str]:
    present = set(values)
    return [c for c in CONDITIONS if c in present]


def accuracy_table(trials: pd.DataFrame, *, pooled: bool = False) -> pd.DataFrame:
    """One row per condition x class x stroke level (or per condition x level with
    `class` = "all" when `pooled`), in stable order, columns ACCURACY_COLUMNS.

    `trials` is the included responses table; non-test rows are ignored.
    """
    tests = test_trials(trials)
    if pooled:
        tests = tests.assign(**{"class": ALL_CLASSES})
    grouped = tests.groupby(["condition", "class", "n_strokes"], observed=True)["correct"]
    table = grouped.agg(n_trials="size", n_correct="sum").reset_index()
    table["n_correct"] = table["n_correct"].astype(int)
    table["accuracy"] = table["n_correct"] / table["n_trials"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["n_correct"], table["n_trials"])
    table["condition"] = table["condition"].astype(str)
    table["class"] = table["class"].astype(str)
    rank = table["condition"].map({c: i for i, c in enumerate(CONDITIONS)})
    table = table.assign(_rank=rank).sort_values(["_rank", "class", "n_strokes"])
    return table[ACCURACY_COLUMNS].reset_index(drop=True)


def cluster_bootstrap(
    trials: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, chunk: int = 100
) -> pd.DataFrame:
    """Participant-cluster bootstrap 95% percentile interval for every cell of
    `accuracy_table`, per class and pooled (class = "all"), from the same draws.

    Participants are resampled with replacement within each condition; a cell's resampled
    accuracy is the sum of its resampled participants' correct answers over their trials.
    Vectorised: per-participant counts per cell form a (participants x cells) matrix and
    each bootstrap draw is a `bincount` weight vector, so 20,000 participants x 1,000
    draws take seconds. Returns condition, class, n_strokes, boot_low, boot_high.
    """
    tests = test_trials(trials)
    rng = np.random.default_rng(seed)
    out = []
    for condition in _condition_order(tests["condition"]):
        rows = tests[tests["condition"] == condition]
        person, _ = pd.factorize(rows["participant_id"])
        grouping = rows.groupby(["class", "n_strokes"], observed=True)
        cells, keys = grouping.ngroup().to_numpy(), grouping.size().index.to_frame(index=False)
        keys["class"] = keys["class"].astype(str)
        levels, level_of_cell = np.unique(keys["n_strokes"].to_numpy(), return_inverse=True)
        pool = np.zeros((len(keys), len(levels)))
        pool[np.arange(len(keys)), level_of_cell] = 1.0
        n_people, n_cells = int(person.max()) + 1, len(keys)
        flat = person * n_cells + cells
        trials_per = (
            np.bincount(flat, minlength=n_people * n_cells).reshape(n_people, n_cells).astype(float)
        )
        correct_per = np.bincount(
            flat, weights=rows["correct"].to_numpy(), minlength=n_people * n_cells
        ).reshape(n_people, n_cells)
        trials_per = np.hstack([trials_per, trials_per @ pool])
        correct_per = np.hstack([correct_per, correct_per @ pool])
        accuracies = []
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            draws = rng.integers(0, n_people, size=(size, n_people), dtype=np.int64)
            weights = (
                np.bincount(
                    (draws + n_people * np.arange(size)[:, None]).ravel(), minlength=size * n_people
                )
                .reshape(size, n_people)
                .astype(float)
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                accuracies.append((weights @ correct_per) / (weights @ trials_per))
        low, high = np.nanpercentile(np.concatenate(accuracies), [2.5, 97.5], axis=0)
        frame = pd.concat(
            [keys, pd.DataFrame({"class": ALL_CLASSES, "n_strokes": levels})], ignore_index=True
        )
        frame.insert(0, "condition", condition)
        frame["boot_low"], frame["boot_high"] = low, high
        out.append(frame)
    if not out:
        return pd.DataFrame(columns=["condition", "class", "n_strokes", "boot_low", "boot_high"])
    return pd.concat(out, ignore_index=True)


def participant_accuracy(trials: pd.DataFrame) -> pd.DataFrame:
    """Per participant x stroke level: condition, n_trials, accuracy (test trials only)."""
    tests = test_trials(trials)
    grouped = tests.groupby(["condition", "participant_id", "n_strokes"], observed=True)["correct"]
    return grouped.agg(n_trials="size", accuracy="mean").reset_index()
