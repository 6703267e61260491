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
from analysis.glmm import GlmmResult, holm_contrasts, separated_cells, term_table


def fit_population_averaged(frame: pd.DataFrame, exact_max_trials: int) -> GlmmResult:
    """Both models on `glmm.model_frame` rows (module docstring)."""
    started = time.perf_counter()
    fewest = int(frame["level"].min())
    separated = separated_cells(frame)
    blocked = {level for _, level, _ in separated}
    terms, formulas = [], {}
    for name, columns in _designs(frame, blocked).items():
        names = list(columns)
        design = np.column_stack(list(columns.values()))
        rows = np.ones(len(frame), dtype=bool)
        if name == "levels":
            rows = ~frame["level"].isin(blocked).to_numpy()
        estimate, se = _sandwich_fit(frame[rows], design[rows])
        fixed = pd.DataFrame({"term": names, "estimate": estimate, "se": se})
        if name == "levels":
            fixed = pd.concat([fixed, _blocked_terms(frame, blocked)], ignore_index=True)
        terms.append(term_table(name, fixed, fewest, separated))
        formulas[name] = "correct ~ " + " + ".join(fixed["term"])
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
        separation=[sentence for _, _, sentence in separated],
        n_trials=len(frame),
        n_participants=int(frame["participant"].nunique()),
        n_images=int(frame["image"].nunique()),
        seconds=time.perf_counter() - started,
    )


def _designs(frame: pd.DataFrame, blocked: set[int]) -> dict[str, dict[str, np.ndarray]]:
    """The design columns of both models, named as glmer names its terms."""
    with_none = frame["with_none"].to_numpy(float)
    strokes = frame["log2_strokes"].to_numpy(float)
    two_conditions = frame["with_none"].nunique() > 1
    trend = {"(Intercept)": np.ones(len(frame))}
    if two_conditions:
        trend["with_none"] = with_none
    levels = sorted(frame["level"].unique())
    if len(levels) > 1:
        trend["log2_strokes"] = strokes
        if two_conditions:
            trend["with_none:log2_strokes"] = with_none * strokes
    designs = {"trend": trend}
    kept = [level for level in levels if level not in blocked]
    if len(levels) > 1 and kept:
        level = frame["level"].to_numpy()
        by_level = {f"level{v}": (level == v).astype(float) for v in kept}
        if two_conditions:
            by_level.update({f"level{v}:with_none": (level == v) * with_none for v in kept})
        designs["levels"] = by_level
    return designs


def _sandwich_fit(frame: pd.DataFrame, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression estimates and two-way cluster-robust standard errors."""
    correct = frame["correct"].to_numpy(float)
    fit = sm.GLM(correct, design, family=sm.families.Binomial()).fit()
    scores = design * (correct - fit.mu)[:, None]
    bread = np.linalg.inv(design.T @ (design * (fit.mu * (1 - fit.mu))[:, None]))
    meat = two_way_meat(scores, frame["participant"].to_numpy(), frame["image"].to_numpy())
    covariance = bread @ meat @ bread
    return np.asarray(fit.params), np.sqrt(np.clip(np.diag(covariance), 0, None))


def _blocked_terms(frame: pd.DataFrame, blocked: set[int]) -> pd.DataFrame:
    """Rows for the separated levels' terms (no estimate: `term_table` marks them)."""
    names = [f"level{v}" for v in sorted(blocked)]
    if frame["with_none"].nunique() > 1:
        names += [f"level{v}:with_none" for v in sorted(blocked)]
    return pd.DataFrame({"term": names, "estimate": np.nan, "se": np.nan})
