"""Simulated participants, for testing the pipeline end to end. Simulated data is not a result.

`simulate` sends N made-up participants through exactly the code real ones use
(ParticipantFlow: consent, balanced assignment, seeded trial order, idempotent storage), on a
simulated clock, so assignment balance, exclusions and the analysis can be exercised before
anyone is recruited. How they answer is the response model's (study/response_model.py, the
one used by `sketchlab plan` too): each participant draws an ability, each image an ease and
a "none" effect (shared by every participant of one simulation), and each trial's type says
what the participant means to answer (study/trial_types/: `simulate`), the type that shows it
how they enter it (`render`: a click, or a typed name), and each follow-up how they reply
(`simulate_reply`: a confidence rating that tracks their accuracy).
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
from scipy import special, stats

from sketchlab.contracts import NONE, PRACTICE, SIMULATED_PREFIX, WITH_NONE
from sketchlab.errors import BadInput
from study.config import StudyConfig
from study.design import Trial
from study.flow import ParticipantFlow
from study.response_model import ResponseModel, paper_model
from study.storage import Storage, utc_now
from study.trial_types import TRIAL_TYPES

MODELS = ("paper",)
ATTENTIVE_MIN_S = 0.3
"""An attentive participant never answers sooner (inattentive ones may: the app ignores what
comes within `min_answer_ms`, and flags what comes within the too-fast time, study/timing.py)."""


def get_model(name: str, config: StudyConfig) -> ResponseModel:
    """The response model called `name` (--model) at the study's stroke levels."""
    if name == "paper":
        return paper_model(config.catalog.levels)
    raise BadInput(f"unknown response model {name!r} (--model; one of: {', '.join(MODELS)})")


def _seeded(seed: int, *keys: object) -> np.random.Generator:
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


@lru_cache(maxsize=4096)
def _image_effects(seed: int, image_id: str, image_sd: float, slope_sd: float):
    """(ease v, "none" effect w) of one image, the same for every participant of a simulation."""
    rng = _seeded(seed, "image", image_id)
    return float(rng.normal(0, image_sd)), float(rng.normal(0, slope_sd))


class Responder:
    """One simulated participant: their ability, speed and attentiveness, and the answers the
    trial types ask of them (study/trial_type.py's `simulate`, `render`, `simulate_reply`)."""

    def __init__(
        self, model: ResponseModel, config: StudyConfig, seed: int, rng: np.random.Generator
    ):
        self.model, self.config, self.seed, self.rng = model, config, seed, rng
        self.ability = rng.normal(0, model.participant_sd)
        self.speed = math.exp(rng.normal(0, 0.25))
        self.inattentive = rng.random() < model.inattentive_rate
        self.condition = WITH_NONE

    def p_right(self, trial: Trial, condition: str | None = None) -> float:
        """This participant's chance of recognising `trial`'s sketch."""
        model = self.model
        ease, slope = _image_effects(self.seed, trial.image_id, model.image_sd,
                                     model.image_slope_sd)  # fmt: skip
        condition = condition or self.condition
        return model.p_right(condition, trial.n_strokes, self.ability, ease, slope)

    def _classes(self, trial: Trial) -> list[str]:
        return [o for o in trial.options if o != NONE] or list(self.config.options)

    def _miss(self, trial: Trial, wrong: list[str]) -> str:
        """A wrong answer: "none" where it is offered (or a name of nothing, typed) with the
        model's share, else one of `wrong`."""
        offers_none = NONE in trial.options or not trial.options
        if offers_none and (not wrong or self.rng.random() < self.model.share_of_none(
                trial.n_strokes)):  # fmt: skip
            return NONE
        return _pick(self.rng, wrong)

    def recognise(self, trial: Trial) -> str:
        """A test, practice or naming trial: the sketch's class if recognised, else a miss."""
        classes = self._classes(trial)
        if self.inattentive:
            return _pick(self.rng, trial.options or classes)
        if self.rng.random() < self.p_right(trial):
            return trial.true_class
        return self._miss(trial, [c for c in classes if c != trial.true_class])

    def judge_foil(self, trial: Trial) -> str:
        """A foil (no class shown is right): "none" when seen for what it is, else a miss."""
        if self.inattentive:
            return _pick(self.rng, trial.options)
        if self.rng.random() < self.p_right(trial, WITH_NONE):
            return NONE
        return self._miss(trial, self._classes(trial))

    def attend(self, trial: Trial) -> str:
        """An attention check: the asked-for answer, with the model's attention accuracy."""
        classes = self._classes(trial)
        if self.inattentive:
            return _pick(self.rng, trial.options or classes)
        if self.rng.random() < self.model.attention_accuracy:
            return trial.correct_response
        return _pick(self.rng, [c for c in classes if c != trial.correct_response])

    def seconds(self, trial: Trial, meant: str) -> float:
        """Answer time (s), log-normal (module docstring of study/response_model.py)."""
        if self.inattentive:
            return float(self.rng.lognormal(math.log(0.6), 0.3))
        median = 1.2 + 1.6 * (4 / trial.n_strokes) ** 0.7
        median += 0.4 * (meant == NONE) + 1.0 * (trial.trial_type == PRACTICE)
        return max(ATTENTIVE_MIN_S, float(self.speed * self.rng.lognormal(math.log(median), 0.35)))

    def rate(self, trial: Trial, row: dict, scale: int) -> tuple[int, float]:
        """A confidence rating (1..scale) of the answer in `row`, and its seconds: a latent
        sense of being right, cut into `scale` points (study/response_model.py)."""
        rng = self.rng
        if self.inattentive:
            return int(rng.integers(1, scale + 1)), float(rng.lognormal(math.log(0.5), 0.3))
        model = self.model
        p = min(max(self.p_right(trial), 1e-6), 1 - 1e-6)
        sign = 1 if row["correct"] else -1
        latent = (
            model.confidence_tracking * special.logit(p)
            + sign * model.confidence_sensitivity / 2
            + rng.normal()
        )
        spread = math.hypot(1, model.confidence_sensitivity / 2, 2 * model.confidence_tracking)
        point = 1 + int(stats.norm.cdf(latent / spread) * scale)
        return min(point, scale), float(self.speed * rng.lognormal(math.log(1.1), 0.3))


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
    response_model = get_model(model, config) if isinstance(model, str) else model
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
        responder = Responder(response_model, config, seed, participant_rng)
        flow = ParticipantFlow.open(
            config, storage, f"{SIMULATED_PREFIX}{seed}-{i:05d}", f"simsession{i}", clock
        )
        written += _run_participant(flow, responder, response_model, participant_rng, clock)
    ours = storage.participants_frame()
    ours = ours[ours["participant_id"].str.startswith(f"{SIMULATED_PREFIX}{seed}-")]
    statuses = {str(k): int(v) for k, v in ours["status"].value_counts().items()}
    name = model if isinstance(model, str) else response_model.source or "custom"
    return SimulationSummary(n, statuses, written, time.perf_counter() - began, name)


def _run_participant(
    flow: ParticipantFlow,
    responder: Responder,
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
    responder.condition = flow.condition
    clock += timedelta(seconds=float(rng.uniform(15, 45)))
    flow.finish_instructions(clock)
    stop_after = int(rng.integers(1, flow.n_trials)) if rng.random() < model.abandon_rate else None
    written = 0
    while (trial := flow.current_trial) is not None:
        question = flow.current_step
        if stop_after is not None and written >= stop_after and question is None:
            break
        shown_at = flow.shown_at(trial.trial_index, clock)  # drawn with the last answer
        if question is None:
            meant = TRIAL_TYPES[trial.trial_type].simulate(responder, trial)
            answer, typing_s = TRIAL_TYPES[trial.shown_by].render(responder, trial, meant)
            clock = shown_at + timedelta(seconds=responder.seconds(trial, meant) + typing_s)
            written += flow.answer(trial.trial_index, answer, clock)
        else:
            row = flow.response_to(trial.trial_index)
            reply, seconds = TRIAL_TYPES[question].simulate_reply(responder, trial, row)
            clock = shown_at + timedelta(seconds=seconds)
            flow.reply(trial.trial_index, question, reply, clock)
        if trial.feedback and flow.current_step is None:
            clock += timedelta(seconds=1.5)
    return written
