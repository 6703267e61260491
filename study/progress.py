"""The participant status rules: how one stored answer (or a follow-up's reply) moves a
participant on. The flow (study/flow.py) decides what a step is; storage applies `advance`
inside the transaction that stores it, on the participant row it has locked, so that two tabs
or two replicas can never both count an answer or both finish a study.

- Every answered trial counts (`n_answered`); a wrong answer to a type that `fails_when_wrong`
  counts as a failed attention check (`study.trial_types.failed`); more failures than
  `attention.max_failures` end the study as `failed_attention`.
- With a time limit, more timed-out trials in a row than `max_consecutive_timeouts` end it as
  `timed_out`, and so does reaching the end on two or more in a row (a tab left open never
  ends `completed`).
- Otherwise the participant is `completed` once every trial is answered and no follow-up
  question (a confidence rating) is still to come.
- The next trial is drawn (its clock starts) in the same transaction, unless practice feedback
  or a follow-up question comes first; a follow-up's question starts its own clock then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sketchlab.contracts import COMPLETED, FAILED_ATTENTION, IN_PROGRESS, TIMED_OUT


@dataclass(frozen=True)
class Progress:
    """The participant row's counters, as stored."""

    status: str
    n_answered: int
    attention_failures: int
    consecutive_timeouts: int
    shown_trial: int | None
    """The trial on screen (first drawn wins, across tabs and replicas)."""
    shown_at: str | None
    """When it (or its follow-up question) was first drawn (ISO-8601 UTC)."""


@dataclass(frozen=True)
class StatusRules:
    """The study's limits for one participant."""

    total_trials: int
    max_attention_failures: int
    max_consecutive_timeouts: int | None
    """None: no time limit, so time-outs never end a session."""


@dataclass(frozen=True)
class Step:
    """What one write did: `answered` a trial (False: replied to a follow-up question), with
    a `failed` attention check or a `timed_out` trial; whether a follow-up question of this
    trial `awaits`; the trial to draw next (None: none yet), all at time `at`."""

    answered: bool
    at: str
    failed: bool = False
    timed_out: bool = False
    awaits: bool = False
    next_trial: int | None = None


def advance(progress: Progress, step: Step, rules: StatusRules) -> Progress:
    """The participant's counters after `step` (module docstring)."""
    answered = progress.n_answered + int(step.answered)
    failures = progress.attention_failures + int(step.failed)
    timeouts = progress.consecutive_timeouts or 0
    if step.answered:
        timeouts = timeouts + 1 if step.timed_out else 0
    finished = answered >= rules.total_trials and not step.awaits
    status = progress.status
    if failures > rules.max_attention_failures:
        status = FAILED_ATTENTION
    elif (
        step.answered
        and rules.max_consecutive_timeouts is not None
        and (timeouts > rules.max_consecutive_timeouts or (finished and timeouts > 1))
    ):
        status = TIMED_OUT
    elif finished:
        status = COMPLETED
    after = replace(
        progress,
        status=status,
        n_answered=answered,
        attention_failures=failures,
        consecutive_timeouts=timeouts,
    )
    if status != IN_PROGRESS:
        return after
    if step.awaits:  # the follow-up question is drawn now: its clock starts
        return replace(after, shown_at=step.at)
    shown = progress.shown_trial
    if step.next_trial is not None and (shown is None or shown < step.next_trial):
        return replace(after, shown_trial=step.next_trial, shown_at=step.at)
    return after
