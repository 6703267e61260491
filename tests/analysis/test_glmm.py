"""The mixed models (lme4 glmer through R): every trial, terms that say what they mean,
separation found and named, and a clear reason whenever there is no fit."""

import numpy as np
import pandas as pd
import pytest

from analysis import glmm
from analysis.glmm import fit_glmm
from analysis.sdt_observer import simulate_responses


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
    groups = set(zip(fit.random_effects["group"], fit.random_effects["effect"], strict=True))
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
    approximate = fit_glmm(trials, exact_max_trials=100).terms.set_index(["model", "term"])
    assert approximate.loc[("levels", "level32:with_none"), "note"] == "not estimable: separation"
    assert np.isfinite(approximate.loc[("levels", "level8:with_none"), "estimate"])


def test_large_data_use_the_labelled_approximation(study, r_lme4):
    fit = fit_glmm(study, exact_max_trials=1_000)
    assert fit.fitted and "population-averaged" in fit.method and "approximation" in fit.method
    assert "cluster-robust" in fit.method and fit.n_trials == 3_000
    exact = fit_glmm(study).terms.set_index(["model", "term"])
    approximate = fit.terms.set_index(["model", "term"])
    assert list(approximate.index) == list(exact.index)  # same terms, same meanings ...
    assert approximate["meaning"].str.endswith(", population-averaged").all()
    contrast = ("levels", "level4:with_none")  # ... and an odds ratio nearer 1 (marginal)
    assert exact.loc[contrast, "estimate"] < approximate.loc[contrast, "estimate"] < 0


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


def _ceiling_study(seed: int) -> pd.DataFrame:
    """24 people, paper-like rates: at 32 strokes every answer without "none" is right
    (seed 0: 75 of 75), the others vary. lme4's convergence check on such data returned a
    list of messages, which made glmer.R fail with "Error in rbind ... numbers of columns"
    and the report lost both models."""
    return simulate_responses(
        600, 24, dprimes={4: 1.2, 8: 2.2, 16: 3.5, 32: 4.5}, participant_sd=0.5, image_sd=0.8,
        attention_per_participant=0, seed=seed,
    )  # fmt: skip


def test_a_cell_where_every_answer_was_right_keeps_both_models(r_lme4):
    fit = fit_glmm(_ceiling_study(0))
    assert fit.fitted and fit.failed == {} and fit.models == ["trend", "levels"], fit.reason
    assert fit.separation == [
        'every one of the 75 answers without "none" at 32 strokes was right (separation), so '
        "the terms of that cell have no finite estimate"
    ]
    terms = fit.terms.set_index(["model", "term"])
    contrast = terms.loc[("levels", "level32:with_none")]
    assert contrast["note"] == "not estimable: separation" and np.isnan(contrast["estimate"])
    # The 32-stroke column that was fitted is the with-"none" cell, and says so.
    assert terms.loc[("levels", "level32"), "meaning"] == (
        'odds of a right answer with "none", at 32 strokes'
    )
    assert np.isfinite(terms.loc[("levels", "level32"), "estimate"])
    for level in (4, 8, 16):
        assert np.isfinite(terms.loc[("levels", f"level{level}:with_none"), "se"])
    assert all(isinstance(w, str) and "\n" not in w for w in fit.warnings)


def test_a_convergence_warning_is_reported_and_the_model_kept(r_lme4, monkeypatch):
    """An optimiser budget of 8 evaluations cannot converge: lme4 warns, the fits stay."""
    monkeypatch.setattr(glmm, "MAX_EVALUATIONS", 8)
    fit = fit_glmm(_ceiling_study(1))
    assert fit.fitted and fit.models == ["trend", "levels"], fit.reason
    budget = [w for w in fit.warnings if "maxeval" in w or "convergence" in w.lower()]
    assert {w.split(":")[0] for w in budget} == {"trend", "levels"}, fit.warnings
    assert fit.terms["estimate"].notna().sum() >= 6


def test_one_model_that_fails_leaves_the_other(r_lme4, monkeypatch):
    broken = glmm._r_formula
    monkeypatch.setattr(
        glmm, "_r_formula",
        lambda design: broken(design) + (" + no_such_column" if design.name == "levels" else ""),
    )  # fmt: skip
    fit = fit_glmm(_ceiling_study(1))
    assert fit.fitted and fit.models == ["trend"]
    assert "no_such_column" in fit.failed["levels"] and "levels" not in set(fit.terms["model"])


def test_the_same_data_give_the_same_fit_every_run(r_lme4):
    """A singular fit (image correlation at 1): the likelihood is flat, and with address-
    space randomisation R's last bits, hence the optimum, differed between runs (estimates by
    up to 4e-4 here, and the Hessian fallback flipped standard errors by ~10% on the demo).
    With it off the runs are identical; where a system cannot switch it off, they agree to
    the pinned tolerance."""
    trials = simulate_responses(
        2_400, 96, dprimes={4: 1.2, 8: 2.2, 16: 3.5, 32: 5.5}, participant_sd=0.5,
        image_sd=0.8, attention_per_participant=0, seed=2,
    )  # fmt: skip
    fits = [fit_glmm(trials) for _ in range(4)]
    assert all(fit.singular["trend"] for fit in fits)
    first = fits[0]
    for fit in fits[1:]:
        assert fit.warnings == first.warnings
        if first.reproducible:
            pd.testing.assert_frame_equal(fit.terms, first.terms, check_exact=True)
            pd.testing.assert_frame_equal(fit.random_effects, first.random_effects,
                                          check_exact=True)  # fmt: skip
        else:
            pd.testing.assert_frame_equal(fit.terms, first.terms, atol=1e-3)


def test_with_one_condition_the_terms_name_it(r_lme4):
    trials = simulate_responses(
        1_200, 60, conditions=("with_none",), attention_per_participant=0, seed=4
    )
    terms = fit_glmm(trials).terms.set_index(["model", "term"])["meaning"]
    assert terms[("trend", "(Intercept)")] == 'odds of a right answer with "none", at 4 strokes'
    assert (
        terms[("trend", "log2_strokes")] == 'per doubling of the strokes, with "none" (odds ratio)'
    )
    assert terms[("levels", "level8")] == 'odds of a right answer with "none", at 8 strokes'
    assert not terms.str.contains("without").any()
