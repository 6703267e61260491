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
from dataclasses import replace

from sketchlab.contracts import NONE, WITH_NONE
from study.config import StudyConfig
from study.layout import TrialShape, screens_that_fit
from study.trial_type import ListContext, Trial
from study.trial_types import TRIAL_TYPES, follow_ups

SECONDS_PER_TRIAL = 4.0
"""Planning estimate for a recognition trial (look, decide, click), used by `study check`."""
SECONDS_FIXED = 90.0
"""Planning estimate for consent, instructions and the completion page."""
__all__ = ["Trial", "cells", "describe", "options_for", "participant_seed", "trials_for"]


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
    """The participant's full trial sequence. Each registered trial type places its trials
    (study/trial_types/): ahead of everything (practice), among the main trials, which are
    shuffled with the participant's seed (test, foil, naming), or at evenly spaced positions
    among them (attention checks); a condition's own type then shows every trial its way
    (naming), and follow-ups (confidence) are attached to the trials they follow."""
    levels = config.catalog.levels
    if condition not in config.conditions or not 0 <= list_id < len(levels):
        raise ValueError(f"cell ({condition}, {list_id}) is not in this study's design")
    context = ListContext(
        config, condition, list_id, options_for(config, participant_id, condition)
    )
    before, main, spread = [], [], []
    for trial_type in TRIAL_TYPES.values():
        if trial_type.appears_in is not None and condition not in trial_type.appears_in:
            continue
        placement = trial_type.place(context)
        before += placement.before
        main += placement.main
        spread += placement.spread
    random.Random(participant_seed(config, participant_id)).shuffle(main)
    n_main = len(main)
    for k, trial in enumerate(spread):
        main.insert(round((k + 1) * n_main / (len(spread) + 1)) + k, trial)
    owners = [t for t in TRIAL_TYPES.values() if condition in t.conditions]
    rated = follow_ups()
    trials = []
    for index, trial in enumerate(before + main):
        for owner in owners:
            trial = owner.adapt(trial)
        names = tuple(f.name for f in rated if f.follows(config, trial))
        trials.append(replace(trial, trial_index=index, follow_ups=names))
    return trials


def trial_shapes(config: StudyConfig, trials: list[Trial]) -> list[TrialShape]:
    """What decides how much room these trials' pages need on screen (study/layout.py),
    from the types that show them and the follow-ups asked after them."""
    shapes = []
    for name in dict.fromkeys(trial.shown_by for trial in trials):
        shown = [trial for trial in trials if trial.shown_by == name]
        shapes += TRIAL_TYPES[name].shapes(config, shown)
    for name in dict.fromkeys(name for trial in trials for name in trial.follow_ups):
        shapes += TRIAL_TYPES[name].shapes(config, trials)
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
        seconds = SECONDS_FIXED + sum(
            SECONDS_PER_TRIAL
            + TRIAL_TYPES[trial.shown_by].seconds
            + sum(TRIAL_TYPES[name].seconds for name in trial.follow_ups)
            for trial in trials
        )
        per_condition[condition] = {
            "trials": len(trials),
            "by_type": counts,
            "expected_minutes": round(seconds / 60, 1),
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
        "trial_types": [
            line for t in TRIAL_TYPES.values() if (line := t.summary(config)) is not None
        ],
        "attention_checks": len(config.attention.checks),
        "max_attention_failures": config.attention.max_failures,
        "time_limit_s": config.time_limit_s,
        "storage": config.storage,
    }
