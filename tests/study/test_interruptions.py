"""A lost connection is recorded, not charged (study/flow.py `interrupted`, on SQLite and
PostgreSQL; the page side in study/trial_page.py): the trial on screen is shown afresh, its
answer time and time limit start again, and its row says how long it was interrupted. The
browser side (a real outage in Chromium) is tests/e2e/test_browser.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from study import trial_page
from study.flow import ParticipantFlow
from tests.study.conftest import (
    Study,
    answer_current,
    current_trial_index,
    page_text,
    prolific,
    start,
)
from tests.study.test_app import move_clock_back

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def on_first_trial(config, storage, participant_id: str) -> ParticipantFlow:
    """A participant whose first trial was drawn at T0."""
    flow = ParticipantFlow.open(config, storage, participant_id, now=T0)
    flow.consent(True, now=T0)
    flow.finish_instructions(now=T0)
    return flow


def test_an_interrupted_trial_starts_afresh_and_its_row_says_so(config, storage):
    flow = on_first_trial(config, storage, "i1")
    later = T0 + timedelta(seconds=40)
    assert flow.interrupted(30_000, "1700000000000", now=later)
    again = ParticipantFlow.open(config, storage, "i1", now=later)  # a reload reads it back
    assert again.shown_at(0) == later, "the clock restarted"
    assert not again.interrupted(30_000, "1700000000000", now=later + timedelta(seconds=1)), (
        "one interruption counts once, however often it is reported"
    )
    trial = again.current_trial
    again.answer(0, trial.options[0], later + timedelta(seconds=2))
    row = storage.responses_of("i1")[0]
    assert row["rt_ms"] == 2000 and row["interrupted_ms"] == 30_000
    assert row["started_at"] == "2026-11-25T12:00:40.000Z"


def test_interruptions_add_up_and_never_exceed_the_time_on_screen(config, storage):
    flow = on_first_trial(config, storage, "i2")
    flow.interrupted(5_000, "m1", now=T0 + timedelta(seconds=10))
    flow.interrupted(99_000, "m2", now=T0 + timedelta(seconds=13))  # only 3 s on screen since
    trial = flow.current_trial
    flow.answer(0, trial.options[0], T0 + timedelta(seconds=15))
    next_trial = flow.current_trial  # after the practice feedback
    flow.shown_at(next_trial.trial_index, T0 + timedelta(seconds=18))
    flow.answer(next_trial.trial_index, next_trial.options[0], T0 + timedelta(seconds=20))
    rows = storage.responses_of("i2")
    assert rows[0]["interrupted_ms"] == 8_000 and rows[0]["rt_ms"] == 2000
    assert rows[1]["interrupted_ms"] == 0, "the next trial was not interrupted"


def test_nothing_is_recorded_without_a_trial_on_screen(config, storage):
    flow = ParticipantFlow.open(config, storage, "i3", now=T0)
    flow.consent(True, now=T0)  # the instructions are on screen
    assert not flow.interrupted(5_000, "m1", now=T0 + timedelta(seconds=10))
    assert storage.get_participant("i3").interrupted_ms is None


def test_the_page_that_reconnects_shows_the_trial_again_instead_of_a_timeout(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=5)
    at = start(study.session(prolific("p20")))
    answer_current(at)  # the practice
    index = current_trial_index(at)
    move_clock_back(study, "p20", 12)  # drawn 12 s ago; the connection was lost for 9 of them
    monkeypatch.setattr(trial_page, "interruption_report", lambda: (9_000, "1700000000000"))
    back = study.session(prolific("p20"))
    assert current_trial_index(back) == index, "shown again, not recorded as a time-out"
    assert "Time left (5 s)" in page_text(back)
    answer_current(back)
    row = study.rows("p20")[index]
    assert row["response"] != "timeout" and row["rt_ms"] < 3000
    assert row["interrupted_ms"] == 9_000
