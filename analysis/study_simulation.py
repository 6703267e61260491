"""Simulated studies through the study's real design, fast enough to repeat thousands of times.

`sketchlab plan` and the coverage test need many simulated studies. Each goes through the
study package's own design code: `study.design.cells` and `study.assignment.least_filled`
allocate the participants, in arrival order, to condition x list cells as the app does, and
`study.design.trials_for` gives each cell's test trials (the Latin square: which image at
which level). `study simulate` sends participants through the whole app instead (storage,
clock, consent), which is right for testing the app and far too slow for thousands of
studies; the design code both share is what decides the clustering the intervals must
survive.

Answers come from the response model of simulated participants (study/response_model.py,
the one `study simulate` uses too): a logistic mixed model, for participant p and image i at
level l in condition c, logit P(right) = logit[c][l] + u_p + v_i + w_i x with_none. Only the
forced-choice conditions' test trials are drawn (what the plan's intervals are about); a
naming condition's participants take their place in the allocation and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from sketchlab.contracts import NONE, TEST, WITH_NONE, WITHOUT_NONE
from study.assignment import least_filled
from study.config import StudyConfig
from study.design import cells, describe, trials_for
from study.response_model import ResponseModel


@dataclass(frozen=True)
class StudyDesign:
    """What the study's design code gives the simulation: cells and each cell's test trials."""

    cells: list[tuple[str, int]]
    """(condition, list) in allocation order (`study.design.cells`)."""
    images: list[str]
    """Test image ids; trials refer to them by position."""
    trials: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]
    """Per cell: (image position, level) of each test trial a participant sees."""
    classes: dict[str, str] = field(default_factory=dict)
    """Image id -> class (for responses tables)."""
    options: tuple[str, ...] = ()
    minutes: dict[str, float] = field(default_factory=dict)
    """Expected minutes per participant per condition (`study check`'s estimate)."""

    @property
    def levels(self) -> list[int]:
        return sorted({int(level) for _, levels in self.trials.values() for level in levels})


def study_design(config: StudyConfig) -> StudyDesign:
    """Each cell's test trials from `study.design.trials_for` (the trials are the same for
    every participant of a cell; only their order and the button order differ)."""
    images = list(config.catalog.test_images)
    position = {image: index for index, image in enumerate(images)}
    trials, classes = {}, {}
    for condition, list_id in cells(config):
        tests = [t for t in trials_for(config, "plan", condition, list_id) if t.trial_type == TEST]
        trials[(condition, list_id)] = (
            np.array([position[t.image_id] for t in tests], dtype=np.int64),
            np.array([t.n_strokes for t in tests], dtype=np.int64),
        )
        classes.update({t.image_id: t.true_class for t in tests})
    minutes = {c: info["expected_minutes"] for c, info in describe(config)["conditions"].items()}
    return StudyDesign(cells(config), images, trials, classes, tuple(config.options), minutes)


def allocate(design: StudyDesign, n_participants: int) -> list[tuple[str, int]]:
    """The cell of each of `n_participants` arrivals, by the app's allocation rule (everyone
    completes: a planned sample)."""
    counts: dict[tuple[str, int], int] = {}
    allocated = []
    for _ in range(n_participants):
        cell = least_filled(design.cells, counts, None)
        counts[cell] = counts.get(cell, 0) + 1
        allocated.append(cell)
    return allocated


@dataclass(frozen=True)
class SimulatedTrials:
    """One simulated study's test trials as arrays (one element per trial)."""

    participant: np.ndarray
    image: np.ndarray
    with_none: np.ndarray
    level: np.ndarray
    correct: np.ndarray


def simulate_study(
    design: StudyDesign, n_participants: int, model: ResponseModel, rng: np.random.Generator
) -> SimulatedTrials:
    """Draw one study of `n_participants` (fresh participant and image effects)."""
    allocated = allocate(design, n_participants)
    parts = [design.trials[cell] for cell in allocated]
    sizes = np.array([len(images) for images, _ in parts])
    participant = np.repeat(np.arange(n_participants), sizes)
    image = np.concatenate([images for images, _ in parts])
    level = np.concatenate([levels for _, levels in parts])
    with_none = np.repeat([cell[0] == WITH_NONE for cell in allocated], sizes)
    table = np.array(
        [[model.logit[c].get(int(lv), np.nan) for lv in design.levels] for c in (WITHOUT_NONE,
                                                                                  WITH_NONE)]
    )  # fmt: skip
    level_index = np.searchsorted(design.levels, level)
    n_images = len(design.images)
    slope = rng.normal(0, model.image_slope_sd, n_images)
    logit = (
        table[with_none.astype(int), level_index]
        + rng.normal(0, model.participant_sd, n_participants)[participant]
        + rng.normal(0, model.image_sd, n_images)[image]
        + slope[image] * with_none
    )
    correct = (rng.random(len(logit)) < special.expit(logit)).astype(np.int8)
    return SimulatedTrials(participant, image, with_none.astype(np.int8), level, correct)


def as_responses(simulated: SimulatedTrials, design: StudyDesign, prefix: str) -> pd.DataFrame:
    """The simulated trials as a responses table (`sketchlab.contracts.RESPONSE_COLUMNS`
    that the analysis reads): a wrong answer is "none" with that button, else another class."""
    image_ids = np.array(design.images, dtype=object)[simulated.image]
    true_class = pd.Series(image_ids).map(design.classes).to_numpy(dtype=object)
    options = list(design.options)
    other = np.array([options[(options.index(c) + 1) % len(options)] for c in true_class])
    condition = np.where(simulated.with_none == 1, WITH_NONE, WITHOUT_NONE)
    wrong = np.where(simulated.with_none == 1, NONE, other)
    response = np.where(simulated.correct == 1, true_class, wrong)
    shown = "|".join(options)
    trial_index = np.arange(len(simulated.participant)) - np.searchsorted(
        simulated.participant, simulated.participant
    )
    return pd.DataFrame(
        {
            "participant_id": np.char.add(prefix, simulated.participant.astype(str)),
            "condition": condition,
            "trial_index": trial_index,
            "trial_type": TEST,
            "stimulus_id": np.char.add(
                image_ids.astype(str), np.char.add("_", simulated.level.astype(str))
            ),
            "image_id": image_ids,
            "true_class": true_class,
            "n_strokes": simulated.level,
            "options_shown": np.where(simulated.with_none == 1, f"{shown}|{NONE}", shown),
            "response": response,
            "correct": simulated.correct,
            "is_none": (response == NONE).astype(np.int8),
        }
    )
