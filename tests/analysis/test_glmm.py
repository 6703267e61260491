"""The mixed models (lme4 glmer through R): every trial, terms that say what they mean,
separation found and named, and a clear reason whenever there is no fit."""

import numpy as np
import pandas as pd
import pytest

from analysis.glmm import fit_glmm
from analysis.synthetic import simulate_responses


@pytest.fixture(scope="module")
def study():
    return simulate_responses(3_000, 120, attention_per_participant=0, seed=5)


def test_fits_every_trial_and_labels_each_term(study, r_lme4):
    fit = fit_glmm(study)
    assert fit.fitted, fit.reason
    assert fit.n_trials == int((study["trial_type"] == "test").sum()) == 3_000
    assert fit.n_participants == 120 and fit.n_images == 25
    assert "Laplace" in fit.method and "Wald" in fit.method and "no priors" in fit.method
    terms = fit.terms.set_index(["model", "term"])
    assert terms.loc[("trend", "with_none"), "meaning"] == (
        'with vs without "none", at 4 strokes (odds ratio)'
    )
    for level in (4, 8, 16, 32):
        contrast = terms.loc[("levels", f"level{level}:with_none")]
        assert contrast["meaning"] == f'with vs without "none", at {level} strokes (odds ratio)'
    at_4 = terms.loc[("levels", "level4:with_none")]
    assert at_4["ci_low"] < at_4["estimate"] < at_4["ci_high"] < 0  # "none" costs at 4 strokes
    assert at_4["ci_high"] - at_4["ci_low"] == pytest.approx(2 * 1.96 * at_4["se"])
    family = fit.terms["p_holm"].notna()
    assert (
        family.sum() == 4 and (fit.terms.loc[family, "p_holm"] >= fit.terms.loc[family, "p"]).all()
    )
    groups = set(zip(fit.random_effects["group"], fit.random_effects["effect"]))
    assert ("image", "SD of with_none") in groups and ("participant", "SD of (Intercept)") in groups


def test_separation_is_found_and_never_shown_as_a_number(r_lme4):
    """At 32 strokes d' = 12: every answer in both conditions is right."""
    trials = simulate_responses(
        2_000, 100, dprimes={4: 1.5, 8: 2.5, 16: 3.0, 32: 12.0}, criterion=1.0,
        attention_per_participant=0, seed=2,
    )  # fmt: skip
    fit = fit_glmm(trials)
    assert fit.fitted
    assert len(fit.separation) == 2 and all("32 strokes" in s for s in fit.separation)
    terms = fit.terms.set_index(["model", "term"])
    for term in ("level32", "level32:with_none"):
        assert terms.loc[("levels", term), "note"] == "not estimable: separation"
        assert np.isnan(terms.loc[("levels", term), "estimate"])
    assert np.isfinite(terms.loc[("levels", "level8:with_none"), "estimate"])


def test_large_data_use_the_labelled_approximation(study, r_lme4):
    fit = fit_glmm(study, exact_max_trials=1_000)
    assert fit.fitted and "nAGQ = 0" in fit.method and "approximation" in fit.method


def test_says_why_when_there_is_no_fit(study, monkeypatch):
    few = simulate_responses(30, 3, attention_per_participant=0)
    assert "too little data" in fit_glmm(few).reason
    same = simulate_responses(
        400, 20, dprimes={4: 12, 8: 12, 16: 12, 32: 12}, criterion=-20, attention_per_participant=0
    )
    assert "same outcome" in fit_glmm(same).reason
    monkeypatch.setenv("PATH", "")
    result = fit_glmm(study)
    assert not result.fitted and "r-cran-lme4" in result.reason


def test_one_condition_or_one_level_fits_the_terms_that_exist(r_lme4):
    trials = simulate_responses(
        1_200, 60, conditions=("with_none",), levels=(4, 8), attention_per_participant=0, seed=4
    )
    fit = fit_glmm(trials)
    assert fit.fitted
    assert set(fit.terms["term"]) == {"(Intercept)", "log2_strokes", "level4", "level8"}
    assert not any("with_none" in formula for formula in fit.formulas.values())
    assert isinstance(fit.terms, pd.DataFrame)
