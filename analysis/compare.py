"""With versus without the "none" option, at every stroke level (the paper's 36% -> 76%).

Conditions are between-subjects, so the participant is the unit of the test (Welch's t
and Mann-Whitney on per-participant accuracy); the trial-level Newcombe interval of the
difference is reported as the paper-style descriptive figure (shared reference
study-and-analysis §4.4). How much of the gap is caution rather than recognition is read
three ways (§4.6): the "none" rate and the accuracy among committed answers; the
guessing-corrected ('known') rates; and d' with a criterion from `signal_detection`, which
gives the forced-choice accuracy the with-"none" participants' sensitivity predicts.
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.accuracy import participant_accuracy, wilson_interval
from analysis.signal_detection import (
    dprime_mafc,
    fit_none_model,
    known_rate,
    pc_mafc,
    yes_no_dprime,
)
from sketchlab.contracts import FOIL, TEST, WITH_NONE, WITHOUT_NONE


def compare_none(trials: pd.DataFrame, n_options: dict[str, int]) -> pd.DataFrame:
    """One row per stroke level present in both conditions (empty when a condition is missing).

    `trials`: included responses (test and foil rows are used); `n_options`: buttons shown
    per condition (see `responses.options_per_condition`). Column meanings are in
    docs/analysis.md; differences are without minus with, in proportion units.
    """
    if not {WITHOUT_NONE, WITH_NONE} <= set(trials["condition"].unique()):
        return pd.DataFrame()
    kind = trials["trial_type"]
    tests = trials.loc[kind == TEST, ["condition", "n_strokes", "correct", "is_none"]]
    cells = tests.groupby(["condition", "n_strokes"], observed=True).agg(
        n=("correct", "size"), k=("correct", "sum"), none=("is_none", "sum")
    )
    foils = trials.loc[
        (kind == FOIL) & (trials["condition"] == WITH_NONE), ["n_strokes", "is_none"]
    ]
    foil_cells = foils.groupby("n_strokes").agg(n=("is_none", "size"), none=("is_none", "sum"))
    people = participant_accuracy(trials)
    m_without = n_options[WITHOUT_NONE]
    m_with_classes = n_options[WITH_NONE] - 1
    levels = sorted(
        set(cells.loc[WITHOUT_NONE].index.astype(int)) & set(cells.loc[WITH_NONE].index.astype(int))
    )
    rows = []
    for level in levels:
        without, with_none = cells.loc[(WITHOUT_NONE, level)], cells.loc[(WITH_NONE, level)]
        k_wo, n_wo = int(without["k"]), int(without["n"])
        k_w, n_w = int(with_none["k"]), int(with_none["n"])
        acc_wo, acc_w = k_wo / n_wo, k_w / n_w
        row = {"n_strokes": level}
        for name, k, n in (("without", k_wo, n_wo), ("with", k_w, n_w)):
            low, high = wilson_interval([k], [n])
            row.update(
                {
                    f"n_{name}": n,
                    f"accuracy_{name}": k / n,
                    f"ci_low_{name}": low[0],
                    f"ci_high_{name}": high[0],
                }
            )
        row["difference"] = acc_wo - acc_w
        row["diff_low"], row["diff_high"] = confint_proportions_2indep(
            k_wo, n_wo, k_w, n_w, method="newcomb", compare="diff"
        )
        row["odds_ratio"] = ((k_wo + 0.5) / (n_wo - k_wo + 0.5)) / ((k_w + 0.5) / (n_w - k_w + 0.5))

        per_person = people[people["n_strokes"] == level]
        a = per_person.loc[per_person["condition"] == WITHOUT_NONE, "accuracy"].to_numpy()
        b = per_person.loc[per_person["condition"] == WITH_NONE, "accuracy"].to_numpy()
        row["participants_without"], row["participants_with"] = len(a), len(b)
        row["welch_t"], row["welch_p"] = _welch(a, b)
        row["mannwhitney_p"] = (
            float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
            if len(a) and len(b)
            else np.nan
        )

        none_rate = float(with_none["none"]) / n_w
        committed = n_w - int(with_none["none"])
        row["none_rate_with"] = none_rate
        row["committed_accuracy_with"] = k_w / committed if committed else np.nan
        low, high = wilson_interval([k_w], [committed])
        row["committed_ci_low"], row["committed_ci_high"] = low[0], high[0]
        row["chance_without"], row["chance_with"] = (
            1 / n_options[WITHOUT_NONE],
            1 / n_options[WITH_NONE],
        )
        row["known_without"] = known_rate(acc_wo, 1 - acc_wo, m_without)
        wrong_w = (n_w - k_w - int(with_none["none"])) / n_w
        row["known_with"] = known_rate(acc_w, wrong_w, m_with_classes)

        n_foils = int(foil_cells["n"].get(level, 0))
        foil_none = float(foil_cells["none"][level]) / n_foils if n_foils else None
        # Rates of exactly 0 or 1 carry no finite d': move them half a trial inwards.
        row["dprime_without"] = dprime_mafc(min(acc_wo, 1 - 0.5 / n_wo), m_without)
        answers = np.array([k_w, n_w - k_w - int(with_none["none"]), int(with_none["none"])], float)
        if (answers == 0).any():
            answers += 0.5
        foil_fit = foil_none
        if n_foils and foil_none in (0.0, 1.0):
            foil_fit = min(max(foil_none, 0.5 / n_foils), 1 - 0.5 / n_foils)
        share = answers / answers.sum()
        row["dprime_with"], row["criterion_with"] = fit_none_model(
            share[0], share[2], m_with_classes, foil_fit, n_targets=n_w, n_foils=n_foils
        )
        row["forced_choice_predicted_with"] = pc_mafc(row["dprime_with"], m_without)
        caution = row["forced_choice_predicted_with"] - acc_w
        # Only a gap that is there (Newcombe interval above 0) can be split into parts.
        row["caution_share"] = caution / row["difference"] if row["diff_low"] > 0 else np.nan
        row["n_foils"] = n_foils
        if n_foils:
            row["hit_rate"] = 1 - none_rate
            row["false_alarm_rate"] = 1 - foil_none
            row["dprime_yes_no"], row["criterion_yes_no"] = yes_no_dprime(
                row["hit_rate"], row["false_alarm_rate"], n_w, n_foils
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        return np.nan, np.nan
    with (
        warnings.catch_warnings()
    ):  # near-constant groups: scipy warns, the p-value is still usable
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def describe_gap(row: pd.Series) -> str:
    """Plain-language sentence on one level's gap: how much is caution, how much recognition."""
    level = int(row["n_strokes"])
    gap, low, high = (round(100 * row[c]) for c in ("difference", "diff_low", "diff_high"))
    text = (
        f'At {level} strokes, accuracy was {row["accuracy_without"]:.0%} without "none" and '
        f"{row['accuracy_with']:.0%} with it: a gap of {gap} percentage "
        f"point{'' if gap == 1 else 's'} "
        f"(95% CI {low} to {high}). "
        f'With "none" offered it was chosen on {row["none_rate_with"]:.0%} of trials, and '
        f"{row['committed_accuracy_with']:.0%} of the committed answers were right. "
    )
    if np.isfinite(row.get("caution_share", np.nan)) and row["difference"] > 0:
        share = min(max(row["caution_share"], 0.0), 1.0)
        text += (
            f"The with-\"none\" group's sensitivity (d' = {row['dprime_with']:.2f}, vs "
            f"{row['dprime_without']:.2f} under forced choice) predicts "
            f"{row['forced_choice_predicted_with']:.0%} forced-choice accuracy, so about "
            f"{share:.0%} "
            f"of the gap is caution (a stricter criterion, k = {row['criterion_with']:.2f}) rather "
            "than weaker recognition"
        )
        text += (
            f"; foil trials (n = {int(row['n_foils'])}) entered the criterion estimate."
            if row.get("n_foils", 0)
            else "; without foil trials this split rests on the equal-variance model."
        )
    elif row["diff_low"] <= 0:
        text += (
            "The interval of the gap includes zero, so there is no gap to split into caution "
            "and recognition."
        )
    return text
