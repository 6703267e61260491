"""Confidence ratings in the analysis (analysis/metacognition.py): the within-participant type-2
AUROC, its interval allowing for participants and images, accuracy by confidence, and the
report's section for a reader who has not met the terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from analysis.metacognition import (
    MIN_PAIRS,
    confidence_table,
    rated_trials,
    type2_auroc_of,
    type2_table,
)


def _rows(person, rating, correct, image=None) -> pd.DataFrame:
    n = len(rating)
    return pd.DataFrame(
        {
            "participant_id": person,
            "image_id": image if image is not None else [f"i{k}" for k in range(n)],
            "confidence": rating,
            "correct": correct,
        }
    )


def test_perfect_and_useless_confidence():
    people = np.repeat(["a", "b", "c", "d"], 6)
    correct = np.tile([1, 1, 1, 0, 0, 0], 4)
    perfect = type2_auroc_of(_rows(people, np.where(correct == 1, 5, 2), correct))
    assert perfect.auroc == 1 and perfect.pairs == 36
    flat = type2_auroc_of(_rows(people, np.full(24, 3), correct))
    assert flat.auroc == 0.5, "ties count half"
    assert np.isnan([perfect.low, perfect.high, flat.low, flat.high]).all(), (
        "no variation to estimate an interval from: none is claimed"
    )
    noisy = type2_auroc_of(_rows(people, np.tile([5, 4, 2, 4, 2, 1], 4), correct))
    assert noisy.auroc == pytest.approx(7 / 9) and noisy.low < noisy.auroc < noisy.high < 1


def test_pairs_are_within_a_participant():
    """One person rates everything 5 and is always right, another rates everything 1 and is
    always wrong: pooled over people that looks like perfect metacognition, but neither person's
    confidence tells their own right answers from their wrong ones."""
    people = ["sure"] * 12 + ["unsure"] * 12
    rows = _rows(people, [5] * 12 + [1] * 12, [1] * 12 + [0] * 12)
    assert type2_auroc_of(rows) is None, "no right-wrong pair within anyone"
    mixed = _rows(["x"] * 8, [5, 5, 5, 5, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0])
    assert type2_auroc_of(pd.concat([rows, mixed])).auroc == 0.5
    assert MIN_PAIRS == 10


def _study(rng, participants, images, image_sd, image_confidence) -> pd.DataFrame:
    """Participants rate their answers: confidence follows being right, the image's ease and
    an image effect of its own (images differ in how sure people feel), plus a scale bias per
    person."""
    ease = rng.normal(0, image_sd, images)
    feel = rng.normal(0, image_confidence, images)
    ability = rng.normal(0, 0.6, participants)
    bias = rng.normal(0, 0.7, participants)
    person = np.repeat(np.arange(participants), images)
    image = np.tile(np.arange(images), participants)
    correct = (rng.random(len(person)) < special.expit(0.6 + ability[person] + ease[image])).astype(
        int
    )
    latent = 1.2 * (correct - 0.5) + 0.4 * ease[image] + feel[image] + bias[person]
    rating = np.digitize(latent + rng.normal(size=len(person)), [-1.5, -0.5, 0.5, 1.5]) + 1
    return _rows(person.astype(str), rating, correct, image.astype(str))


def _truth(rng, images, image_sd, image_confidence) -> float:
    """The population value: many studies, each with images of its own, pooled."""
    studies = [
        _study(rng, 100, images, image_sd, image_confidence).assign(
            participant_id=lambda d, r=r: f"{r}-" + d["participant_id"],
            image_id=lambda d, r=r: f"{r}-" + d["image_id"],
        )
        for r in range(200)
    ]
    return type2_auroc_of(pd.concat(studies)).auroc


def test_the_interval_allows_for_images_as_well_as_participants():
    """Where images differ in how sure they make people, a participant-only interval is far
    too narrow (covers the population value in about half of the studies); the two-way one
    covers it about 95% of the time. Seeded; 200 studies of 60 participants x 16 images."""
    rng = np.random.default_rng(11)
    truth = _truth(rng, 16, 1.0, 1.5)
    two_way = participants_only = 0
    for _ in range(200):
        study = _study(rng, 60, 16, 1.0, 1.5)
        found = type2_auroc_of(study)
        alone = type2_auroc_of(study.assign(image_id="one image"))
        two_way += found.low <= truth <= found.high
        participants_only += alone.low <= truth <= alone.high
    assert 0.88 <= two_way / 200 <= 0.99
    assert participants_only / 200 < 0.7


def test_without_image_effects_the_interval_is_as_wide_as_the_spread():
    rng = np.random.default_rng(5)
    found = [type2_auroc_of(_study(rng, 60, 16, 0.0, 0.0)) for _ in range(150)]
    spread = np.std([f.auroc for f in found])
    half_width = np.mean([(f.high - f.low) / 2 for f in found]) / 2.13  # t on 15 df
    assert half_width == pytest.approx(spread, rel=0.2)


def test_accuracy_by_confidence_and_per_level():
    rows = pd.DataFrame(
        {
            "participant_id": ["a"] * 6,
            "condition": "with_none",
            "trial_type": ["test"] * 5 + ["practice"],
            "image_id": list("uvwxyz"),
            "n_strokes": [4, 4, 32, 32, 32, 4],
            "confidence": [1, 1, 5, 5, 5, 5],
            "correct": [0, 1, 1, 1, 0, 1],
        }
    )
    table = confidence_table(rated_trials(rows)).set_index(["n_strokes", "confidence"])
    assert table.loc[("all", 1), "accuracy"] == 0.5 and table.loc[("all", 5), "n_trials"] == 3
    assert table.loc[("32", 5), "accuracy"] == pytest.approx(2 / 3)
    assert ("4", 5) not in table.index, "practice is not analysed"
    assert type2_table(rated_trials(rows)).empty, "too few pairs"
