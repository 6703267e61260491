"""The headline interval: each level's accuracy per condition and the with-vs-without gap,
allowing for participants and images, right-sized and never outside 0-100%.

Method (docs/analysis.md, "The headline gap interval", says why this one):

1. Per level and condition, the two-way (participant x image) cluster-robust variance of the
   accuracy (`analysis.cluster_variance`: participant sums + image sums - single answers, so
   the per-answer noise is counted once) gives a design effect, deff = variance / (p (1 - p) /
   n), and an effective number of answers, n / deff.
2. That effective number is shrunk by (z / t)^2, with t Student's t on (fewer clusters - 1)
   degrees of freedom (Korn & Graubard 1998): eight images give about seven degrees of
   freedom, not infinitely many.
3. Each condition's interval is the Jeffreys interval (Brown, Cai & DasGupta 2001) of that
   effective binomial: asymmetric near 0 and 100%, never outside them, and still an interval
   when every answer was right (then deff = 1: nothing to estimate clustering from).
4. The gap's interval combines the two by MOVER (Newcombe 1998; Zou & Donner 2008), with the
   correlation the shared images induce between the two accuracies (from the two-way
   covariance), so that away from the boundaries it is gap +- t x its two-way standard error.

Everything is vectorised over levels and costs a few `bincount`s, so `sketchlab plan` and
`sketchlab bench coverage` call this same function on thousands of simulated studies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.cluster_variance import two_way_variance

CONFIDENCE = 0.95
METHOD = (
    "two-way (participant x image) cluster-robust design effect; Jeffreys interval of each "
    "condition's accuracy at its effective number of answers, shrunk for the degrees of "
    "freedom (Korn-Graubard, t on fewer clusters - 1); gap by MOVER with the correlation the "
    "shared images induce"
)
"""The headline interval in one sentence (the report, `plan` and the preregistration)."""


@dataclass(frozen=True)
class GapIntervals:
    """Per level (in `levels` order; index 0 of the condition axis is without "none")."""

    levels: np.ndarray
    answers: np.ndarray
    """(levels, 2): test answers per condition."""
    accuracy: np.ndarray
    """(levels, 2)."""
    accuracy_low: np.ndarray
    accuracy_high: np.ndarray
    design_effect: np.ndarray
    """(levels, 2): two-way variance over the binomial one (1 where every answer agreed)."""
    gap: np.ndarray
    """Accuracy without minus with "none" (NaN where a condition has no answers)."""
    gap_low: np.ndarray
    gap_high: np.ndarray
    df: np.ndarray
    """Degrees of freedom of the gap's t (fewer clusters - 1)."""

    @property
    def gap_half_width(self) -> np.ndarray:
        return (self.gap_high - self.gap_low) / 2

    @property
    def accuracy_half_width(self) -> np.ndarray:
        return (self.accuracy_high - self.accuracy_low) / 2

    @property
    def gap_found(self) -> np.ndarray:
        """The interval excludes 0 (what `plan` counts as power)."""
        return (self.gap_low > 0) | (self.gap_high < 0)


def gap_intervals(
    correct: np.ndarray,
    with_none: np.ndarray,
    level: np.ndarray,
    participant: np.ndarray,
    image: np.ndarray,
) -> GapIntervals:
    """The headline intervals (module docstring) from one element per included test answer:
    `correct` 0/1, `with_none` 0/1, `level` strokes, `participant` and `image` integer codes
    (all images 0: no image column, participants alone)."""
    correct = np.asarray(correct, dtype=float)
    with_none = np.asarray(with_none, dtype=np.int64)
    levels, level_index = np.unique(level, return_inverse=True)
    n_levels = len(levels)
    cell = level_index * 2 + with_none
    answers = np.bincount(cell, minlength=2 * n_levels).astype(float)
    right = np.bincount(cell, weights=correct, minlength=2 * n_levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = right / answers
        psi = (correct - accuracy[cell]) / answers[cell]
    per_cell = two_way_variance(psi, cell, participant, image, 2 * n_levels)
    sign = np.where(with_none == 1, -1.0, 1.0)
    per_level = two_way_variance(psi * sign, level_index, participant, image, n_levels)
    binomial = accuracy * (1 - accuracy) / np.maximum(answers, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = (per_cell.variance > 0) & (binomial > 0)
        design_effect = np.where(measured, per_cell.variance / binomial, 1.0)
        low, high = _jeffreys(accuracy, answers / design_effect, per_cell.df)
        variance = np.where(measured, per_cell.variance, 0.0)
        both = variance.reshape(n_levels, 2)
        covariance = (both.sum(1) - per_level.variance) / 2
        spread = np.sqrt(both.prod(1))
        correlation = np.clip(np.where(spread > 0, covariance / spread, 0.0), -1, 1)
    shape = (n_levels, 2)
    accuracy, low, high = accuracy.reshape(shape), low.reshape(shape), high.reshape(shape)
    gap = accuracy[:, 0] - accuracy[:, 1]
    gap_low, gap_high = _mover(accuracy, low, high, correlation)
    return GapIntervals(
        levels=levels,
        answers=answers.reshape(shape),
        accuracy=accuracy,
        accuracy_low=low,
        accuracy_high=high,
        design_effect=design_effect.reshape(shape),
        gap=gap,
        gap_low=gap_low,
        gap_high=gap_high,
        df=per_level.df,
    )


def _jeffreys(p: np.ndarray, n: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jeffreys interval of rate p from n effective answers shrunk by (z / t_df)^2; 0 and 1
    are bounds when every answer was wrong or right (Brown, Cai & DasGupta's boundary rule)."""
    alpha = 1 - CONFIDENCE
    n = n * (stats.norm.ppf(1 - alpha / 2) / stats.t.ppf(1 - alpha / 2, df)) ** 2
    a, b = p * n + 0.5, (1 - p) * n + 0.5
    low = np.where(p <= 0, 0.0, stats.beta.ppf(alpha / 2, a, b))
    high = np.where(p >= 1, 1.0, stats.beta.ppf(1 - alpha / 2, a, b))
    return low, high


def _mover(accuracy, low, high, correlation) -> tuple[np.ndarray, np.ndarray]:
    """MOVER interval of accuracy[:, 0] - accuracy[:, 1] from each one's interval and their
    correlation (Zou & Donner 2008, eq. for correlated estimates)."""
    without, with_none = accuracy[:, 0], accuracy[:, 1]
    down_without, up_without = without - low[:, 0], high[:, 0] - without
    down_with, up_with = with_none - low[:, 1], high[:, 1] - with_none
    gap = without - with_none
    below = down_without**2 + up_with**2 - 2 * correlation * down_without * up_with
    above = up_without**2 + down_with**2 - 2 * correlation * up_without * down_with
    return gap - np.sqrt(np.maximum(below, 0)), gap + np.sqrt(np.maximum(above, 0))
