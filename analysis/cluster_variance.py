"""Two-way (participant x image) cluster-robust variance of means and of differences of means
(Cameron, Gelbach & Miller 2011).

A statistic that is a mean (or a difference of means) has one influence value per trial, psi;
its variance is the sum over participants of (their psi summed)^2 + the same over images - the
same over single trials (each participant sees an image once, so a participant x image cell is
one trial): the per-answer noise is in both cluster sums and is taken out once, which is what
a bootstrap that resamples participants and images together cannot do (it counts that noise
twice). Each cluster part is scaled by G / (G - 1) for its G clusters; a negative sum
(possible with few clusters) falls back to the larger one-way variance. The interval built
on it (`analysis.gap_interval`) uses Student's t with (fewer clusters - 1) degrees of
freedom. It costs a few `bincount`s, which is what lets `sketchlab plan` and `sketchlab bench
coverage` analyse thousands of simulated studies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TwoWayVariance:
    """Per group: the two-way variance of the sum of psi over the group's trials."""

    variance: np.ndarray
    participants: np.ndarray
    """Participant clusters with trials in the group."""
    images: np.ndarray
    """Image clusters with trials in the group (1: no image clustering, participants only)."""

    @property
    def df(self) -> np.ndarray:
        """Degrees of freedom of Student's t: fewer clusters - 1 (at least 1); with one image,
        participants - 1."""
        clusters = np.where(self.images > 1, np.minimum(self.participants, self.images),
                            self.participants)  # fmt: skip
        return np.maximum(clusters - 1, 1)


def two_way_variance(
    psi: np.ndarray,
    group: np.ndarray,
    participant: np.ndarray,
    image: np.ndarray,
    n_groups: int,
    *,
    participant_psi: np.ndarray | None = None,
) -> TwoWayVariance:
    """Two-way cluster-robust variance of sum(psi) within each of `n_groups` groups (module
    docstring); `participant` and `image` are integer codes per trial. A group whose trials all
    show one image is clustered by participant alone. `participant_psi` (default `psi`) is
    summed for the participant part instead: a statistic over pairs of one participant's
    answers (the type-2 AUROC) has both members of every pair in the same participant, so each
    pair counts once there (half its deviation per answer), but fully in each of its images."""
    parts, counts = [], []
    single = np.bincount(group, weights=psi**2, minlength=n_groups)
    by_unit = ((participant, psi if participant_psi is None else participant_psi), (image, psi))
    for unit, psi in by_unit:
        width = int(unit.max()) + 1 if len(unit) else 1
        key = group * width + unit
        sums = np.bincount(key, weights=psi, minlength=n_groups * width)
        present = np.bincount(key, minlength=n_groups * width) > 0
        clusters = present.reshape(n_groups, -1).sum(1)
        parts.append(
            (sums**2).reshape(n_groups, -1).sum(1) * clusters / np.maximum(clusters - 1, 1)
        )
        counts.append(clusters)
    by_participant, by_image = parts
    trials = np.bincount(group, minlength=n_groups)
    both = by_participant + by_image - single * trials / np.maximum(trials - 1, 1)
    variance = np.where(both > 0, both, np.maximum(by_participant, by_image))
    variance = np.where(counts[1] > 1, variance, by_participant)
    return TwoWayVariance(variance, counts[0], counts[1])


def two_way_meat(scores: np.ndarray, participant: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The middle of a two-way cluster-robust sandwich for per-trial score vectors
    (trials x parameters): participant sums' outer products + image sums' - single trials',
    each scaled G / (G - 1). Not positive semi-definite (few clusters): the larger one-way
    part instead, as `two_way_variance` does."""
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
