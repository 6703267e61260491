"""With versus without the "none" option, at every stroke level (the paper's 36% -> 76%).

Conditions are between-subjects. The gap (without minus with) gets three intervals: the
headline one (`analysis.gap_interval`: two-way participant x image design effect, Jeffreys
per condition, MOVER for the gap), because other people and other sketches would give other
numbers; the trial-level Newcombe interval, the paper-style descriptive figure that treats
trials as independent; and, in the report, the mixed model's contrast (`analysis.glmm`). The
two-way bootstrap (`analysis.bootstrap`) gives the caution share's interval (and, for
comparison, its own wider interval of the gap). Per-level tests take the
participant as the unit (Welch's t and Mann-Whitney on per-participant accuracy) and are
Holm-adjusted over the levels; a by-image paired test (a paired t-test over the images
seen in both conditions: the by-items analysis) asks whether the gap holds image by image.
How much of the gap is caution rather than recognition is read three ways (docs/analysis.md):
the "none" rate and the accuracy among committed answers; the guessing-corrected ('known')
rates; and the signal-detection split of `analysis.caution`, with a bootstrap interval and
a check of the answer shares it predicts.
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.accuracy import participant_accuracy, wilson_interval
from analysis.bootstrap import image_column, percentile_interval, two_way_bootstrap
from analysis.caution import caution_outside, caution_split, fit_check
from analysis.gap_interval import gap_intervals
from analysis.multiple_testing import holm
from analysis.signal_detection import known_rate, yes_no_dprime
from sketchlab.contracts import FOIL, TEST, WITH_NONE, WITHOUT_NONE

HOLM_COLUMNS = {"welch_p": "welch_p_holm", "mannwhitney_p": "mannwhitney_p_holm",
                "image_p": "image_p_holm"}  # fmt: skip


def compare_none(
    trials: pd.DataFrame, n_options: dict[str, int], *, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """One row per stroke level present in both conditions (empty when a condition is missing).

    `trials`: included responses (test and foil rows are used); `n_options`: buttons shown
    per condition (see `responses.options_per_condition`); `n_boot` two-way bootstrap draws.
    Column meanings are in docs/analysis.md; differences are without minus with, in
    proportion units.
    """
    if not {WITHOUT_NONE, WITH_NONE} <= set(trials["condition"].unique()):
        return pd.DataFrame()
    kind = trials["trial_type"]
    tests = trials.loc[kind == TEST]
    cells = tests.groupby(["condition", "n_strokes"], observed=True).agg(
        n=("correct", "size"), k=("correct", "sum"), none=("is_none", "sum")
    )
    foils = trials.loc[(kind == FOIL) & (trials["condition"] == WITH_NONE)]
    foil_cells = foils.groupby("n_strokes").agg(n=("is_none", "size"), none=("is_none", "sum"))
    levels = sorted(
        set(cells.loc[WITHOUT_NONE].index.astype(int)) & set(cells.loc[WITH_NONE].index.astype(int))
    )
    m_without, m_classes = n_options[WITHOUT_NONE], n_options[WITH_NONE] - 1
    rows = [
        _level_row(level, cells, foil_cells, m_without, m_classes, n_options) for level in levels
    ]
    table = pd.DataFrame(rows)
    table = table.join(_headline_columns(tests, levels))
    table = table.join(_participant_tests(trials, levels)).join(_image_tests(tests, levels))
    table = table.join(
        _bootstrap_columns(trials, table, levels, m_without, m_classes, n_boot, seed)
    )
    for column, adjusted in HOLM_COLUMNS.items():
        table[adjusted] = holm(table[column])
    table.loc[~(table["gap_low"] > 0), "caution_share"] = np.nan
    return table


def headline_intervals(tests: pd.DataFrame):
    """`gap_interval.gap_intervals` of included test trials (a responses table)."""
    item = image_column(tests)
    return gap_intervals(
        tests["correct"].to_numpy(),
        (tests["condition"] == WITH_NONE).to_numpy(),
        tests["n_strokes"].to_numpy(),
        pd.factorize(tests["participant_id"])[0],
        pd.factorize(tests[item])[0] if item else np.zeros(len(tests), dtype=np.int64),
    )


def _headline_columns(tests: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """The headline intervals of each level's gap and accuracies (`analysis.gap_interval`)."""
    found = headline_intervals(tests)
    at = [int(np.flatnonzero(found.levels == level)[0]) for level in levels]
    columns = {"gap_low": found.gap_low[at], "gap_high": found.gap_high[at],
               "gap_df": found.df[at]}  # fmt: skip
    for column, name in enumerate(("without", "with")):
        columns[f"accuracy_{name}_low"] = found.accuracy_low[at, column]
        columns[f"accuracy_{name}_high"] = found.accuracy_high[at, column]
        columns[f"design_effect_{name}"] = found.design_effect[at, column]
    return pd.DataFrame(columns)


def _level_row(level, cells, foil_cells, m_without, m_classes, n_options) -> dict:
    """Counts, rates and Wilson/Newcombe intervals of one level, and its caution split."""
    without, with_none = cells.loc[(WITHOUT_NONE, level)], cells.loc[(WITH_NONE, level)]
    k_wo, n_wo = int(without["k"]), int(without["n"])
    k_w, n_w, none_w = int(with_none["k"]), int(with_none["n"]), int(with_none["none"])
    acc_wo, acc_w = k_wo / n_wo, k_w / n_w
    row = {"n_strokes": level}
    for name, k, n in (("without", k_wo, n_wo), ("with", k_w, n_w)):
        low, high = wilson_interval([k], [n])
        row.update(
            {f"n_{name}": n, f"accuracy_{name}": k / n, f"ci_low_{name}": low[0],
             f"ci_high_{name}": high[0]}
        )  # fmt: skip
    row["difference"] = acc_wo - acc_w
    row["diff_low"], row["diff_high"] = confint_proportions_2indep(
        k_wo, n_wo, k_w, n_w, method="newcomb", compare="diff"
    )
    row["odds_ratio"] = ((k_wo + 0.5) / (n_wo - k_wo + 0.5)) / ((k_w + 0.5) / (n_w - k_w + 0.5))
    committed = n_w - none_w
    row["none_rate_with"] = none_w / n_w
    row["committed_accuracy_with"] = k_w / committed if committed else np.nan
    low, high = wilson_interval([k_w], [committed])
    row["committed_ci_low"], row["committed_ci_high"] = low[0], high[0]
    row["chance_without"] = 1 / n_options[WITHOUT_NONE]
    row["chance_with"] = 1 / n_options[WITH_NONE]
    row["known_without"] = known_rate(acc_wo, 1 - acc_wo, m_without)
    row["known_with"] = known_rate(acc_w, (committed - k_w) / n_w, m_classes)

    n_foils = int(foil_cells["n"].get(level, 0))
    foil_none = int(foil_cells["none"].get(level, 0))
    split = caution_split(
        k_wo, n_wo, k_w, none_w, n_w, m_without, m_classes,
        foil_none if n_foils else None, n_foils,
    )  # fmt: skip
    row.update({key: float(value) for key, value in split.items()})
    observed = {"correct": k_w, "none": none_w, "foil_none": foil_none}
    predicted = {key.removeprefix("predicted_"): split[key] for key in split
                 if key.startswith("predicted_")}  # fmt: skip
    row["fit_chi2"], row["fit_df"], row["fit_p"] = fit_check(observed, predicted, n_w, n_foils)
    row["n_foils"] = n_foils
    if n_foils:
        row["hit_rate"] = 1 - row["none_rate_with"]
        row["false_alarm_rate"] = 1 - foil_none / n_foils
        row["dprime_yes_no"], row["criterion_yes_no"] = yes_no_dprime(
            row["hit_rate"], row["false_alarm_rate"], n_w, n_foils
        )
    return row


def _participant_tests(trials: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Welch and Mann-Whitney on per-participant accuracy (the participant is the unit)."""
    people = participant_accuracy(trials)
    rows = []
    for level in levels:
        at = people[people["n_strokes"] == level]
        a = at.loc[at["condition"] == WITHOUT_NONE, "accuracy"].to_numpy()
        b = at.loc[at["condition"] == WITH_NONE, "accuracy"].to_numpy()
        welch_t, welch_p = _welch(a, b)
        rows.append(
            {
                "participants_without": len(a),
                "participants_with": len(b),
                "welch_t": welch_t,
                "welch_p": welch_p,
                "mannwhitney_p": (
                    float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
                    if len(a) and len(b)
                    else np.nan
                ),
            }
        )
    return pd.DataFrame(rows)


def _image_tests(tests: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Per level, the gap image by image (the classic by-items analysis): images seen in both
    conditions, their mean gap, and the paired t-test p over them."""
    item = image_column(tests)
    rows = []
    for level in levels:
        row = {"images_paired": 0, "image_gap_mean": np.nan, "image_p": np.nan}
        if item:
            at = tests[tests["n_strokes"] == level]
            by_image = at.groupby([item, "condition"], observed=True)["correct"].mean().unstack()
            if {WITHOUT_NONE, WITH_NONE} <= set(by_image.columns):
                gaps = (by_image[WITHOUT_NONE] - by_image[WITH_NONE]).dropna().to_numpy()
                row["images_paired"], row["image_gap_mean"] = len(gaps), gaps.mean()
                if len(gaps) >= 2 and np.var(gaps) > 0:
                    row["image_p"] = float(stats.ttest_1samp(gaps, 0.0).pvalue)
        rows.append(row)
    return pd.DataFrame(rows)


def _bootstrap_columns(trials, table, levels, m_without, m_classes, n_boot, seed) -> pd.DataFrame:
    """Two-way bootstrap intervals of the gap, both accuracies and the caution share."""
    boot = two_way_bootstrap(trials, n_boot=n_boot, seed=seed)

    def counts(kind: str, condition: str, count: str) -> np.ndarray:
        return np.column_stack([boot.get(kind, condition, level, count) for level in levels])

    with np.errstate(invalid="ignore", divide="ignore"):
        acc_wo = counts(TEST, WITHOUT_NONE, "correct") / counts(TEST, WITHOUT_NONE, "trials")
        acc_w = counts(TEST, WITH_NONE, "correct") / counts(TEST, WITH_NONE, "trials")
    foil_trials = counts(FOIL, WITH_NONE, "trials")
    has_foils = bool((table["n_foils"] > 0).any())
    split = caution_split(
        counts(TEST, WITHOUT_NONE, "correct"), counts(TEST, WITHOUT_NONE, "trials"),
        counts(TEST, WITH_NONE, "correct"), counts(TEST, WITH_NONE, "none"),
        counts(TEST, WITH_NONE, "trials"), m_without, m_classes,
        np.nan_to_num(counts(FOIL, WITH_NONE, "none")) if has_foils else None,
        np.nan_to_num(foil_trials),
    )  # fmt: skip
    columns = {}
    for name, draws in (
        ("gap_boot", acc_wo - acc_w),
        ("accuracy_without_boot", acc_wo),
        ("accuracy_with_boot", acc_w),
        ("caution_boot", split["caution_share"]),
    ):
        low, high = percentile_interval(draws)
        columns[f"{name}_low"], columns[f"{name}_high"] = low, high
    columns["boot_images"] = boot.images
    columns["n_boot"] = n_boot
    frame = pd.DataFrame(columns, index=table.index)
    no_gap = ~(table["gap_low"] > 0)
    frame.loc[no_gap, ["caution_boot_low", "caution_boot_high"]] = np.nan
    return frame


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
    """Plain-language sentences on one level's gap, with the headline interval; how much of it
    is caution; never "no gap" from an interval that includes zero."""
    level = int(row["n_strokes"])
    gap, low, high, trial_low, trial_high = (
        f"{100 * row[c]:.1f}"
        for c in ("difference", "gap_low", "gap_high", "diff_low", "diff_high")
    )  # one decimal: a bound of 0.4 points must not read as 0
    text = (
        f'At {level} strokes, accuracy was {row["accuracy_without"]:.0%} without "none" and '
        f"{row['accuracy_with']:.0%} with it: a gap of {gap} percentage points (95% CI {low} to "
        f"{high}, allowing for participants and images; the trial-level Newcombe interval, "
        f"which treats every answer as independent, is {trial_low} to {trial_high}). "
        f'With "none" offered it was chosen on {row["none_rate_with"]:.0%} of trials, and '
        f"{row['committed_accuracy_with']:.0%} of the committed answers were right. "
    )
    if row["gap_low"] <= 0 <= row["gap_high"]:
        return text + (
            "The interval includes zero: these data cannot tell whether the conditions differ "
            f"at this level (gaps from {low} to {high} points fit them), so the gap is not "
            "split into caution and recognition."
        )
    if row["gap_high"] < 0:
        return text + 'Accuracy was higher with "none", which caution cannot explain.'
    share = row["caution_share"]
    model = (
        f"foil trials (n = {int(row['n_foils'])}) entered the criterion estimate"
        if row.get("n_foils", 0)
        else "without foil trials this split rests on the equal-variance model alone"
    )
    interval = f"95% CI {row['caution_boot_low']:.0%} to {row['caution_boot_high']:.0%}"
    outside = caution_outside(share, row["caution_boot_low"], row["caution_boot_high"])
    if outside:
        return text + (
            f"The signal-detection split would put {share:.0%} of the gap on caution "
            f"({interval}), but {outside} outside 0-100%, which the equal-variance model cannot "
            "produce: it does not describe these answers well enough (a misfit, or too few "
            "answers to tell), so the gap is not split into caution and recognition; "
            f"{model}."
        )
    text += (
        f"The with-\"none\" group's sensitivity (d' = {row['dprime_with']:.2f}, vs "
        f"{row['dprime_without']:.2f} under forced choice) predicts "
        f"{row['forced_choice_predicted_with']:.0%} forced-choice accuracy, so about {share:.0%} "
        f"of the gap ({interval}) is caution (a stricter criterion, k = "
        f"{row['criterion_with']:.2f}) rather than weaker recognition; {model}."
    )
    if row.get("fit_df", 0) and row["fit_p"] < 0.05:
        text += (
            f" The answer shares the model predicts differ from the observed ones (X\u00b2 = "
            f"{row['fit_chi2']:.1f}, df = {int(row['fit_df'])}, p = {row['fit_p']:.2g}): read "
            "the split with caution."
        )
    return text
