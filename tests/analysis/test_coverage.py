"""The reported 95% intervals cover the truth: datasets simulated with known effects through
the study's own design code (`analysis.study_simulation`: real allocation and Latin square),
analysed by the report's own functions. Seeded, so the counts below are fixed; the
replications are few (the suite must stay quick) but enough that an interval half as wide as
it should be (the old variational fit covered 68%) fails."""

import numpy as np
import pytest

from analysis.compare import compare_none
from analysis.glmm import fit_glmm_many
from analysis.responses import options_per_condition, validate_responses
from analysis.study_simulation import (
    ResponseModel,
    as_responses,
    marginal_rates,
    simulate_study,
    study_design,
)
from analysis.synthetic import simulate_responses
from study.config import load_study
from study.synthetic import write_synthetic_study

REPLICATIONS = 48
PARTICIPANTS = 96  # 12 per condition x list cell; 10 images, each seen once per participant
LEVELS = (4, 8, 16, 32)
TRUE_LOGIT = {
    "without_none": {level: 0.3 + 0.6 * np.log2(level / 4) for level in LEVELS},
    "with_none": {level: -0.7 + 0.5 * np.log2(level / 4) for level in LEVELS},
}
"""Conditional log-odds: "none" costs 1.0 at 4 strokes and 0.1 more per doubling."""
TRUTH = ResponseModel(TRUE_LOGIT, participant_sd=0.5, image_sd=0.5, image_slope_sd=0.3)


def _share(hits: list[bool]) -> float:
    return float(np.mean(hits))


@pytest.fixture(scope="module")
def replications(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    design = study_design(
        load_study(write_synthetic_study(folder, images_per_class=2), verify_images=False)
    )
    rng = np.random.default_rng(2026)
    return [
        validate_responses(as_responses(simulate_study(design, PARTICIPANTS, TRUTH, rng), design,
                                        "sim-"))
        for _ in range(REPLICATIONS)
    ]  # fmt: skip


def test_mixed_model_intervals_cover_the_true_effects(replications, r_lme4):
    fits = fit_glmm_many(replications)
    assert all(fit.fitted for fit in fits)
    at_fewest, per_level = [], []
    for fit in fits:
        terms = fit.terms.set_index(["model", "term"])
        trend = terms.loc[("trend", "with_none")]
        truth = TRUE_LOGIT["with_none"][4] - TRUE_LOGIT["without_none"][4]
        at_fewest.append(trend["ci_low"] <= truth <= trend["ci_high"])
        for level in LEVELS:
            contrast = terms.loc[("levels", f"level{level}:with_none")]
            truth = TRUE_LOGIT["with_none"][level] - TRUE_LOGIT["without_none"][level]
            per_level.append(contrast["ci_low"] <= truth <= contrast["ci_high"])
    print(f"mixed model coverage: at 4 strokes {_share(at_fewest):.1%}, per level "
          f"{_share(per_level):.1%}")  # fmt: skip
    assert _share(at_fewest) >= 0.9
    assert _share(per_level) >= 0.9


def test_headline_gap_intervals_cover_the_population_gap(replications):
    rates = marginal_rates(TRUTH)
    covered, newcombe = [], []
    for seed, trials in enumerate(replications):
        comparison = compare_none(trials, options_per_condition(trials), n_boot=300, seed=seed)
        for row in comparison.itertuples():
            gap = rates["without_none"][row.n_strokes] - rates["with_none"][row.n_strokes]
            covered.append(row.gap_boot_low <= gap <= row.gap_boot_high)
            newcombe.append(row.diff_low <= gap <= row.diff_high)
    print(f"gap coverage: two-way bootstrap {_share(covered):.1%}, trial-level Newcombe "
          f"{_share(newcombe):.1%}")  # fmt: skip
    assert len(covered) == REPLICATIONS * len(LEVELS)
    assert _share(covered) >= 0.9


def test_caution_share_interval_covers_all_caution_when_recognition_is_equal():
    """`analysis.synthetic` draws both conditions from one sensitivity; only the criterion
    differs, so the whole gap is caution (the truth is 100%)."""
    covered = []
    for seed in range(40):
        trials = simulate_responses(
            2_400, 120, participant_sd=0.2, image_sd=0.2, attention_per_participant=0,
            seed=100 + seed,
        )  # fmt: skip
        comparison = compare_none(trials, options_per_condition(trials), n_boot=300, seed=seed)
        for row in comparison.itertuples():
            if row.gap_boot_low > 0:  # only a gap that is there is split
                covered.append(row.caution_boot_low <= 1.0 <= row.caution_boot_high)
    print(f"caution share coverage of 100%: {_share(covered):.1%} of {len(covered)}")
    assert len(covered) >= 40
    assert _share(covered) >= 0.9
