"""The participant state machine, shared by the Streamlit app and the simulator.

The database is the source of truth: `ParticipantFlow.open` rebuilds everything (consent,
cell, trial order, answered trials) from it, so a reload, a second tab or a server restart
resumes at the first unanswered trial with the same order. Streamlit's session_state is
only a cache of this object.

Stages: consent -> instructions -> practice -> trials -> done, or declined / failed
(attention checks) / timed_out (idle longer than abandon_after_minutes, or too many time
limits in a row) / full (every cell reached `target_per_cell` before this participant
consented; nothing is stored). Each ending is one of study.yaml's outcomes (`exit`).

Trial timing lives in the database too: the moment a trial is first drawn is stored (the
first draw wins, across reloads, second tabs and app replicas), and response times, time
limits and the minimum answer time (study/timing.py) are all measured from it. The draw of
the next trial is written in the same transaction as the answer to the previous one. A lost
connection is not the participant's time: the trial on screen is shown afresh when they are
back, and its row records how long it was interrupted (`interrupted`).

What an answer is comes from the trial types (study/trial_types/): the type that shows the
trial reads and judges the answer. A trial with follow-up questions (a confidence rating)
stays the current trial, at the step of its first unanswered question, until each is
answered (`reply`); the status rules are study/progress.py's.

Previews live in their own namespace: their rows are stored under `preview:<id>` (':' is not
an id character), so no preview can create, claim or change a real participant's row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from sketchlab.contracts import (
    COMPLETED,
    DECLINED,
    FAILED_ATTENTION,
    IN_PROGRESS,
    MAX_ID_LENGTH,
    NONE,
    OPTION_SEPARATOR,
    PRACTICE,
    STUDY_FULL,
    TIMED_OUT,
    TIMEOUT,
)
from study.assignment import active_since, assign, study_full, validate_id
from study.config import Outcome, StudyConfig
from study.design import Trial, trials_for
from study.progress import StatusRules, Step, advance
from study.storage import Participant, RecordResult, Storage, iso, parse_iso, utc_now
from study.timing import TimingPolicy
from study.trial_types import TRIAL_TYPES, failed

TIME_LIMIT_GRACE_S = 2.0
"""Answers up to this long past `time_limit_s` still count (network and rerun latency)."""

_FINAL = {
    DECLINED: "declined",
    FAILED_ATTENTION: "failed",
    TIMED_OUT: "timed_out",
    COMPLETED: "done",
}
_OUTCOME_OF_STAGE = {
    "done": COMPLETED,
    "failed": FAILED_ATTENTION,
    "timed_out": TIMED_OUT,
    "declined": DECLINED,
    "full": STUDY_FULL,
}

PREVIEW_NAMESPACE = "preview:"


def preview_participant_id(url_id: str) -> str:
    """The row a preview whose URL names `url_id` uses: `preview:<url_id>` (hashed when that
    would not fit the 64-character column). No real id contains ':'."""
    key = PREVIEW_NAMESPACE + url_id
    if len(key) <= MAX_ID_LENGTH:
        return key
    digest = hashlib.sha256(url_id.encode()).hexdigest()
    return PREVIEW_NAMESPACE + digest[: MAX_ID_LENGTH - len(PREVIEW_NAMESPACE)]


@dataclass(frozen=True)
class Feedback:
    """What a practice trial's feedback says: right or wrong, and the right answer."""

    correct: bool
    correct_response: str


class ParticipantFlow:
    """One participant's progress through the study, backed by `Storage`."""

    def __init__(
        self,
        config: StudyConfig,
        storage: Storage,
        participant_id: str,
        session_id: str,
        *,
        prolific_study_id: str | None = None,
        preview: bool = False,
    ):
        self.config = config
        self.storage = storage
        self.url_id = validate_id(participant_id)  # PROLIFIC_PID, as the URL gave it
        self.participant_id = preview_participant_id(self.url_id) if preview else self.url_id
        self.session_id = validate_id(session_id, "session id") if session_id else ""
        self.prolific_study_id = (
            validate_id(prolific_study_id, "study id") if prolific_study_id else None
        )
        self.preview = preview  # the researcher's run-through: never counted or exported
        self.participant: Participant | None = None
        self.full = False  # the study was full when this participant tried to consent
        self.trials: list[Trial] = []
        self._answered: dict[int, dict] = {}

    @classmethod
    def open(
        cls,
        config: StudyConfig,
        storage: Storage,
        participant_id: str,
        session_id: str = "",
        now: datetime | None = None,
        *,
        prolific_study_id: str | None = None,
        preview: bool = False,
    ) -> ParticipantFlow:
        """Rebuild this participant's state from the database (BadInput on a bad id).

        An in-progress participant idle for longer than abandon_after_minutes is marked
        timed_out here (their slot was or will be given to someone else). A newcomer to a
        study whose cells are all full gets the stage "full"."""
        flow = cls(
            config,
            storage,
            participant_id,
            session_id,
            prolific_study_id=prolific_study_id,
            preview=preview,
        )
        flow.refresh()
        if flow.participant is None and not preview:
            flow.full = study_full(storage, config, now or utc_now())
        cutoff = active_since(config, now or utc_now())
        participant = flow.participant
        if (
            participant is not None
            and participant.status == IN_PROGRESS
            and participant.last_seen_at < iso(cutoff)
            and storage.time_out_idle(cutoff, participant_id)  # only if still idle and in progress
        ):
            flow.refresh()
        return flow

    def refresh(self) -> None:
        """Re-read participant and answered trials from the database."""
        self._adopt(self.storage.get_participant(self.participant_id))

    def _adopt(self, participant: Participant | None) -> None:
        """Take this participant row as current; answers are read only if there are any."""
        self.participant = participant
        if participant is not None and participant.condition is not None:
            self.trials = trials_for(
                self.config, self.participant_id, participant.condition, participant.list_id
            )
            has_answers = participant.n_answered > 0
            self._answered = self.storage.responses_of(self.participant_id) if has_answers else {}
        else:
            self.trials, self._answered = [], {}

    # --- where the participant is -------------------------------------------------------

    @property
    def stage(self) -> str:
        """consent | instructions | practice | trials | done | declined | failed | timed_out
        | full"""
        participant = self.participant
        if participant is None:
            return "full" if self.full else "consent"
        if participant.status in _FINAL:
            return _FINAL[participant.status]
        if participant.instructions_done_at is None:
            return "instructions"
        trial = self.current_trial
        if trial is None:
            return "done"
        return PRACTICE if trial.trial_type == PRACTICE else "trials"

    @property
    def current_trial(self) -> Trial | None:
        """The first trial not answered, or answered with a follow-up question still to ask;
        None when there is none left."""
        if self.participant is None or self.participant.status != IN_PROGRESS:
            return None
        for trial in self.trials:
            if trial.trial_index not in self._answered or self.pending_question(trial):
                return trial
        return None

    @property
    def current_step(self) -> str | None:
        """None while the current trial waits for its answer; else the follow-up question
        (a trial type's name, e.g. "confidence") it waits for."""
        trial = self.current_trial
        return self.pending_question(trial) if trial is not None else None

    def pending_question(self, trial: Trial) -> str | None:
        """The first follow-up of an answered `trial` without a reply (a timed-out trial gets
        none)."""
        row = self._answered.get(trial.trial_index)
        if row is None or row["response"] == TIMEOUT:
            return None
        for name in trial.follow_ups:
            if row.get(TRIAL_TYPES[name].reply_column) is None:
                return name
        return None

    @property
    def timing(self) -> TimingPolicy:
        return TimingPolicy(self.config.min_answer_ms)

    @property
    def condition(self) -> str | None:
        return self.participant.condition if self.participant else None

    @property
    def n_answered(self) -> int:
        return len(self._answered)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def progress(self) -> float:
        """Fraction of trials answered, 0..1 (for a progress bar)."""
        return self.n_answered / self.n_trials if self.trials else 0.0

    @property
    def outcome(self) -> str | None:
        """How the study ended for this participant (`sketchlab.contracts.OUTCOMES`), or
        None while they are still taking part."""
        return _OUTCOME_OF_STAGE.get(self.stage)

    @property
    def exit(self) -> Outcome | None:
        """The page, code and redirect of this participant's outcome (study.yaml)."""
        outcome = self.outcome
        return self.config.outcome(outcome) if outcome else None

    @property
    def completion_code(self) -> str | None:
        return self.exit.code if self.exit else None

    @property
    def redirect_url(self) -> str | None:
        return self.exit.redirect_url if self.exit else None

    def response_to(self, trial_index: int) -> dict | None:
        """The stored answer row for a trial, if it has been answered."""
        return self._answered.get(trial_index)

    def feedback(self, trial_index: int) -> Feedback | None:
        """Feedback for an answered practice trial with feedback switched on (after its
        follow-up questions: feedback must not colour a confidence rating)."""
        row = self._answered.get(trial_index)
        trial = self.trials[trial_index] if 0 <= trial_index < len(self.trials) else None
        if row is None or not trial.feedback or self.pending_question(trial):
            return None
        return Feedback(bool(row["correct"]), trial.correct_response)

    # --- what the participant does ------------------------------------------------------

    def consent(self, accepted: bool, now: datetime | None = None) -> str:
        """Accepting allocates a cell (balanced; stage "full" if there is none left);
        declining is recorded and final."""
        now = now or utc_now()
        who = {"prolific_study_id": self.prolific_study_id, "preview": self.preview}
        if self.participant is None and not self.full:
            if accepted:
                participant = assign(
                    self.storage, self.config, self.participant_id, self.session_id, now, **who
                )
                self.full = participant is None
                self._adopt(participant)
            else:
                self._adopt(
                    self.storage.record_decline(
                        self.participant_id,
                        self.session_id,
                        now,
                        self.config.consent_version,
                        **who,
                    )
                )
        return self.stage

    def finish_instructions(self, now: datetime | None = None) -> str:
        """The first trial is drawn next: its clock starts now."""
        now = now or utc_now()
        if self.stage == "instructions":
            drawn = {"shown_trial": 0, "shown_at": iso(now)} if self.trials else {}
            self.storage.mark(self.participant_id, now, instructions_done_at=iso(now), **drawn)
            self.participant = replace(
                self.participant, instructions_done_at=iso(now), last_seen_at=iso(now), **drawn
            )
        return self.stage

    def shown_at(self, trial_index: int, now: datetime | None = None) -> datetime | None:
        """When the current trial `trial_index` was first drawn; the first call records it
        (as `now`). None if it is not the current trial."""
        trial = self.current_trial
        if trial is None or trial.trial_index != trial_index:
            return None
        participant = self.participant
        if participant.shown_trial != trial_index or participant.shown_at is None:
            shown_trial, shown_at = self.storage.record_shown(
                self.participant_id, trial_index, now or utc_now()
            )
            self.participant = replace(participant, shown_trial=shown_trial, shown_at=shown_at)
            if shown_trial != trial_index:  # another tab moved on: the database decides
                self.refresh()
                return None
        return parse_iso(self.participant.shown_at)

    def record_device(self, size: dict[str, int], now: datetime | None = None) -> None:
        """Store the participant's screen and window size (screen_width, screen_height,
        viewport_width, viewport_height; CSS pixels)."""
        if self.participant is not None:
            self.storage.mark(self.participant_id, now or utc_now(), **size)
            self.participant = replace(self.participant, **size)

    def answer(
        self,
        trial_index: int,
        response: object,
        answered_at: datetime | None = None,
        *,
        save_failures: int = 0,
        saved_at: datetime | None = None,
    ) -> bool:
        """Store the answer to the current trial; True if this call wrote it.

        A second answer to the same trial (double click, second tab, replayed request), an
        answer to a trial that is not the current one (or that waits for a follow-up
        question), and an answer sooner than `min_answer_ms` after the trial was drawn (a
        double key press reaching the next trial) return False and change nothing. An answer
        the trial's page cannot have (not one of the options shown, an empty name) raises
        BadInput and stores nothing. An answer later than time_limit_s (plus a small grace)
        is stored as "timeout". `answered_at` is the click; an answer sent again after
        `save_failures` failed attempts to store it keeps its click's time, and the next
        trial is drawn at `saved_at` (now), when the participant can see it.
        """
        answered_at = answered_at or utc_now()
        trial = self.current_trial
        if trial is None or trial.trial_index != trial_index or self.current_step is not None:
            return False
        values = TRIAL_TYPES[trial.shown_by].read_answer(self.config, trial, response)
        shown_at = self.shown_at(trial_index, answered_at)
        if shown_at is None:
            return False
        rt_s = (answered_at - shown_at).total_seconds()
        if self.timing.ignored(rt_s * 1000):
            return False
        limit = self.config.time_limit_s
        if limit is not None and rt_s > limit + TIME_LIMIT_GRACE_S:
            values = {"response": TIMEOUT}
        return self._record(
            trial, values, shown_at, answered_at, save_failures, saved_at or answered_at
        )

    def reply(
        self,
        trial_index: int,
        question: str,
        raw: object,
        replied_at: datetime | None = None,
        *,
        saved_at: datetime | None = None,
    ) -> bool:
        """Store the reply to follow-up `question` (e.g. a confidence rating) of the current
        trial; True if this call wrote it. As `answer`: only the question the trial waits
        for, once, not sooner than `min_answer_ms` after it was shown (its clock: when the
        answer before it was stored); a reply it cannot have raises BadInput."""
        replied_at = replied_at or utc_now()
        trial = self.current_trial
        if trial is None or trial.trial_index != trial_index or self.current_step != question:
            return False
        follow_up = TRIAL_TYPES[question]
        values = follow_up.read_answer(self.config, trial, raw)
        asked_at = self.shown_at(trial_index, replied_at)
        if asked_at is None:
            return False
        rt_ms = round(max(0.0, (replied_at - asked_at).total_seconds()) * 1000)
        if self.timing.ignored(rt_ms):
            return False
        values[follow_up.rt_column] = rt_ms
        saved_at = saved_at or replied_at
        result = self.storage.record_reply(
            self.participant_id,
            trial_index,
            values,
            follow_up.reply_column,
            self._advance(trial, Step(answered=False, at=iso(saved_at)), after=question),
            saved_at,
        )
        if result.inserted and result.status == self.participant.status:
            self._answered[trial_index] = {**self._answered[trial_index], **values}
            self._moved_on(result, saved_at)
        else:
            self.refresh()  # someone else replied first, or the status moved on
        return result.inserted

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the current trial's time limit (None without a limit or trial)."""
        trial = self.current_trial
        limit = self.config.time_limit_s
        if trial is None or limit is None:
            return None
        shown_at = self.shown_at(trial.trial_index, now)
        if shown_at is None:
            return None
        return limit - ((now or utc_now()) - shown_at).total_seconds()

    def interrupted(self, lost_ms: float, mark: str, now: datetime | None = None) -> bool:
        """The participant's connection was lost for `lost_ms` (as their browser measured
        it; `mark` names that interruption) while the current trial was on screen: the
        trial is shown afresh from `now`, so neither its answer time nor its time limit
        counts the outage, and its row will carry the interrupted time. At most the time
        the trial has been on screen counts; a mark already recorded changes nothing. While
        a follow-up question is on screen, its clock restarts the same way (the answer's row
        is already stored, so the outage is not recorded). True if this call recorded it."""
        now = now or utc_now()
        trial = self.current_trial
        participant = self.participant
        if (
            trial is None
            or participant.shown_trial != trial.trial_index
            or participant.shown_at is None
            or participant.interruption_mark == mark
        ):
            return False
        on_screen_ms = (now - parse_iso(participant.shown_at)).total_seconds() * 1000
        lost = round(max(0.0, min(float(lost_ms), on_screen_ms)))
        stored = self.storage.record_interruption(
            self.participant_id, trial.trial_index, lost, mark, now
        )
        if stored is None:
            return False
        self.participant = stored
        if stored.status != IN_PROGRESS or stored.shown_trial != trial.trial_index:
            self.refresh()  # another tab moved on meanwhile
        return stored.interruption_mark == mark and stored.shown_at == iso(now)

    def expire(self, trial_index: int, now: datetime | None = None) -> bool:
        """Record the current trial as "timeout" once its time limit has passed."""
        now = now or utc_now()
        trial = self.current_trial
        if trial is None or trial.trial_index != trial_index or self.current_step is not None:
            return False
        left = self.seconds_left(now)
        if left is None or left > 0:
            return False
        return self._record(trial, {"response": TIMEOUT}, self.shown_at(trial_index), now)

    def _advance(self, trial: Trial, step: Step, after: str | None = None):
        """The status rules (study/progress.py) for `step` on `trial`, for storage to apply
        to the stored counters. `after`: the follow-up question the step replied to."""
        questions = trial.follow_ups
        later = questions[questions.index(after) + 1 :] if after else questions
        awaits = bool(later) and not step.timed_out
        following = trial.trial_index + 1
        drawn_next = following < self.n_trials and not trial.feedback and not awaits
        rules = StatusRules(
            total_trials=self.n_trials,
            max_attention_failures=self.config.attention.max_failures,
            max_consecutive_timeouts=(
                self.config.max_consecutive_timeouts if self.config.time_limit_s else None
            ),
        )
        step = replace(step, awaits=awaits, next_trial=following if drawn_next else None)
        return lambda progress: advance(progress, step, rules)

    def _record(
        self,
        trial: Trial,
        values: dict,
        shown_at: datetime,
        answered_at: datetime,
        save_failures: int = 0,
        saved_at: datetime | None = None,
    ) -> bool:
        """Write the answer row; the participant's progress (and the next trial's draw, or
        its follow-up question's) is stamped `saved_at` (default: `answered_at`)."""
        saved_at = saved_at or answered_at
        row = response_row(self, trial, values, shown_at, answered_at, save_failures)
        step = Step(
            answered=True,
            at=iso(saved_at),
            failed=bool(failed(row)),
            timed_out=row["response"] == TIMEOUT,
        )
        result = self.storage.record_response(row, self._advance(trial, step), saved_at)
        if result.inserted and result.status == self.participant.status:
            self._answered[trial.trial_index] = row  # the common case needs no re-read
            self.participant = replace(self.participant, n_answered=self.participant.n_answered + 1)
            self._moved_on(result, saved_at)
        else:
            self.refresh()  # someone else answered first, or the status moved on
        return result.inserted

    def _moved_on(self, result: RecordResult, saved_at: datetime) -> None:
        self.participant = replace(
            self.participant,
            last_seen_at=iso(saved_at),
            shown_trial=result.shown_trial,
            shown_at=result.shown_at,
        )


def response_row(
    flow: ParticipantFlow,
    trial: Trial,
    values: dict,
    shown_at: datetime,
    answered_at: datetime,
    save_failures: int = 0,
) -> dict:
    """The responses-table row for one answer: the core columns (`sketchlab.contracts.
    RESPONSE_COLUMNS`), then the answer's own values (`values`, from the trial type that
    read it: `response`, and e.g. `typed_response`); follow-up columns stay empty."""
    participant = flow.participant
    response = values["response"]
    rt_ms = round(max(0.0, (answered_at - shown_at).total_seconds()) * 1000)
    judge = TRIAL_TYPES[trial.shown_by]
    return {
        "participant_id": flow.participant_id,
        "study_id": flow.config.study_id,
        "session_id": participant.session_id,  # the first one: a reload keeps one session
        "condition": participant.condition,
        "list_id": participant.list_id,
        "trial_index": trial.trial_index,
        "trial_type": trial.trial_type,
        "stimulus_id": trial.stimulus_id,
        "image_id": trial.image_id,
        "true_class": trial.true_class,
        "n_strokes": trial.n_strokes,
        "options_shown": OPTION_SEPARATOR.join(trial.options),
        "response": response,
        "correct": int(response != TIMEOUT and judge.correct(trial, values)),
        "is_none": int(response == NONE),
        "rt_ms": rt_ms,
        "started_at": iso(shown_at),
        "answered_at": iso(answered_at),
        "too_fast": int(flow.timing.too_fast(rt_ms)),
        "interrupted_ms": participant.interrupted_ms_of(trial.trial_index),
        "save_failures": save_failures,
        **{name: value for name, value in values.items() if name != "response"},
    }
