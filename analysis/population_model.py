"""The large-data approximation of the mixed models: population-averaged logistic regression
with two-way (participant x image) cluster-robust intervals.

Above `glmm.EXACT_MAX_TRIALS` test trials glmer would take minutes, so `glmm.fit_glmm` uses
this instead and the report says so. The same two models (trend and per level, same term
names and meanings) are fitted by ordinary logistic regression on every trial (statsmodels
GLM); their covariance is the sandwich whose middle is the two-way cluster sum (participants
+ images - single trials, Cameron, Gelbach & Miller 2011; `cluster_variance.two_way_meat`),
so the intervals allow for both kinds of clustering. The odds ratios are population-averaged
(a GEE with independence working correlation), which are closer to 1 than the mixed model's
participant-and-image-specific ones; there are no random-effect estimates. Seconds on a
million trials.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.cluster_variance import two_way_meat
from analysis.model_design import model_designs, separated_cells
from analysis.model_result import GlmmResult, holm_contrasts, term_table


def fit_population_averaged(frame: pd.DataFrame, exact_max_trials: int) -> GlmmResult:
    """Both models on `glmm.model_frame` rows (module docstring)."""
    started = time.perf_counter()
    terms, formulas = [], {}
    for name, design in model_designs(frame).items():
        rows = design.rows
        columns = np.column_stack(list(design.columns.values()))[rows]
        estimate, se = _sandwich_fit(frame[rows], columns)
        fixed = pd.DataFrame({"term": list(design.columns), "estimate": estimate, "se": se})
        terms.append(term_table(design, fixed))
        formulas[name] = design.formula.removesuffix(f" + {design.random}")
    table = holm_contrasts(pd.concat(terms, ignore_index=True))
    table["meaning"] += ", population-averaged"
    return GlmmResult(
        True,
        terms=table,
        formulas=formulas,
        method=(
            f"population-averaged logistic regression (a fast approximation, used above "
            f"{exact_max_trials:,} test trials, where glmer would take minutes); Wald 95% "
            "intervals from a two-way (participant x image) cluster-robust covariance; odds "
            "ratios are population-averaged, so closer to 1 than the mixed model's; no random "
            "effects estimated; no priors"
        ),
        separation=[sentence for _, _, sentence in separated_cells(frame)],
        n_trials=len(frame),
        n_participants=int(frame["participant"].nunique()),
        n_images=int(frame["image"].nunique()),
        seconds=time.perf_counter() - started,
    )


def _sandwich_fit(frame: pd.DataFrame, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression estimates and two-way cluster-robust standard errors."""
    correct = frame["correct"].to_numpy(float)
    fit = sm.GLM(correct, design, family=sm.families.Binomial()).fit()
    scores = design * (correct - fit.mu)[:, None]
    bread = np.linalg.inv(design.T @ (design * (fit.mu * (1 - fit.mu))[:, None]))
    meat = two_way_meat(scores, frame["participant"].to_numpy(), frame["image"].to_numpy())
    covariance = bread @ meat @ bread
    return np.asarray(fit.params), np.sqrt(np.clip(np.diag(covariance), 0, None))
