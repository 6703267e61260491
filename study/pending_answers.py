"""Answers the database could not take yet, kept by the server process until it can, so that no
answer a participant gave is silently dropped.

When storing an answer fails (study/trial_page.py's answer callback), the participant sees the
friendly error page (study/page_errors.py) instead of the trial. Their "Try again", a reload,
or any later page run of theirs on this server sends the answer again: with the time of the
original click (so its answer time and the time limit are the click's) and the number of
failed attempts, which the responses table keeps as `save_failures`. The database's key
(participant, trial) makes a second copy harmless. The next trial is drawn when the answer is
finally stored, so the wait does not count against it either.

Kept in this process's memory: a reload that reaches another replica (or a restarted server)
finds nothing here, and shows the trial again instead (as after a lost connection).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from study.flow import ParticipantFlow
from study.storage import utc_now


@dataclass(frozen=True)
class PendingAnswer:
    """An answer not stored yet: the trial, the option, the click's time (UTC) and how many
    attempts to store it have failed."""

    trial_index: int
    response: str
    answered_at: datetime
    failures: int = 1


_pending: dict[tuple[str, str, str], PendingAnswer] = {}
_lock = threading.Lock()


def _key(flow: ParticipantFlow) -> tuple[str, str, str]:
    return flow.storage.masked_url, flow.config.study_id, flow.participant_id


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
    database still fails, the answer stays pending (one failure more) and the error is
    raised."""
    key = _key(flow)
    with _lock:
        answer = _pending.get(key)
    if answer is None:
        return None
    try:
        flow.answer(
            answer.trial_index,
            answer.response,
            answer.answered_at,
            save_failures=answer.failures,
            saved_at=utc_now(),
        )
    except SQLAlchemyError:
        with _lock:
            _pending[key] = replace(answer, failures=answer.failures + 1)
        raise
    with _lock:
        _pending.pop(key, None)
    return answer
