"""Answers the database could not take yet, kept by the server process until it can, so that no
answer a participant gave is silently dropped.

When storing an answer fails (study/trial_page.py's answer callback), the participant sees the
friendly error page (study/page_errors.py) instead of the trial. Their "Try again", a reload,
or any later page run of theirs on this server sends the answer again: with the time of the
original click (so its answer time and the time limit are the click's) and the number of
failed attempts (the click and every retry that met the database error), which the responses
table keeps as `save_failures`. The database's key
(participant, trial) makes a second copy harmless. The next trial is drawn when the answer is
finally stored, so the wait does not count against it either.

Kept in this process's memory: a reload that reaches another replica (or a restarted server)
finds nothing here, and shows the trial again instead (as after a lost connection).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from study.flow import ParticipantFlow
from study.storage import Storage, utc_now


@dataclass(frozen=True)
class PendingAnswer:
    """An answer not stored yet: the trial, the answer (an option, a typed name, a rating),
    the click's time (UTC), how many attempts to store it have failed, and the follow-up
    question it replies to (None: the trial's own answer)."""

    trial_index: int
    response: object
    answered_at: datetime
    failures: int = 1
    question: str | None = None


_pending: dict[tuple[str, str, str], PendingAnswer] = {}
_lock = threading.Lock()


def _key(flow: ParticipantFlow) -> tuple[str, str, str]:
    return _participant_key(flow.storage, flow.config.study_id, flow.participant_id)


def _participant_key(storage: Storage, study_id: str, participant_id: str) -> tuple[str, str, str]:
    return storage.masked_url, study_id, participant_id


def keep(flow: ParticipantFlow, answer: PendingAnswer) -> None:
    """Remember `answer` (its first attempt failed) until `deliver` stores it."""
    with _lock:
        _pending[_key(flow)] = answer


def pending(flow: ParticipantFlow) -> PendingAnswer | None:
    """This participant's answer still waiting to be stored, if any."""
    with _lock:
        return _pending.get(_key(flow))


def deliver(flow: ParticipantFlow) -> PendingAnswer | None:
    """Store this participant's pending answer, if there is one, and return it. If the
    database still fails, the error is raised and the answer stays pending (the caller
    counts the failure: `failed_again`)."""
    key = _key(flow)
    with _lock:
        answer = _pending.get(key)
    if answer is None:
        return None
    if answer.question is None:
        flow.answer(
            answer.trial_index,
            answer.response,
            answer.answered_at,
            save_failures=answer.failures,
            saved_at=utc_now(),
        )
    else:
        flow.reply(
            answer.trial_index,
            answer.question,
            answer.response,
            answer.answered_at,
            saved_at=utc_now(),
        )
    with _lock:
        _pending.pop(key, None)
    return answer


def failed_again(storage: Storage, study_id: str, participant_id: str) -> None:
    """Another attempt of this participant's to get on (a retry, a reload) met a database
    error while their answer was pending: count it."""
    key = _participant_key(storage, study_id, participant_id)
    with _lock:
        if key in _pending:
            _pending[key] = replace(_pending[key], failures=_pending[key].failures + 1)
