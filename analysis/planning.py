"""Plan before paying: what N participants would buy, simulated through the study's design.

For each sample size, `replications` studies are simulated through the study's own design
code and the report's response model (`analysis.study_simulation`) and analysed with the
fast two-way cluster-robust interval (`analysis.cluster_variance`; the full mixed model would
take minutes per study, so it is not used here). Per level the plan reports the expected
95% half-width of each condition's accuracy and of the with-vs-without gap, and the power:
the share of studies whose gap interval excludes zero. The effects come from the paper
(`paper_response_model`) or from a pilot's fitted mixed model (`pilot_response_model`).
Cost: participants x the study's expected minutes per participant (`study check`'s estimate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.cluster_variance import level_intervals
from analysis.glmm import GlmmResult
from analysis.study_simulation import (
    ResponseModel,
    StudyDesign,
    calibrated_logit,
    marginal_rates,
    simulate_study,
)
from sketchlab.contracts import WITH_NONE, WITHOUT_NONE
from sketchlab.errors import BadInput

PLAN_COLUMNS = (
    "participants", "n_strokes", "accuracy_without", "accuracy_with", "gap",
    "half_width_without", "half_width_with", "half_width_gap", "power_gap",
    "participant_minutes",
)  # fmt: skip
"""plan.csv: expected accuracies and gap (the model's population values), mean 95%
half-widths over the simulated studies, power, and the cost in participant-minutes."""


@dataclass(frozen=True)
class Plan:
    table: pd.DataFrame
    """PLAN_COLUMNS, one row per sample size x level."""
    model: ResponseModel
    replications: int
    minutes_per_participant: float


def plan_study(
    design: StudyDesign,
    sizes: list[int],
    model: ResponseModel,
    *,
    replications: int = 200,
    seed: int = 0,
) -> Plan:
    """Simulate `replications` studies of each size in `sizes` (module docstring)."""
    rng = np.random.default_rng(seed)
    rates = marginal_rates(model)
    minutes = float(np.mean([design.minutes[c] for c, _ in design.cells]))
    rows = []
    for size in sizes:
        runs = [
            level_intervals(s.correct, s.with_none, s.level, s.participant, s.image)
            for s in (simulate_study(design, size, model, rng) for _ in range(replications))
        ]
        levels = runs[0].levels
        half_width = np.mean([run.accuracy_half_width for run in runs], axis=0)
        gap_half_width = np.mean([run.gap_half_width for run in runs], axis=0)
        power = np.mean([np.abs(run.gap) > run.gap_half_width for run in runs], axis=0)
        for i, level in enumerate(levels):
            without, with_none = rates[WITHOUT_NONE][level], rates[WITH_NONE][level]
            rows.append(
                (size, int(level), without, with_none, without - with_none, half_width[i, 0],
                 half_width[i, 1], gap_half_width[i], power[i], size * minutes)
            )  # fmt: skip
    return Plan(pd.DataFrame(rows, columns=PLAN_COLUMNS), model, replications, minutes)


def pilot_response_model(fit: GlmmResult, tests: pd.DataFrame, levels: list[int]) -> ResponseModel:
    """The response model a pilot's per-level mixed model estimates: its log-odds per
    condition x level and its random-effect SDs. A cell without variation (separation) has
    no estimate; it gets the log-odds of its rate moved half a trial inwards."""
    if not fit.fitted:
        raise BadInput(f"the pilot's mixed model could not be fitted: {fit.reason}")
    terms = fit.terms[fit.terms["model"] == "levels"].set_index("term")["estimate"]
    effects = fit.random_effects[fit.random_effects["model"] == "levels"]
    sd = {
        (group, effect): value
        for group, effect, value in zip(effects["group"], effects["effect"], effects["value"])
    }
    model = ResponseModel(
        {},
        participant_sd=float(sd.get(("participant", "SD of (Intercept)"), 0.0)),
        image_sd=float(sd.get(("image", "SD of (Intercept)"), 0.0)),
        image_slope_sd=float(sd.get(("image", "SD of with_none"), 0.0)),
    )
    logit: dict[str, dict[int, float]] = {WITHOUT_NONE: {}, WITH_NONE: {}}
    for level in levels:
        base = terms.get(f"level{level}", np.nan)
        contrast = terms.get(f"level{level}:with_none", np.nan)
        for condition, value in ((WITHOUT_NONE, base), (WITH_NONE, base + contrast)):
            cell = tests[(tests["n_strokes"] == level) & (tests["condition"] == condition)]
            if cell.empty:
                raise BadInput(
                    f"the pilot has no {condition} test trials at {level} strokes (field "
                    "'n_strokes'), so it cannot give that cell's effect"
                )
            if not np.isfinite(value):
                rate = (cell["correct"].sum() + 0.5) / (len(cell) + 1)
                value = calibrated_logit(rate, model.total_sd(condition))
            logit[condition][int(level)] = float(value)
    return ResponseModel(
        logit, model.participant_sd, model.image_sd, model.image_slope_sd, "the pilot's mixed model"
    )
