"""The live view (study/monitor.py) on SQLite and PostgreSQL: counts per cell, durations,
recent answers, time-outs without writing, and the two warnings."""

from datetime import timedelta

import pytest

from sketchlab.contracts import ATTENTION
from study.assignment import active_since
from study.design import cells
from study.flow import ParticipantFlow
from study.monitor import study_status
from tests.study.test_storage import T0

NOW = T0 + timedelta(hours=2)


@pytest.fixture
def strict_config(config):
    """The test study where one failed attention check ends the session."""
    attention = config.attention.model_copy(update={"max_failures": 0})
    return config.model_copy(update={"attention": attention})


def take_part(config, storage, pid, start, *, cell=None, minutes=4.0, fail=False, stop=None):
    """A participant consenting at `start` and answering every trial (one every `minutes` /
    trials), into `cell` if given; `fail`: the first attention check is answered wrongly;
    `stop`: stop after this many answers."""
    if cell is not None:
        storage.allocate(pid, "s", lambda counts: cell, start, active_since(config, start), "1")
    flow = ParticipantFlow.open(config, storage, pid, "s", start)
    flow.consent(True, start)
    flow.finish_instructions(start)
    step = timedelta(minutes=minutes) / flow.n_trials
    now = start
    while flow.current_trial is not None and (stop is None or flow.n_answered < stop):
        trial = flow.current_trial
        response = trial.correct_response
        if fail and trial.trial_type == ATTENTION:
            response = next(o for o in trial.options if o != trial.correct_response)
        flow.answer(trial.trial_index, response, flow.shown_at(trial.trial_index, now) + step)
        now += step
    return flow


def test_counts_per_cell_durations_and_recent_answers(config, storage):
    for n in range(3):  # completed long ago, 4, 5 and 6 minutes each
        take_part(config, storage, f"old{n}", T0, minutes=4 + n)
    recent = take_part(config, storage, "new0", NOW - timedelta(minutes=5), minutes=4)
    busy = take_part(config, storage, "busy", NOW - timedelta(minutes=3), stop=2)
    gone = take_part(config, storage, "gone", NOW - timedelta(minutes=90), stop=3)
    ParticipantFlow.open(config, storage, "no", "s", NOW).consent(False, NOW)

    live = study_status(config, storage, NOW)

    by_cell = {(c.condition, c.list_id): c for c in live.cells}
    assert list(by_cell) == cells(config)
    assert live.totals() == {
        "completed": 4,
        "in_progress": 1,
        "timed_out": 1,
        "failed_attention": 0,
    }
    assert live.declined == 1
    assert by_cell[(busy.participant.condition, busy.participant.list_id)].in_progress == 1
    assert by_cell[(gone.participant.condition, gone.participant.list_id)].timed_out == 1
    assert storage.get_participant("gone").status == "in_progress", "the view writes nothing"
    assert live.median_minutes == pytest.approx(4.5)
    assert live.recent_answers == recent.n_trials + 2, "answers of the last 10 minutes"
    new_cell = by_cell[(recent.participant.condition, recent.participant.list_id)]
    assert new_cell.recent_answers >= recent.n_trials
    table = live.table(with_totals=True)
    assert len(table) == len(cells(config)) + 1
    assert table.iloc[-1]["completed"] == 4 and table.iloc[-1]["condition"] == "all"
    assert live.warnings == []


def test_a_cell_that_falls_behind_is_named(config, storage):
    lagging = cells(config)[-1]
    for cell in cells(config):
        for n in range(4 if cell != lagging else 1):
            take_part(config, storage, f"p-{cell[0]}-{cell[1]}-{n}", T0, cell=cell)

    live = study_status(config, storage, NOW)

    assert len(live.warnings) == 1
    assert f"{lagging[0]} / list {lagging[1]} falls behind" in live.warnings[0]
    take_part(config, storage, "catch-up", T0, cell=lagging)
    assert study_status(config, storage, NOW).warnings == [], "a lag of 2 is not yet behind"


def test_a_jump_in_the_failure_rate_is_reported(strict_config, storage):
    config = strict_config
    for n in range(6):
        take_part(config, storage, f"early{n}", T0)
    for n in range(3):
        take_part(config, storage, f"fail{n}", NOW - timedelta(minutes=6), fail=True)
    take_part(config, storage, "fine", NOW - timedelta(minutes=6))

    live = study_status(config, storage, NOW)

    assert live.totals()["failed_attention"] == 3
    assert live.recent_failure_rate == pytest.approx(0.75)
    assert live.earlier_failure_rate == 0
    assert any("failure rate jumped: 75%" in warning for warning in live.warnings)
    assert not any("falls behind" in warning for warning in live.warnings)


def test_failures_at_the_usual_rate_raise_no_warning(strict_config, storage):
    config = strict_config
    for n in range(4):  # before the window: half fail, half time out or finish
        take_part(config, storage, f"early{n}", T0, fail=n % 2 == 0)
    for n in range(4):
        take_part(config, storage, f"late{n}", NOW - timedelta(minutes=6), fail=n < 2)
    take_part(config, storage, "late-gone", NOW - timedelta(minutes=33), stop=1)  # times out

    live = study_status(config, storage, NOW)

    assert live.totals()["timed_out"] == 1, "abandoned 30 minutes after its last answer"
    assert live.earlier_failure_rate == pytest.approx(0.5)
    assert live.recent_failure_rate == pytest.approx(0.6)
    assert live.warnings == [], "3 failures, but 60% is under 50% + 20 points"
