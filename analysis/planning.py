"""Plan before paying: what N participants would buy, simulated through the study's design.

For each sample size, `replications` studies are simulated through the study's own design
code and a logistic response model with participant and image effects
(`analysis.study_simulation`, answers from `study.response_model`, the model `study simulate`
uses too), and each is analysed with the interval the report prints
(`analysis.gap_interval.gap_intervals`, the very function `analyze` calls). Per level the plan
reports the expected 95% half-width of each condition's accuracy and of the with-vs-without
gap, and the power: the share of studies whose gap interval excludes zero. The effects come
from the paper (`paper_response_model`: `study.response_model.paper_model`, with the SDs of
`PlanAssumptions`) or from a pilot's
fitted mixed model (`pilot_response_model`). Cost: participants x the study's expected minutes
per participant (`study check`'s estimate).

`Plan.assumptions` says what the numbers rest on, as data (`PlanAssumptions` holds the default
spreads); `describe_plan` gives the sentences `sketchlab plan` prints and a preregistration can
quote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.gap_interval import METHOD, gap_intervals
from analysis.model_result import GlmmResult
from analysis.study_simulation import StudyDesign, simulate_study
from sketchlab.contracts import WITH_NONE, WITHOUT_NONE
from sketchlab.errors import BadInput
from study.response_model import ResponseModel, calibrated_logit, marginal_rates, paper_model

PLAN_COLUMNS = (
    "participants", "n_strokes", "accuracy_without", "accuracy_with", "gap",
    "half_width_without", "half_width_with", "half_width_gap", "power_gap",
    "participant_minutes",
)  # fmt: skip
"""plan.csv: expected accuracies and gap (the model's population values), mean 95%
half-widths over the simulated studies, power, and the cost in participant-minutes."""


@dataclass(frozen=True)
class PlanAssumptions:
    """The spread a plan assumes when no pilot says otherwise (log-odds SDs): the response
    model's defaults (study/response_model.py says why they do not flatter). A pilot
    (`--pilot`) replaces all three with measured values."""

    participant_sd: float = ResponseModel.participant_sd
    image_sd: float = ResponseModel.image_sd
    image_slope_sd: float = ResponseModel.image_slope_sd


@dataclass(frozen=True)
class Plan:
    table: pd.DataFrame
    """PLAN_COLUMNS, one row per sample size x level."""
    model: ResponseModel
    replications: int
    minutes_per_participant: float
    assumptions: dict
    """What the plan rests on, as plain data (`plan_assumptions`): effects and their source,
    the three SDs, the design, the interval and what power means."""


def plan_assumptions(design: StudyDesign, model: ResponseModel, replications: int) -> dict:
    """What a plan of `design` under `model` rests on, as plain (JSON-ready) data."""
    rates = marginal_rates(model)
    return {
        "source": model.source,
        "participant_sd": model.participant_sd,
        "image_sd": model.image_sd,
        "image_slope_sd": model.image_slope_sd,
        "population_accuracy": {
            condition: {str(level): rate for level, rate in by_level.items()}
            for condition, by_level in rates.items()
        },
        "test_images": len(design.images),
        "lists": len({list_id for _, list_id in design.cells}),
        "conditions": sorted({condition for condition, _ in design.cells}),
        "interval": METHOD,
        "power": "share of simulated studies whose 95% gap interval excludes 0",
        "replications": replications,
    }


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
            gap_intervals(s.correct, s.with_none, s.level, s.participant, s.image)
            for s in (simulate_study(design, size, model, rng) for _ in range(replications))
        ]
        levels = runs[0].levels
        half_width = np.mean([run.accuracy_half_width for run in runs], axis=0)
        gap_half_width = np.mean([run.gap_half_width for run in runs], axis=0)
        power = np.mean([run.gap_found for run in runs], axis=0)
        for i, level in enumerate(levels):
            without, with_none = rates[WITHOUT_NONE][level], rates[WITH_NONE][level]
            rows.append(
                (size, int(level), without, with_none, without - with_none, half_width[i, 0],
                 half_width[i, 1], gap_half_width[i], power[i], size * minutes)
            )  # fmt: skip
    return Plan(
        pd.DataFrame(rows, columns=PLAN_COLUMNS), model, replications, minutes,
        plan_assumptions(design, model, replications),
    )  # fmt: skip


def describe_plan(plan: Plan) -> list[str]:
    """The plan's assumptions in sentences (what `sketchlab plan` prints under its table)."""
    facts = plan.assumptions
    rates = "; ".join(
        f"{condition.replace('_', ' ')}: "
        + ", ".join(f"{100 * rate:.1f}%" for rate in by_level.values())
        for condition, by_level in facts["population_accuracy"].items()
    )
    levels = "/".join(next(iter(facts["population_accuracy"].values())))
    lines = [
        f"Effects from {facts['source']}: population accuracy at {levels} strokes, {rates}.",
        f"Spread (log-odds SDs): participants {facts['participant_sd']:.2f}, images "
        f'{facts["image_sd"]:.2f}, the "none" effect between images '
        f"{facts['image_slope_sd']:.2f}.",
        f"Design: {facts['test_images']} test images in {facts['lists']} Latin-square lists, "
        f"conditions {', '.join(facts['conditions'])} between participants, everyone "
        "completes.",
        f"Interval: the one the report prints ({facts['interval']}); power = "
        f"{facts['power']}; {facts['replications']} simulated studies per size.",
    ]
    if not facts["source"].startswith("the pilot"):
        lines.append(
            "These SDs are assumptions, not measurements (defaults chosen not to flatter): run "
            "a pilot and pass it with --pilot to plan from measured effects and spreads."
        )
    return lines


def paper_response_model(levels, assumptions: PlanAssumptions = PlanAssumptions()) -> ResponseModel:
    """The paper's rates (36/87/97.9/99.3% with "none", 76% without at 4 strokes, the other
    forced-choice levels derived: `study.response_model.paper_model`, the model `study
    simulate` answers from) as population accuracies, with the spread of `assumptions`."""
    return paper_model(levels, conditions=(WITHOUT_NONE, WITH_NONE), **asdict(assumptions))


def pilot_response_model(fit: GlmmResult, tests: pd.DataFrame, levels: list[int]) -> ResponseModel:
    """The response model a pilot's per-level mixed model estimates: its log-odds per
    condition x level and its random-effect SDs. A cell without variation (separation) has
    no estimate; it gets the log-odds of its rate moved half a trial inwards."""
    if not fit.fitted or "levels" not in fit.models:
        reason = fit.reason or fit.failed.get("levels", "no per-level model")
        raise BadInput(f"the pilot's mixed model could not be fitted: {reason}")
    terms = fit.terms[fit.terms["model"] == "levels"].set_index("term")
    effects = fit.random_effects[fit.random_effects["model"] == "levels"]
    sd = {
        (group, effect): value
        for group, effect, value in zip(
            effects["group"], effects["effect"], effects["value"], strict=True
        )
    }
    model = ResponseModel(
        {},
        participant_sd=float(sd.get(("participant", "SD of (Intercept)"), 0.0)),
        image_sd=float(sd.get(("image", "SD of (Intercept)"), 0.0)),
        image_slope_sd=float(sd.get(("image", "SD of with_none"), 0.0)),
    )
    logit: dict[str, dict[int, float]] = {WITHOUT_NONE: {}, WITH_NONE: {}}
    for level in levels:
        base = terms["estimate"].get(f"level{level}", np.nan)
        contrast = terms["estimate"].get(f"level{level}:with_none", np.nan)
        if 'with "none"' in terms["meaning"].get(f"level{level}", ""):
            base, contrast = np.nan, np.nan  # the without cell was not estimable
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
