"""The with/without-"none" comparison and its signal-detection reading, on data with a known
answer."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.accuracy import participant_accuracy
from analysis.compare import compare_none, describe_gap
from analysis.responses import options_per_condition, validate_responses
from analysis.sdt_observer import simulate_responses
from analysis.signal_detection import (
    dprime_mafc,
    fit_none_model,
    known_rate,
    none_model_rates,
    pc_mafc,
    yes_no_dprime,
)

LEVEL_DPRIME = {4: 1.2, 8: 2.2, 16: 3.2, 32: 4.0}


def test_mafc_chance_and_inverse():
    assert pc_mafc(0.0, 5) == pytest.approx(0.2, abs=1e-6)
    assert pc_mafc(0.0, 2) == pytest.approx(0.5, abs=1e-6)
    assert pc_mafc(1.0, 2) == pytest.approx(
        stats.norm.cdf(1 / np.sqrt(2)), abs=1e-6
    )  # 2AFC closed form
    for d in (0.5, 1.5, 3.0):
        assert dprime_mafc(pc_mafc(d, 5), 5) == pytest.approx(d, abs=1e-4)
    assert dprime_mafc(0.1, 5) == 0.0


def test_none_model_recovers_sensitivity_and_criterion():
    for d, k in ((1.0, 1.2), (2.2, 2.0), (0.5, 0.0)):
        rates = none_model_rates(d, k, 5)
        assert fit_none_model(rates["p_correct"], rates["p_none"], 5) == pytest.approx(
            (d, k), abs=1e-3
        )
        with_foils = fit_none_model(rates["p_correct"], rates["p_none"], 5, rates["p_none_foil"])
        assert with_foils == pytest.approx((d, k), abs=1e-3)


def test_guessing_correction_and_yes_no_examples():
    assert known_rate(0.76, 0.24, 5) == pytest.approx(0.70)  # reference §4.6 worked example
    dprime, criterion = yes_no_dprime(0.84134, 0.15866)
    assert dprime == pytest.approx(2.0, abs=1e-3) and criterion == pytest.approx(0.0, abs=1e-3)


def _pure_caution(seed: int = 0, foils: int = 0) -> pd.DataFrame:
    return simulate_responses(
        60_000,
        1_200,
        dprimes=LEVEL_DPRIME,
        criterion=1.8,
        participant_sd=0.0,
        image_sd=0.0,
        attention_per_participant=0,
        foils_per_participant=foils,
        seed=seed,
    )


@pytest.mark.parametrize("foils", [0, 10])
def test_pure_criterion_shift_gives_equal_dprime_and_all_caution(foils):
    trials = _pure_caution(foils=foils)
    comparison = compare_none(trials, options_per_condition(trials)).set_index("n_strokes")
    four = comparison.loc[4]
    assert four["accuracy_without"] - four["accuracy_with"] > 0.2  # a big gap ...
    for level, d in LEVEL_DPRIME.items():  # ... yet the same sensitivity in both conditions
        assert comparison.loc[level, "dprime_without"] == pytest.approx(d, abs=0.12)
        assert comparison.loc[level, "dprime_with"] == pytest.approx(d, abs=0.12)
        assert comparison.loc[level, "criterion_with"] == pytest.approx(1.8, abs=0.12)
    assert four["caution_share"] == pytest.approx(1.0, abs=0.1)
    assert "caution" in describe_gap(comparison.reset_index().iloc[0])
    if foils:
        assert four["n_foils"] > 0
        assert four["false_alarm_rate"] == pytest.approx(1 - stats.norm.cdf(1.8) ** 5, abs=0.03)


def test_pure_sensitivity_gap_is_not_called_caution():
    strong = simulate_responses(
        16_000,
        400,
        conditions=("without_none",),
        dprimes={4: 2.0, 8: 3.0},
        levels=(4, 8),
        criterion=-20.0,
        participant_sd=0.0,
        image_sd=0.0,
        attention_per_participant=0,
        seed=1,
    )
    weak = simulate_responses(
        16_000,
        400,
        conditions=("with_none",),
        dprimes={4: 0.8, 8: 3.0},
        levels=(4, 8),
        criterion=-20.0,
        participant_sd=0.0,
        image_sd=0.0,
        attention_per_participant=0,
        id_prefix="other-",
        seed=2,
    )
    trials = pd.concat([strong, weak], ignore_index=True)
    row = compare_none(trials, options_per_condition(trials)).set_index("n_strokes").loc[4]
    assert row["difference"] > 0.3
    assert row["none_rate_with"] == 0.0
    assert row["dprime_with"] == pytest.approx(0.8, abs=0.15)
    assert abs(row["caution_share"]) < 0.1


def test_comparison_statistics_match_statsmodels_and_scipy():
    trials = simulate_responses(4_000, 200, participant_sd=0.5, attention_per_participant=0, seed=4)
    comparison = compare_none(trials, options_per_condition(trials)).set_index("n_strokes")
    tests = trials[trials["trial_type"] == "test"]
    people = participant_accuracy(trials)
    for level in (4, 16):
        wo = tests[(tests["condition"] == "without_none") & (tests["n_strokes"] == level)]
        wi = tests[(tests["condition"] == "with_none") & (tests["n_strokes"] == level)]
        low, high = confint_proportions_2indep(
            wo["correct"].sum(),
            len(wo),
            wi["correct"].sum(),
            len(wi),
            method="newcomb",
            compare="diff",
        )
        row = comparison.loc[level]
        assert (row["diff_low"], row["diff_high"]) == pytest.approx((low, high))
        assert row["none_rate_with"] == pytest.approx(wi["is_none"].mean())
        committed = wi[wi["is_none"] == 0]
        assert row["committed_accuracy_with"] == pytest.approx(committed["correct"].mean())
        at = people[people["n_strokes"] == level]
        a = at.loc[at["condition"] == "without_none", "accuracy"]
        b = at.loc[at["condition"] == "with_none", "accuracy"]
        assert row["welch_p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
        assert row["mannwhitney_p"] == pytest.approx(stats.mannwhitneyu(a, b).pvalue)
        assert row["chance_without"] == pytest.approx(1 / 5) and row[
            "chance_with"
        ] == pytest.approx(1 / 6)


def test_one_condition_has_no_comparison():
    trials = simulate_responses(800, 40, conditions=("with_none",), attention_per_participant=0)
    assert compare_none(trials, options_per_condition(trials)).empty


def test_known_rate_with_none_reads_guessing_from_the_wrong_answers():
    """High-threshold observers who know the class half the time: forced choice, they guess
    among 5; with "none" they mostly say "none" instead (a guess 1 time in 5). Both
    conditions know the same, so the guessing-corrected rates must agree (the old g = 1/6
    correction said 18% with "none" next to 50% without)."""
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c", "d", "e"]
    rows = []
    for condition in ("without_none", "with_none"):
        knows = rng.random(20_000) < 0.5
        guesses = ~knows & ((condition == "without_none") | (rng.random(20_000) < 0.2))
        picked = np.where(guesses, rng.integers(0, 5, 20_000), 0)
        response = np.where(knows | guesses, np.array(classes)[picked], "none")
        rows.append(
            pd.DataFrame(
                {
                    "participant_id": [f"{condition}-{i // 20}" for i in range(20_000)],
                    "condition": condition,
                    "trial_type": "test",
                    "true_class": "a",
                    "n_strokes": 4,
                    "options_shown": "|".join(classes + ["none"] * (condition == "with_none")),
                    "response": response,
                    "correct": (response == "a").astype(int),
                }
            )
        )
    trials = validate_responses(pd.concat(rows, ignore_index=True))
    row = compare_none(trials, options_per_condition(trials)).iloc[0]
    assert row["accuracy_without"] - row["accuracy_with"] > 0.05  # a gap, all caution ...
    assert row["known_without"] == pytest.approx(0.5, abs=0.02)  # ... and the known rates agree
    assert row["known_with"] == pytest.approx(0.5, abs=0.02)
