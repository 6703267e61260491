"""Simulated participants, for testing the pipeline end to end. Simulated data is not a result.

`simulate` sends N made-up participants through exactly the code real ones use
(ParticipantFlow: consent, balanced assignment, seeded trial order, idempotent storage), on a
simulated clock, so assignment balance, exclusions and the analysis can be exercised before
anyone is recruited.

The `paper` response model is calibrated to the CLIPasso paper's reported category
recognition (`sketchlab.reference.paper_numbers()`):

- with "none", by stroke level: 36 / 87 / 97.9 / 99.3 % correct at 4 / 8 / 16 / 32 strokes;
- without "none" at 4 strokes: 76 %.

Each trial first draws a forced-choice outcome: the sketch's class is picked with probability
`a(level)` (else a uniformly random other option). That is the without-none accuracy. The paper
only reports it at 4 strokes, so the other levels are derived by assuming that the same share
of with-none misses turns into hits when "none" is removed as at 4 strokes:
k = (0.76 - 0.36) / (1 - 0.36) = 0.625, a = A_with + k (1 - A_with), i.e. 95.1 / 99.2 / 99.7 %
at 8 / 16 / 32 strokes. With "none" offered, a participant commits to a right pick with
probability s = A_with / a (so accuracy is A_with), and to a wrong pick with probability s / 2
(less confident when wrong); otherwise they answer "none". That gives a "none" rate of about
58 % at 4 strokes, falling to under 1 % at 32 (derived, not reported by the paper). Levels
the paper did not test are interpolated on log2(strokes).

Realism for the analysis: per-class effects (SD 0.5 on the logit scale, centred over the
options) and per-participant ability (SD 0.5) shift `a`; the level intercepts are shifted so
that the population average still equals the paper's numbers. Foils (non-option classes) get
"none" unless the sketch is unrecognised and the participant commits anyway. 4 % of simulated
participants are inattentive (random fast answers; most fail the attention checks), 2 %
decline consent and 3 % abandon part-way. Response times are log-normal, slower for fewer
strokes and for "none" (median ~2.8 s at 4 strokes, ~1.6 s at 32).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from sketchlab.contracts import (
    ATTENTION,
    FOIL,
    NONE,
    PRACTICE,
    SIMULATED_PREFIX,
    WITH_NONE,
    WITHOUT_NONE,
)
from sketchlab.errors import BadInput
from sketchlab.reference import paper_numbers
from study.config import StudyConfig
from study.design import Trial
from study.flow import ParticipantFlow
from study.storage import Storage, utc_now

MODELS = ("paper",)


@dataclass(frozen=True)
class ResponseModel:
    """Recognition by stroke level (see the module docstring for the derivation)."""

    name: str
    with_none: dict[int, float]  # P(correct) with "none" offered, population average
    without_none: dict[int, float]  # P(correct) in forced choice, population average
    wrong_commit_ratio: float = 0.5
    class_sd: float = 0.5
    participant_sd: float = 0.5
    inattentive_rate: float = 0.04
    decline_rate: float = 0.02
    abandon_rate: float = 0.03
    attention_accuracy: float = 0.98

    def rates(self, level: int) -> tuple[float, float]:
        """(forced-choice accuracy a, commit-when-right probability s) at this level."""
        a = _interpolate(self.without_none, level)
        return a, min(1.0, _interpolate(self.with_none, level) / a)


def paper_model() -> ResponseModel:
    """The model calibrated to the paper's human category-recognition numbers."""
    human = paper_numbers()["human_category_recognition"]
    with_none = {int(k): float(v) for k, v in human[WITH_NONE].items()}
    forced_4 = float(human[WITHOUT_NONE]["4"])
    share = (forced_4 - with_none[4]) / (1 - with_none[4])
    without_none = {level: p + share * (1 - p) for level, p in with_none.items()}
    without_none[4] = forced_4
    return ResponseModel("paper", with_none, without_none)


def get_model(name: str) -> ResponseModel:
    if name == "paper":
        return paper_model()
    raise BadInput(f"unknown response model {name!r} (--model; one of: {', '.join(MODELS)})")


def _interpolate(table: dict[int, float], level: int) -> float:
    levels = sorted(table)
    x = [math.log2(v) for v in levels]
    return float(np.interp(math.log2(level), x, [table[v] for v in levels]))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@lru_cache(maxsize=256)
def _calibrated_logit(target: float, sd: float) -> float:
    """Intercept b with E[sigmoid(b + u)] = target for u ~ N(0, sd^2) (Gauss-Hermite)."""
    nodes, weights = _HERMITE

    def gap(b: float) -> float:
        return float(np.sum(weights / (1 + np.exp(-(b + sd * nodes))))) - target

    return brentq(gap, -30, 30) if 0 < target < 1 else _logit(target)


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_HERMITE = (_NODES, _WEIGHTS / _WEIGHTS.sum())


def _seeded(seed: int, *keys: object) -> np.random.Generator:
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


@lru_cache(maxsize=64)
def _class_effects(seed: int, classes: tuple[str, ...], sd: float) -> dict[str, float]:
    """Logit shift per class (centred, so the average over the options stays calibrated)."""
    effects = {c: _seeded(seed, "class", c).normal(0, sd) for c in classes}
    mean = sum(effects.values()) / len(effects)
    return {c: e - mean for c, e in effects.items()}


class _Responder:
    """Draws one simulated participant's answers and response times."""

    def __init__(
        self, model: ResponseModel, config: StudyConfig, seed: int, rng: np.random.Generator
    ):
        self.model = model
        self.rng = rng
        self.ability = rng.normal(0, model.participant_sd)
        self.speed = math.exp(rng.normal(0, 0.25))
        self.inattentive = rng.random() < model.inattentive_rate
        self.class_effect = _class_effects(seed, tuple(config.options), model.class_sd)
        self._sd = math.hypot(model.class_sd, model.participant_sd)

    def _p_pick_right(self, trial: Trial) -> tuple[float, float]:
        a, commit_right = self.model.rates(trial.n_strokes)
        z = (
            _calibrated_logit(a, self._sd)
            + self.ability
            + self.class_effect.get(trial.true_class, 0.0)
        )
        return 1 / (1 + math.exp(-z)), commit_right

    def respond(self, trial: Trial) -> tuple[str, float]:
        """(response, response time in seconds)."""
        rng = self.rng
        classes = [o for o in trial.options if o != NONE]
        if self.inattentive:
            return _pick(rng, trial.options), max(0.25, rng.lognormal(math.log(0.6), 0.3))
        if trial.trial_type == ATTENTION:
            right = rng.random() < self.model.attention_accuracy
            wrong = [o for o in classes if o != trial.correct_response]
            response = trial.correct_response if right else _pick(rng, wrong)
        else:
            p_right, commit_right = self._p_pick_right(trial)
            commit_wrong = commit_right * self.model.wrong_commit_ratio
            others = [o for o in classes if o != trial.true_class]
            picked_right = trial.trial_type != FOIL and rng.random() < p_right
            pick = trial.true_class if picked_right else _pick(rng, others)
            if NONE not in trial.options:
                response = pick
            elif trial.trial_type == FOIL:
                recognised = rng.random() < p_right  # seen as what it is: not an option
                response = NONE if recognised or rng.random() > commit_wrong else pick
            else:
                commit = commit_right if picked_right else commit_wrong
                response = pick if rng.random() < commit else NONE
        median = 1.2 + 1.6 * (4 / trial.n_strokes) ** 0.7
        median += 0.4 * (response == NONE) + 1.0 * (trial.trial_type == PRACTICE)
        return response, max(0.25, self.speed * rng.lognormal(math.log(median), 0.35))


@dataclass(frozen=True)
class SimulationSummary:
    participants: int
    by_status: dict[str, int]
    responses_written: int
    seconds: float
    model: str


def simulate(
    config: StudyConfig,
    storage: Storage,
    n: int,
    model: str | ResponseModel = "paper",
    seed: int = 0,
    *,
    start: datetime | None = None,
    arrival_every_s: float = 20.0,
) -> SimulationSummary:
    """Run `n` simulated participants (ids `sim-<seed>-<i>`) through ParticipantFlow.

    Participants arrive on a simulated clock starting at `start` (default: so that the last
    one arrives about now), on average every `arrival_every_s` seconds; the same seed gives the
    same answers. Refuses to write into a study that already holds real participants.
    """
    if n < 1:
        raise BadInput(f"--participants must be at least 1 (got {n})")
    response_model = get_model(model) if isinstance(model, str) else model
    real = [p for p in storage.participant_ids() if not p.startswith(SIMULATED_PREFIX)]
    if real:
        raise BadInput(
            f"study {config.study_id!r} in {storage.masked_url} already holds {len(real)} real "
            "participants; simulate into another database with --storage"
        )
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    clock = start or utc_now() - timedelta(seconds=n * arrival_every_s)
    written = 0
    for i in range(n):
        clock += timedelta(seconds=float(rng.exponential(arrival_every_s)))
        participant_rng = _seeded(seed, "participant", i)
        responder = _Responder(response_model, config, seed, participant_rng)
        flow = ParticipantFlow.open(
            config, storage, f"{SIMULATED_PREFIX}{seed}-{i:05d}", f"simsession{i}", clock
        )
        written += _run_participant(flow, responder, response_model, participant_rng, clock)
    ours = storage.participants_frame()
    ours = ours[ours["participant_id"].str.startswith(f"{SIMULATED_PREFIX}{seed}-")]
    statuses = {str(k): int(v) for k, v in ours["status"].value_counts().items()}
    return SimulationSummary(n, statuses, written, time.perf_counter() - began, response_model.name)


def _run_participant(
    flow: ParticipantFlow,
    responder: _Responder,
    model: ResponseModel,
    rng: np.random.Generator,
    clock: datetime,
) -> int:
    if flow.stage != "consent":
        return 0  # already simulated with this seed: nothing to redo
    clock += timedelta(seconds=float(rng.uniform(20, 60)))
    if rng.random() < model.decline_rate:
        flow.consent(False, clock)
        return 0
    flow.consent(True, clock)
    clock += timedelta(seconds=float(rng.uniform(15, 45)))
    flow.finish_instructions(clock)
    stop_after = int(rng.integers(1, flow.n_trials)) if rng.random() < model.abandon_rate else None
    written = 0
    while (trial := flow.current_trial) is not None:
        if stop_after is not None and written >= stop_after:
            break
        shown_at = flow.shown_at(trial.trial_index, clock)  # drawn with the last answer
        response, seconds = responder.respond(trial)
        clock = shown_at + timedelta(seconds=seconds)
        written += flow.answer(trial.trial_index, response, clock)
        if trial.feedback:
            clock += timedelta(seconds=1.5)
    return written
