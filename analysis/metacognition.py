"""Confidence ratings (study/trial_types/confidence.py): accuracy by confidence, calibration, and
type-2 sensitivity.

- `confidence_table`: per condition, stroke level (and all levels pooled) and rating: answers,
  right answers, accuracy, Wilson 95%. Pooled over levels it is accuracy by confidence; per level
  it is the calibration plot's data.
- `type2_auroc_of`: how well a person's confidence tells their right answers from their wrong
  ones (type-2 sensitivity; Clarke, Birdsall & Tanner 1959; Fleming & Lau 2014). For every
  pair of one right and one wrong answer *of the same participant*, it is the probability
  that the right one got the higher rating (ties count half): 0.5 when confidence says
  nothing about being right, 1 when every right answer was rated above every wrong one.
  Pairs within a participant, so that people who use the scale differently (one rates
  everything 4-5, another 1-3) do not pass for metacognition. Per condition, all levels
  together and, where there are enough pairs, per level.
- Its interval allows for participants *and* images, as the report's headline interval does
  (analysis/gap_interval.py): the AUROC is a two-sample U-statistic, and its linearisation gives
  each answer an influence (DeLong et al. 1988: the deviations from the AUROC of the pairs it
  is in, over the number of pairs); the two-way (participant x image) cluster-robust variance
  of their sum (analysis/cluster_variance.py; a pair counts once in its participant, whose
  answers both are, and in each of its two images; never less than the participant-clustered
  variance, which the subtraction of the per-answer part can undercut with few images) and
  Student's t on fewer clusters - 1 degrees of freedom give the interval, on the log-odds scale
  so that it stays inside 0-1.

Only the study's measured trials count (test and naming trials: the TARGET role), and only
answers with a rating (timed-out trials have none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.accuracy import wilson_interval
from analysis.cluster_variance import two_way_variance
from study.trial_type import TARGET
from study.trial_types import conditions, roles

ALL_LEVELS = "all"
MIN_PAIRS = 10
"""A type-2 AUROC needs at least this many right-wrong pairs (else it is left out)."""
CONFIDENCE = 0.95
TYPE2_COLUMNS = (
    "condition", "n_strokes", "auroc", "ci_low", "ci_high", "pairs", "participants", "images",
    "df",
)  # fmt: skip
"""type2_auroc.csv: per condition and level (`all`: every level): the within-participant
type-2 AUROC, its 95% interval, the right-wrong pairs it rests on, the participants and images
with such pairs, and the t's degrees of freedom."""
CONFIDENCE_COLUMNS = (
    "condition", "n_strokes", "confidence", "n_trials", "n_correct", "accuracy", "ci_low",
    "ci_high",
)  # fmt: skip
"""confidence.csv: per condition, level (`all`: pooled) and rating."""


def rated_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The measured trials that have a rating, with `confidence` as int."""
    if "confidence" not in trials.columns:
        return trials.iloc[0:0]
    targets = [name for name, role in roles().items() if role == TARGET]
    rows = trials[trials["trial_type"].isin(targets) & trials["confidence"].notna()]
    return rows.assign(
        confidence=rows["confidence"].astype(int),
        n_strokes=rows["n_strokes"].astype(int),
        condition=rows["condition"].astype(str),
    )


def confidence_table(rated: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per condition x level (and all levels) x rating (CONFIDENCE_COLUMNS)."""
    parts = []
    for pooled in (True, False):
        rows = rated.assign(n_strokes=ALL_LEVELS) if pooled else rated
        grouped = rows.groupby(["condition", "n_strokes", "confidence"], observed=True)
        table = grouped["correct"].agg(n_trials="size", n_correct="sum").reset_index()
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    rank = table["condition"].map({condition: i for i, condition in enumerate(conditions())})
    table = table.assign(_rank=rank).sort_values(
        ["_rank", "n_strokes", "confidence"], kind="stable"
    )
    table["n_correct"] = table["n_correct"].astype(int)
    table["accuracy"] = table["n_correct"] / table["n_trials"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["n_correct"], table["n_trials"])
    table["n_strokes"] = table["n_strokes"].astype(str)
    return table[list(CONFIDENCE_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class Type2:
    """One type-2 AUROC with its interval and what it rests on."""

    auroc: float
    low: float
    high: float
    pairs: int
    participants: int
    images: int
    df: int


def type2_auroc_of(rated: pd.DataFrame) -> Type2 | None:
    """The within-participant type-2 AUROC of these rated answers (module docstring), or None
    with fewer than MIN_PAIRS right-wrong pairs."""
    person = pd.factorize(rated["participant_id"].astype(str))[0]
    image_column = "image_id" if "image_id" in rated.columns else "stimulus_id"
    image = pd.factorize(rated[image_column].astype(str))[0]
    rating = rated["confidence"].to_numpy(dtype=float)
    right = rated["correct"].to_numpy() == 1
    influence = np.zeros(len(rated))
    total = pairs = 0.0
    kernels = []
    for who in np.unique(person):
        mine = np.flatnonzero(person == who)
        hits, misses = mine[right[mine]], mine[~right[mine]]
        if not len(hits) or not len(misses):
            continue
        kernel = (rating[hits, None] > rating[None, misses]) + 0.5 * (
            rating[hits, None] == rating[None, misses]
        )
        kernels.append((hits, misses, kernel))
        total += kernel.sum()
        pairs += kernel.size
    if pairs < MIN_PAIRS:
        return None
    auroc = total / pairs
    for hits, misses, kernel in kernels:
        influence[hits] += (kernel - auroc).sum(axis=1) / pairs
        influence[misses] += (kernel - auroc).sum(axis=0) / pairs
    in_pairs = np.zeros(len(rated), dtype=bool)
    for hits, misses, _ in kernels:
        in_pairs[hits] = in_pairs[misses] = True
    used = np.flatnonzero(in_pairs)
    group = np.zeros(len(used), dtype=np.int64)
    variance = two_way_variance(
        influence[used], group, person[used], image[used], 1, participant_psi=influence[used] / 2
    )
    by_participant = two_way_variance(
        influence[used], group, person[used], group, 1, participant_psi=influence[used] / 2
    )
    se = float(np.sqrt(max(variance.variance[0], by_participant.variance[0], 0.0)))
    df = int(variance.df[0])
    t = stats.t.ppf(1 - (1 - CONFIDENCE) / 2, df)
    inside = min(max(auroc, 0.5 / pairs), 1 - 0.5 / pairs)
    centre, spread = special.logit(inside), se / (inside * (1 - inside))
    if se == 0:  # no answer's pairs vary (all ties, or every pair ordered): nothing to go by
        centre, spread = np.nan, np.nan
    return Type2(
        auroc=float(auroc),
        low=float(special.expit(centre - t * spread)),
        high=float(special.expit(centre + t * spread)),
        pairs=int(pairs),
        participants=int(variance.participants[0]),
        images=int(variance.images[0]),
        df=df,
    )


def type2_table(rated: pd.DataFrame) -> pd.DataFrame:
    """The type-2 AUROC per condition, all levels and each level (TYPE2_COLUMNS); rows with
    too few pairs are left out."""
    rows = []
    for condition, in_condition in rated.groupby("condition", sort=False, observed=True):
        groups = [(ALL_LEVELS, in_condition)] + [
            (str(level), part) for level, part in in_condition.groupby("n_strokes", sort=True)
        ]
        for level, part in groups:
            found = type2_auroc_of(part)
            if found is not None:
                rows.append(
                    (condition, level, found.auroc, found.low, found.high, found.pairs,
                     found.participants, found.images, found.df)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=list(TYPE2_COLUMNS))
