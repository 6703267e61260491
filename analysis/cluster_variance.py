"""The fast interval: two-way (participant x image) cluster-robust variance of per-level
accuracies and of the with-vs-without gap (Cameron, Gelbach & Miller 2011).

The analytic counterpart of the two-way bootstrap (`analysis.bootstrap`): a statistic that
is a mean (or a difference of means) has one influence value per trial, psi; its variance
is sum over participants of (their psi summed)^2 + the same over images - the same over
single trials (each participant sees an image once, so a participant x image cell is one
trial), each part scaled by G / (G - 1) for its G clusters. A negative sum (possible with
few clusters) falls back to the larger one-way variance. Intervals use Student's t with
(fewer clusters - 1) degrees of freedom, so ten images give t = 2.26, not 1.96. It costs a
few `bincount`s, which is what lets `sketchlab plan` analyse thousands of simulated studies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class LevelIntervals:
    """Per level (in `levels` order): estimates and 95% half-widths."""

    levels: np.ndarray
    accuracy: np.ndarray
    """(levels, 2): accuracy without and with "none"."""
    accuracy_half_width: np.ndarray
    gap: np.ndarray
    """accuracy without minus with."""
    gap_half_width: np.ndarray


def level_intervals(
    correct: np.ndarray,
    with_none: np.ndarray,
    level: np.ndarray,
    participant: np.ndarray,
    image: np.ndarray,
) -> LevelIntervals:
    """Two-way cluster-robust 95% intervals of each level's accuracies and gap, from one
    element per test trial (participant and image as integer codes)."""
    levels, level_index = np.unique(level, return_inverse=True)
    n_levels = len(levels)
    group = level_index * 2 + with_none.astype(np.int64)
    trials = np.bincount(group, minlength=2 * n_levels).astype(float)
    right = np.bincount(group, weights=correct, minlength=2 * n_levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = right / trials
        psi = (correct - accuracy[group]) / trials[group]
    sign = np.where(with_none == 1, -1.0, 1.0)
    variance, df = _two_way(psi, group, participant, image, 2 * n_levels)
    gap_variance, gap_df = _two_way(psi * sign, level_index, participant, image, n_levels)
    critical = stats.t.ppf(0.975, np.maximum(df, 1))
    gap_critical = stats.t.ppf(0.975, np.maximum(gap_df, 1))
    return LevelIntervals(
        levels=levels,
        accuracy=accuracy.reshape(n_levels, 2),
        accuracy_half_width=(critical * np.sqrt(variance)).reshape(n_levels, 2),
        gap=accuracy[0::2] - accuracy[1::2],
        gap_half_width=gap_critical * np.sqrt(gap_variance),
    )


def _two_way(psi, group, participant, image, n_groups) -> tuple[np.ndarray, np.ndarray]:
    """(variance, degrees of freedom) per group of the sum of `psi` over its trials."""
    parts, counts = [], []
    for unit in (participant, image):
        key = group * (int(unit.max()) + 1) + unit
        sums = np.bincount(key, weights=psi, minlength=n_groups * (int(unit.max()) + 1))
        present = np.bincount(key, minlength=n_groups * (int(unit.max()) + 1)) > 0
        shaped = (sums**2).reshape(n_groups, -1)
        clusters = present.reshape(n_groups, -1).sum(1)
        parts.append(shaped.sum(1) * clusters / np.maximum(clusters - 1, 1))
        counts.append(clusters)
    single = np.bincount(group, weights=psi**2, minlength=n_groups)
    trials = np.bincount(group, minlength=n_groups)
    variance = parts[0] + parts[1] - single * trials / np.maximum(trials - 1, 1)
    variance = np.where(variance > 0, variance, np.maximum(parts[0], parts[1]))
    return variance, np.minimum(counts[0], counts[1]) - 1


def two_way_meat(scores: np.ndarray, participant: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The middle of a two-way cluster-robust sandwich for per-trial score vectors
    (trials x parameters): participant sums' outer products + image sums' - single trials',
    each scaled G / (G - 1). Not positive semi-definite (few clusters): the larger one-way
    part instead, as `level_intervals` does."""
    parts = []
    for unit in (participant, image):
        codes = np.unique(unit, return_inverse=True)[1]
        clusters = int(codes.max()) + 1
        sums = np.stack(
            [np.bincount(codes, weights=column, minlength=clusters) for column in scores.T], 1
        )
        parts.append(sums.T @ sums * clusters / max(clusters - 1, 1))
    single = scores.T @ scores * len(scores) / max(len(scores) - 1, 1)
    meat = parts[0] + parts[1] - single
    if np.linalg.eigvalsh(meat).min() < 0:
        return max(parts, key=np.trace)
    return meat
