"""Two-way cluster bootstrap: participants and images resampled together (Owen's pigeonhole
bootstrap), so an interval reflects that other people *and other sketches* would give other
numbers (docs/analysis.md, "Statistics").

Each draw resamples the participants of each condition with replacement (conditions are
between-subjects) and, once for both conditions, the images with replacement (test images
and foil images each among themselves). A trial then counts with weight
(times its participant was drawn) x (times its image was drawn). Only the counts per
condition x trial type x level are kept (trials, right answers, "none" answers), so every
statistic of the comparison (accuracies, the gap, the caution share) is computed from the
same draws. Vectorised: per condition, a sparse participants x (cell, image, count) matrix
multiplied by a block of participant-weight vectors; 1,000 draws of a million trials take
seconds. Without an image column the images count as one, and it is a participant bootstrap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from sketchlab.contracts import CONDITIONS, FOIL, TEST

KINDS = (TEST, FOIL)
COUNTS = ("trials", "correct", "none")


@dataclass(frozen=True)
class BootstrapCounts:
    """Resampled counts: `counts[draw, cell, count]` for the cells of `cells`."""

    cells: pd.DataFrame
    """kind (test/foil), condition, n_strokes: one row per cell, in `counts` order."""
    counts: np.ndarray
    """(n_boot, cells, 3): weighted trials, right answers and "none" answers per draw."""
    images: int
    """Images resampled (1: no image column, so participants only)."""

    def get(self, kind: str, condition: str, level: int, count: str) -> np.ndarray:
        """The n_boot values of one count of one cell (NaN when the cell is absent)."""
        match = np.flatnonzero(
            (self.cells["kind"] == kind)
            & (self.cells["condition"] == condition)
            & (self.cells["n_strokes"] == level)
        )
        if not match.size:
            return np.full(self.counts.shape[0], np.nan)
        return self.counts[:, match[0], COUNTS.index(count)]


def image_column(trials: pd.DataFrame) -> str | None:
    """The column naming the image a sketch was made from (else the sketch itself)."""
    return next(
        (c for c in ("image_id", "stimulus_id") if c in trials.columns and trials[c].notna().all()),
        None,
    )


def two_way_bootstrap(
    scored: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, chunk: int = 50
) -> BootstrapCounts:
    """Resampled counts of the included test and foil trials in `scored` (module docstring)."""
    rng = np.random.default_rng(seed)
    rows = scored[scored["trial_type"].isin(KINDS)]
    item = image_column(rows)
    image = pd.factorize(rows[item])[0] if item else np.zeros(len(rows), dtype=np.int64)
    n_images = int(image.max()) + 1 if len(rows) else 1
    is_foil = (rows["trial_type"] == FOIL).to_numpy()
    pool_of_image = np.zeros(n_images, dtype=bool)
    pool_of_image[image[is_foil]] = True
    cell_keys = (
        rows.assign(kind=rows["trial_type"].astype(str), condition=rows["condition"].astype(str))
        .groupby(["kind", "condition", "n_strokes"], observed=True)
        .ngroup()
        .to_numpy()
    )
    cells = (
        rows.assign(kind=rows["trial_type"].astype(str), condition=rows["condition"].astype(str))
        .groupby(["kind", "condition", "n_strokes"], observed=True)
        .size()
        .index.to_frame(index=False)
    )
    cells["n_strokes"] = cells["n_strokes"].astype(int)
    counts = np.zeros((n_boot, len(cells), len(COUNTS)))
    chunk = max(1, min(chunk, 2_000_000 // max(len(cells) * n_images * len(COUNTS), 1)))
    values = np.column_stack(
        [np.ones(len(rows)), rows["correct"].to_numpy(float), rows["is_none"].to_numpy(float)]
    )
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        image_weights = _image_weights(pool_of_image, size, rng)
        for condition in CONDITIONS:
            mine = (rows["condition"] == condition).to_numpy()
            if mine.any():
                counts[start : start + size] += _condition_counts(
                    rows.loc[mine, "participant_id"],
                    image[mine],
                    cell_keys[mine],
                    values[mine],
                    image_weights,
                    len(cells),
                    rng,
                )
    return BootstrapCounts(cells, counts, n_images)


def _image_weights(pool_of_image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, images): how often each image is drawn, test and foil images each in their pool."""
    weights = np.zeros((size, len(pool_of_image)))
    for pool in (False, True):
        members = np.flatnonzero(pool_of_image == pool)
        if members.size:
            weights[:, members] = _multiplicities(members.size, size, rng)
    return weights


def _multiplicities(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, n): times each of n units is drawn in each of `size` resamples of n."""
    draws = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
    return np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _condition_counts(
    participants: pd.Series,
    image: np.ndarray,
    cell: np.ndarray,
    values: np.ndarray,
    image_weights: np.ndarray,
    n_cells: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(draws, cells, counts) of one condition's trials under resampled participants and the
    given image weights."""
    person = pd.factorize(participants)[0]
    n_people, n_images = int(person.max()) + 1, image_weights.shape[1]
    column = (cell * n_images + image)[:, None] * len(COUNTS) + np.arange(len(COUNTS))
    matrix = sparse.csr_matrix(
        (values.ravel(), (np.repeat(person, len(COUNTS)), column.ravel())),
        shape=(n_people, n_cells * n_images * len(COUNTS)),
    )
    people = _multiplicities(n_people, len(image_weights), rng)
    per_image = np.asarray((matrix.T @ people.T).T).reshape(
        len(image_weights), n_cells, n_images, len(COUNTS)
    )
    return np.einsum("bcik,bi->bck", per_image, image_weights)


def percentile_interval(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles, ignoring draws without a value (NaN)."""
    with warnings.catch_warnings():  # a statistic without any value: NaN, said by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(draws, [2.5, 97.5], axis=axis)
    return low, high
