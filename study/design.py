"""The design: which trials a participant sees, and in which order.

Latin square over image x stroke level: list L shows test image i (in the catalog's fixed
sorted order) at level `levels[(i + L) % n_levels]`, so each participant sees every image
once at one level, each level equally often (up to rounding), and over the n_levels lists
every image appears at every level. Foils (with_none only) rotate the same way.

The "none" option is between-subjects, crossed with the list: `cells` are condition x list.
Per participant, practice trials come first in the configured order; test and foil trials
are shuffled with a seed derived from the study salt and the participant id, and attention
checks are placed at evenly spaced positions among them. The same participant id always
gets the same trials in the same order, which is what lets a reload resume exactly.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from sketchlab.contracts import ATTENTION, FOIL, NONE, PRACTICE, TEST, WITH_NONE
from study.config import StudyConfig
from study.layout import TrialShape, screens_that_fit

SECONDS_PER_TRIAL = 4.0
"""Planning estimate for a recognition trial (look, decide, click), used by `study check`."""
SECONDS_FIXED = 90.0
"""Planning estimate for consent, instructions and the completion page."""


@dataclass(frozen=True)
class Trial:
    """One screen of the study. `image_path` stays on the server: the page gets the image
    bytes, never a file name, class or stimulus id that could reveal the answer."""

    trial_index: int
    trial_type: str  # practice | attention | foil | test
    stimulus_id: str
    image_id: str
    true_class: str
    n_strokes: int
    image_path: Path
    options: tuple[str, ...]  # screen order; "none" (last) in the with_none condition
    correct_response: (
        str  # true_class; "none" for foils; the asked-for option in instructional checks
    )
    prompt: str | None = None  # replaces the standard question (instructional attention checks)
    feedback: bool = False  # show right/wrong after answering (practice)


def cells(config: StudyConfig) -> list[tuple[str, int]]:
    """All condition x list cells in allocation order."""
    return [
        (c, list_id) for c in config.conditions for list_id in range(len(config.catalog.levels))
    ]


def participant_seed(config: StudyConfig, participant_id: str) -> int:
    """A 64-bit seed from the study salt and participant id (stable across processes)."""
    digest = hashlib.sha256(f"{config.salt}\n{participant_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def options_for(config: StudyConfig, participant_id: str, condition: str) -> tuple[str, ...]:
    """Button order for this participant: fixed or shuffled once per participant, "none" last."""
    options = list(config.options)
    if config.option_order == "shuffled":
        random.Random(participant_seed(config, participant_id) ^ 0x0F7105).shuffle(options)
    if condition == WITH_NONE:
        options.append(NONE)
    return tuple(options)


def trials_for(
    config: StudyConfig, participant_id: str, condition: str, list_id: int
) -> list[Trial]:
    """The participant's full trial sequence (practice, then shuffled main trials)."""
    catalog = config.catalog
    levels = catalog.levels
    if condition not in config.conditions or not 0 <= list_id < len(levels):
        raise ValueError(f"cell ({condition}, {list_id}) is not in this study's design")
    options = options_for(config, participant_id, condition)
    rng = random.Random(participant_seed(config, participant_id))

    def make(stimulus, trial_type: str, correct: str, **extra) -> dict:
        return dict(
            trial_type=trial_type,
            stimulus_id=stimulus.stimulus_id,
            image_id=stimulus.image_id,
            true_class=stimulus.class_name,
            n_strokes=stimulus.n_strokes,
            image_path=stimulus.png_path,
            options=options,
            correct_response=correct,
            **extra,
        )

    practice = [
        make(s, PRACTICE, s.class_name, feedback=config.practice.feedback)
        for s in (catalog.stimuli[i] for i in config.practice.stimuli)
    ]
    main = []
    for i, image_id in enumerate(catalog.test_images):
        stimulus = catalog.by_image_level[image_id][levels[(i + list_id) % len(levels)]]
        main.append(make(stimulus, TEST, stimulus.class_name))
    if condition == WITH_NONE:
        for j, image_id in enumerate(catalog.foil_images):
            stimulus = catalog.by_image_level[image_id][levels[(j + list_id) % len(levels)]]
            main.append(make(stimulus, FOIL, NONE))
    rng.shuffle(main)
    checks = config.attention.checks
    n_main = len(main)
    for k, check in enumerate(checks):
        stimulus = catalog.stimuli[check.stimulus]
        if check.answer is None:
            trial = make(stimulus, ATTENTION, stimulus.class_name, prompt=check.prompt)
        else:
            prompt = check.prompt or (
                f"Attention check: please select “{check.answer}”, whatever the sketch shows."
            )
            trial = make(stimulus, ATTENTION, check.answer, prompt=prompt)
        main.insert(round((k + 1) * n_main / (len(checks) + 1)) + k, trial)
    return [Trial(trial_index=index, **fields) for index, fields in enumerate(practice + main)]


def trial_shapes(config: StudyConfig, trials: list[Trial]) -> list[TrialShape]:
    """What decides how much room these trials need on screen (study/layout.py): one shape
    per distinct question or prompt."""
    shapes = []
    for question in dict.fromkeys(trial.prompt or config.question for trial in trials):
        options = trials[0].options
        shapes.append(
            TrialShape(
                labels=tuple(config.none_label if o == NONE else o for o in options),
                with_none=NONE in options,
                question=question,
                timed=config.time_limit_s is not None,
                shuffled=config.option_order == "shuffled",
            )
        )
    return shapes


def describe(config: StudyConfig) -> dict:
    """What `study check` prints: cells, trials per participant, expected minutes, and the
    screens (study/layout.py's SCREENS) on which every button of every trial fits."""
    catalog = config.catalog
    per_condition = {}
    for condition in config.conditions:
        trials = trials_for(config, "design-preview", condition, 0)
        counts: dict[str, int] = {}
        for trial in trials:
            counts[trial.trial_type] = counts.get(trial.trial_type, 0) + 1
        per_condition[condition] = {
            "trials": len(trials),
            "by_type": counts,
            "expected_minutes": round((SECONDS_FIXED + SECONDS_PER_TRIAL * len(trials)) / 60, 1),
            "screens_that_fit": screens_that_fit(trial_shapes(config, trials)),
        }
    n_images = len(catalog.test_images)
    return {
        "study_id": config.study_id,
        "stimuli": str(config.stimuli),
        "options": list(config.options),
        "option_order": config.option_order,
        "levels": list(catalog.levels),
        "test_images": n_images,
        "foil_images": len(catalog.foil_images),
        "images_per_level_per_participant": n_images / len(catalog.levels),
        "balanced_lists": n_images % len(catalog.levels) == 0,
        "cells": [f"{c}/list{list_id}" for c, list_id in cells(config)],
        "conditions": per_condition,
        "attention_checks": len(config.attention.checks),
        "max_attention_failures": config.attention.max_failures,
        "time_limit_s": config.time_limit_s,
        "storage": config.storage,
    }
