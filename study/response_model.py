"""How a simulated participant answers: the one response model behind `sketchlab study
simulate` (trial by trial, through the app's own flow: study/simulate.py), `sketchlab plan`
and `sketchlab bench coverage` (thousands of studies at once: analysis/study_simulation.py),
and the tests. Simulated data tests the pipeline; it is not a result.

**Recognition.** For participant p and image i at stroke level l in condition c,

    logit P(right) = logit[c][l] + u_p + v_i + w_i x [c = with_none],

u ~ N(0, participant_sd²), v ~ N(0, image_sd²), w ~ N(0, image_slope_sd²): the logistic
mixed model the report fits. `logit` is the conditional log-odds (random effects at 0);
`marginal_rates` gives the population accuracy it implies, which is what the report's
accuracies and gaps estimate.

**The paper's rates** (`paper_model`) set logit[c][l] so that the population accuracy equals
the CLIPasso paper's human category recognition (sketchlab/reference_numbers.json): with
"none" 36 / 87 / 97.9 / 99.3 % at 4 / 8 / 16 / 32 strokes; without "none" 76 % at 4 strokes.
The paper gives the forced-choice rate only at 4 strokes; the other levels assume that the same
share of with-"none" misses turns into hits when "none" is removed: k = (0.76 - 0.36) / (1 -
0.36) = 0.625, a = A_with + k (1 - A_with), i.e. 95.1 / 99.2 / 99.7 %. Levels the paper did not
test are interpolated on log2(strokes) (and held constant beyond 4 and 32). The naming
condition assumes the with-"none" rates: a person who does not recognise a sketch cannot
guess among buttons, just as when "None of these" is offered (an assumption, not a
measurement: run a pilot).

**Wrong answers.** Without "none": another class, at random. With "none": "none" with the
share of misses that the paper's numbers imply when a right pick is committed to with
probability s = A_with / a and a wrong one with s / 2 (91 % of misses at 4 strokes, 58 %
of all answers);
otherwise another class. Foils: "none" when the participant sees that the sketch is none of
the classes (as likely as a right answer at that level, effects included), else "none" with
the same share, else a class. Naming: a miss names nothing of the classes with that share,
else another class. Attention checks are answered right with `attention_accuracy`.

**Behaviour.** `inattentive_rate` of the participants answer at random and fast (most fail the
checks), `decline_rate` decline consent and `abandon_rate` leave part-way. Answer times are
log-normal (median about 2.8 s at 4 strokes and 1.6 s at 32, slower for "none" and practice,
times each participant's speed; about 1 s more plus 0.18 s a letter for a typed name).

**Confidence.** A rating follows a latent sense of being right: `confidence_tracking` x (the
trial's log-odds of a right answer) + or - `confidence_sensitivity` / 2 (right or wrong
answer) + N(0, 1), cut into the scale's points at equal steps of its normal quantiles. So
ratings rise with the sketch's ease and are higher for right answers than for wrong ones at the
same ease: with the defaults the type-2 AUROC is about 0.75.

**Bounds** (checked when a model is made; BadInput naming the field): the SDs 0-3 log-odds
(beyond 3, a person or an image decides alone whether an answer is right: the paper's rates
no longer describe anyone), conditional log-odds within +-15, attention_accuracy 0.5-1, the
three behaviour rates 0-0.5, confidence_sensitivity 0-5 and confidence_tracking 0-2. The
default SDs (participants 0.8, images 1.0, the "none" effect between images 0.5) do not flatter:
smaller spreads promise narrower intervals and more power than a study may deliver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from sketchlab.contracts import WITH_NONE, WITHOUT_NONE
from sketchlab.errors import BadInput
from sketchlab.reference import paper_numbers

NAMING = "naming"
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
"""Gauss-Hermite rule for the average of a function of a standard normal."""

BOUNDS = {
    "participant_sd": (0.0, 3.0),
    "image_sd": (0.0, 3.0),
    "image_slope_sd": (0.0, 3.0),
    "attention_accuracy": (0.5, 1.0),
    "inattentive_rate": (0.0, 0.5),
    "decline_rate": (0.0, 0.5),
    "abandon_rate": (0.0, 0.5),
    "confidence_sensitivity": (0.0, 5.0),
    "confidence_tracking": (0.0, 2.0),
}
"""Each parameter's documented range (module docstring)."""
MAX_LOGIT = 15.0


@dataclass(frozen=True)
class ResponseModel:
    """The response model (module docstring)."""

    logit: dict[str, dict[int, float]]
    """Conditional log-odds of a right answer per condition and level."""
    participant_sd: float = 0.8
    image_sd: float = 1.0
    image_slope_sd: float = 0.5
    source: str = ""
    """Where the numbers come from, for the planner's output."""
    none_share: dict[int, float] = field(default_factory=dict)
    """With "none" offered: the share of misses answered "none" per level (else 0.7)."""
    attention_accuracy: float = 0.98
    inattentive_rate: float = 0.04
    decline_rate: float = 0.02
    abandon_rate: float = 0.03
    confidence_sensitivity: float = 1.5
    confidence_tracking: float = 0.5

    def __post_init__(self) -> None:
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise BadInput(
                    f"response model field '{name}' is {value:g}; it must be {low:g}-{high:g}"
                )
        for condition, by_level in self.logit.items():
            for level, value in by_level.items():
                if not abs(value) <= MAX_LOGIT:
                    raise BadInput(
                        f"response model field 'logit' of {condition} at {level} strokes is "
                        f"{value:g}; it must be within +-{MAX_LOGIT:g}"
                    )

    def total_sd(self, condition: str) -> float:
        """SD of the summed random effects of one trial in `condition`."""
        slope = self.image_slope_sd if condition == WITH_NONE else 0.0
        return float(np.sqrt(self.participant_sd**2 + self.image_sd**2 + slope**2))

    def level_logit(self, condition: str, level: int) -> float:
        """logit[condition][level], interpolated on log2(strokes) for levels it lacks."""
        return _interpolate(self.logit[condition], level)

    def share_of_none(self, level: int) -> float:
        return _interpolate(self.none_share, level) if self.none_share else 0.7

    def p_right(self, condition: str, level: int, ability: float, image: float, slope: float):
        """P(right) for one participant (`ability` u) and image (`image` v, `slope` w)."""
        z = self.level_logit(condition, level) + ability + image
        return float(special.expit(z + (slope if condition == WITH_NONE else 0.0)))


def _interpolate(table: dict[int, float], level: int) -> float:
    levels = sorted(table)
    x = [math.log2(v) for v in levels]
    return float(np.interp(math.log2(level), x, [table[v] for v in levels]))


def marginal_rate(logit: float | np.ndarray, sd: float) -> float | np.ndarray:
    """Population accuracy E[sigmoid(logit + z)], z ~ N(0, sd^2)."""
    return special.expit(np.asarray(logit, float)[..., None] + sd * _NODES) @ _WEIGHTS


def marginal_rates(model: ResponseModel) -> dict[str, dict[int, float]]:
    """Population accuracy per condition and level: what the report's accuracies estimate."""
    return {
        condition: {
            level: float(marginal_rate(value, model.total_sd(condition)))
            for level, value in by_level.items()
        }
        for condition, by_level in model.logit.items()
    }


def calibrated_logit(rate: float, sd: float) -> float:
    """The conditional log-odds whose population accuracy (random effects of SD `sd`) is
    `rate`."""
    rate = min(max(rate, 1e-6), 1 - 1e-6)
    return float(optimize.brentq(lambda b: marginal_rate(b, sd) - rate, -40, 40))


def paper_rates() -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """(with "none", without "none", share of with-"none" misses that are "none") by level,
    from the paper's numbers (module docstring)."""
    human = paper_numbers()["human_category_recognition"]
    with_none = {int(k): float(v) for k, v in human[WITH_NONE].items()}
    forced_4 = float(human[WITHOUT_NONE]["4"])
    share = (forced_4 - with_none[4]) / (1 - with_none[4])
    without_none = {level: p + share * (1 - p) for level, p in with_none.items()}
    without_none[4] = forced_4
    none_share = {}
    for level, p_with in with_none.items():
        commit = p_with / without_none[level]  # a right pick is kept with probability s
        wrong = (1 - without_none[level]) * commit / 2  # a wrong one with s / 2
        none_share[level] = (1 - p_with - wrong) / (1 - p_with)
    return with_none, without_none, none_share


def paper_model(
    levels,
    *,
    participant_sd: float = 0.8,
    image_sd: float = 1.0,
    image_slope_sd: float = 0.5,
    conditions=(WITHOUT_NONE, WITH_NONE, NAMING),
) -> ResponseModel:
    """The paper's rates at `levels` as population accuracies (module docstring), with these
    spreads."""
    with_none, without_none, none_share = paper_rates()
    rates = {WITHOUT_NONE: without_none, WITH_NONE: with_none, NAMING: with_none}
    shaped = ResponseModel(
        {}, participant_sd=participant_sd, image_sd=image_sd, image_slope_sd=image_slope_sd
    )
    logit = {
        condition: {
            int(level): calibrated_logit(
                _interpolate(rates[condition], level), shaped.total_sd(condition)
            )
            for level in levels
        }
        for condition in conditions
    }
    return ResponseModel(
        logit,
        participant_sd,
        image_sd,
        image_slope_sd,
        source="the paper's rates",
        none_share={int(level): _interpolate(none_share, level) for level in levels},
    )
