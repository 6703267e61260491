"""Storage and the participant flow on SQLite and on a real PostgreSQL server: nothing lost,
nothing doubled, balanced assignment, resume, statuses, studies kept apart."""

import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, text

from sketchlab.errors import BadInput
from study.assignment import assign
from study.config import load_study
from study.design import cells
from study.flow import ParticipantFlow
from study.storage import Storage, participants_table, responses_table
from tests.conftest import TEST_DATA

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NEW_COLUMNS = {
    "shown_trial", "shown_at", "consecutive_timeouts", "screen_width", "screen_height",
    "viewport_width", "viewport_height", "too_fast",
}  # fmt: skip


def started(config, storage, participant_id, now=T0) -> ParticipantFlow:
    flow = ParticipantFlow.open(config, storage, participant_id, "sess1", now)
    flow.consent(True, now)
    flow.finish_instructions(now)
    return flow


def answer_current(flow, response=None, after_s: float = 2.0) -> bool:
    """Answer the current trial `after_s` seconds after it was drawn."""
    trial = flow.current_trial
    shown = flow.shown_at(trial.trial_index, T0)
    return flow.answer(
        trial.trial_index, response or trial.correct_response, shown + timedelta(seconds=after_s)
    )


def test_double_answer_is_stored_once(config, storage):
    flow = started(config, storage, "P1")
    trial = flow.current_trial
    assert flow.answer(trial.trial_index, trial.correct_response, T0 + timedelta(seconds=1))
    assert not flow.answer(trial.trial_index, "dog", T0 + timedelta(seconds=2))
    other_tab = ParticipantFlow.open(config, storage, "P1", "sess1", T0)
    assert not other_tab.answer(trial.trial_index, "dog", T0 + timedelta(seconds=3))
    rows = storage.responses_frame()
    assert len(rows) == 1
    assert rows.iloc[0]["response"] == trial.correct_response


def test_many_threads_answering_the_same_trial_write_exactly_one_row(config, storage):
    started(config, storage, "P1")
    flows = [ParticipantFlow.open(config, storage, "P1", "sess1", T0) for _ in range(24)]
    barrier = threading.Barrier(len(flows))
    results: list[bool] = []

    def click(flow):
        barrier.wait()
        results.append(answer_current(flow))

    threads = [threading.Thread(target=click, args=(f,)) for f in flows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert storage.count_responses() == 1
    assert storage.get_participant("P1").n_answered == 1


def test_resume_rebuilds_the_same_order_and_continues_at_the_next_trial(config, storage):
    flow = started(config, storage, "P1")
    order = [t.stimulus_id for t in flow.trials]
    for _ in range(3):
        assert answer_current(flow)
    reopened = ParticipantFlow.open(config, storage, "P1", "sess2", T0 + timedelta(minutes=1))
    assert [t.stimulus_id for t in reopened.trials] == order
    assert reopened.current_trial.trial_index == 3
    assert reopened.stage == "trials"
    assert reopened.n_answered == 3


def test_completed_participant_sees_the_code_again_and_cannot_answer_more(config, storage):
    flow = started(config, storage, "P1")
    while flow.current_trial is not None:
        assert answer_current(flow)
    assert flow.stage == "done"
    back = ParticipantFlow.open(config, storage, "P1", "sess1", T0 + timedelta(hours=2))
    assert back.stage == "done"
    assert back.completion_code == "TESTCODE1"
    assert back.redirect_url.endswith("cc=TESTCODE1")
    assert back.current_trial is None
    assert not back.answer(0, "cat", T0 + timedelta(hours=2))
    assert storage.count_responses() == flow.n_trials
    participant = storage.get_participant("P1")
    assert participant.status == "completed" and participant.completed_at is not None


def test_new_participants_fill_the_least_filled_cell(config, storage):
    design_cells = cells(config)
    for i in range(2 * len(design_cells)):
        assign(storage, config, f"P{i}", "", T0 + timedelta(seconds=i))
    counts = Counter(
        (p.condition, p.list_id) for p in map(storage.get_participant, storage.participant_ids())
    )
    assert set(counts) == set(design_cells)
    assert set(counts.values()) == {2}


def test_concurrent_arrivals_stay_balanced_and_are_never_assigned_twice(config, storage):
    n = 2 * len(cells(config))
    barrier = threading.Barrier(n)

    def arrive(i):
        barrier.wait()
        assign(storage, config, f"P{i}", "", T0)
        assign(storage, config, f"P{i}", "", T0)  # a reload at the same moment

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    frame = storage.participants_frame()
    assert len(frame) == n
    assert set(Counter(zip(frame["condition"], frame["list_id"], strict=True)).values()) == {2}


def test_an_abandoned_session_frees_its_slot(config, storage):
    first = started(config, storage, "P0")
    cell = (first.condition, first.participant.list_id)
    for i in range(1, len(cells(config))):  # fill every other cell once
        assign(storage, config, f"P{i}", "", T0)
    later = T0 + timedelta(minutes=config.abandon_after_minutes + 1)
    for i in range(1, len(cells(config))):  # the others stay active
        storage.mark(f"P{i}", later)
    newcomer = assign(storage, config, "NEW", "", later)
    assert (newcomer.condition, newcomer.list_id) == cell
    assert storage.get_participant("P0").status == "timed_out"
    assert ParticipantFlow.open(config, storage, "P0", "", later).stage == "timed_out"


def test_idle_participant_returning_after_the_limit_is_timed_out(config, storage):
    flow = started(config, storage, "P1")
    answer_current(flow)
    back = ParticipantFlow.open(config, storage, "P1", "", T0 + timedelta(hours=1))
    assert back.stage == "timed_out"
    assert back.current_trial is None


def test_declined_consent_is_recorded_and_final(config, storage):
    flow = ParticipantFlow.open(config, storage, "P1", "", T0)
    assert flow.consent(False, T0) == "declined"
    assert storage.get_participant("P1").status == "declined"
    again = ParticipantFlow.open(config, storage, "P1", "", T0)
    assert again.consent(True, T0) == "declined"
    assert storage.get_participant("P1").condition is None, "no cell taken"


def test_failing_attention_checks_ends_the_study(config, storage):
    flow = started(config, storage, "P1")
    while flow.current_trial is not None:
        trial = flow.current_trial
        wrong = next(o for o in trial.options if o not in (trial.correct_response, "none"))
        answer_current(flow, wrong if trial.trial_type == "attention" else None)
    assert flow.stage == "failed"
    participant = storage.get_participant("P1")
    assert participant.status == "failed_attention"
    assert participant.attention_failures == 2
    attention_rows = storage.responses_frame().query("trial_type == 'attention'")
    assert list(attention_rows["correct"]) == [0, 0]
    assert storage.count_responses() < flow.n_trials  # no answers after the second failure


def test_response_not_among_the_options_is_refused(config, storage):
    flow = started(config, storage, "P1")
    trial = flow.current_trial
    for bad in ("<script>alert(1)</script>", "bird", "", "none " * 20):
        with pytest.raises(BadInput):
            flow.answer(trial.trial_index, bad, T0 + timedelta(seconds=2))
    assert storage.count_responses() == 0


def test_late_answer_is_stored_as_timeout(config, storage):
    timed = config.model_copy(update={"time_limit_s": 10.0})
    flow = started(timed, storage, "P1")
    trial = flow.current_trial
    assert flow.answer(trial.trial_index, trial.correct_response, T0 + timedelta(seconds=30))
    drawn = T0 + timedelta(seconds=33)  # after the practice feedback
    assert flow.shown_at(flow.current_trial.trial_index, drawn) == drawn
    assert not flow.expire(flow.current_trial.trial_index, drawn + timedelta(seconds=5))
    assert flow.expire(flow.current_trial.trial_index, drawn + timedelta(seconds=11))
    rows = storage.responses_frame()
    assert list(rows["response"]) == ["timeout", "timeout"]
    assert list(rows["correct"]) == [0, 0]
    assert list(rows["rt_ms"]) == [30_000, 11_000]


def test_studies_in_one_database_are_kept_apart(config, storage):
    other_config = config.model_copy(update={"study_id": config.study_id + "-b"})
    other = Storage(other_config.storage, other_config.study_id)
    try:
        answer_current(started(config, storage, "P1"))
        flow_b = started(other_config, other, "P1")
        assert flow_b.n_answered == 0
        assert other.count_responses() == 0
        assert storage.count_responses() == 1
        assert len(other.participants_frame()) == 1
    finally:
        other.close()


def test_schema_is_created_once_and_reopening_keeps_data(config, storage):
    answer_current(started(config, storage, "P1"))
    again = Storage(config.storage, config.study_id)
    try:
        assert again.count_responses() == 1
        with again.engine.connect() as conn:
            if again.is_sqlite:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        again.close()


def test_storage_bench_counts_no_lost_or_doubled_trials(storage_url):
    from sketchlab.bench.study_storage import storage_bench

    result = storage_bench(storage_url, writers=12, trials_per_writer=4, resend_every=2)
    assert result["errors"] == 0
    assert result["rows"] == result["expected_rows"] == 48
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["writes_sent"] == 12 * 6 and result["trials_per_s"] > 0


def test_rows_keep_the_first_session_id_across_reloads(config, storage):
    answer_current(started(config, storage, "P1"))  # session "sess1"
    reload = ParticipantFlow.open(config, storage, "P1", "", T0)  # link without SESSION_ID
    answer_current(reload)
    assert set(storage.responses_frame()["session_id"]) == {"sess1"}


def test_a_trial_keeps_its_first_drawn_time_across_reloads_and_tabs(config, storage):
    flow = started(config, storage, "P1")
    assert flow.shown_at(0) == T0, "the first trial is drawn when the instructions end"
    answer_current(flow)  # practice: trial 1 is drawn after the feedback, when shown
    assert flow.shown_at(1, T0 + timedelta(seconds=5)) == T0 + timedelta(seconds=5)
    flow.answer(1, flow.current_trial.correct_response, T0 + timedelta(seconds=7))
    drawn = T0 + timedelta(seconds=7)  # trial 2 is drawn by the same answer
    later = T0 + timedelta(seconds=40)
    reloaded = ParticipantFlow.open(config, storage, "P1", "sess1", later)
    assert reloaded.shown_at(2, later) == drawn, "a reload does not restart the clock"
    other_tab = ParticipantFlow.open(config, storage, "P1", "sess1", later)
    assert other_tab.shown_at(2, later + timedelta(seconds=5)) == drawn
    assert reloaded.answer(2, reloaded.current_trial.correct_response, later)
    assert storage.responses_of("P1")[2]["rt_ms"] == 33_000
    assert storage.responses_of("P1")[2]["started_at"] == "2026-03-02T09:00:07.000Z"
    assert not other_tab.answer(2, "cat", later + timedelta(seconds=6)), "the database decides"
    assert other_tab.current_trial.trial_index == 3


def test_an_answer_sooner_than_the_minimum_time_is_ignored(config, storage):
    flow = started(config, storage, "P1")
    assert not answer_current(flow, after_s=0.1), "a double key press reaching the next trial"
    assert storage.count_responses() == 0 and flow.current_trial.trial_index == 0
    assert answer_current(flow, after_s=0.3)
    assert storage.count_responses() == 1


def test_answers_under_200_ms_are_flagged_too_fast(config, storage):
    quick = config.model_copy(update={"min_answer_ms": 0})
    flow = started(quick, storage, "P1")
    assert answer_current(flow, after_s=0.15)
    assert answer_current(flow, after_s=0.25)
    rows = storage.responses_frame()
    assert list(rows["rt_ms"]) == [150, 250]
    assert list(rows["too_fast"]) == [1, 0]


def expire_current(flow) -> bool:
    trial = flow.current_trial
    shown = flow.shown_at(trial.trial_index, T0)
    return flow.expire(trial.trial_index, shown + timedelta(seconds=flow.config.time_limit_s))


def test_too_many_timeouts_in_a_row_end_the_session_as_timed_out(config, storage):
    timed = config.model_copy(update={"time_limit_s": 10.0, "max_consecutive_timeouts": 2})
    flow = started(timed, storage, "P1")
    for _ in range(2):
        assert expire_current(flow)
    assert answer_current(flow), "an answer ends the run of timeouts"
    for _ in range(2):
        assert expire_current(flow)
    assert flow.stage == "trials"
    assert expire_current(flow)  # the third in a row
    assert flow.stage == "timed_out" and flow.current_trial is None
    assert storage.get_participant("P1").status == "timed_out"
    assert storage.cell_counts()[(flow.condition, flow.participant.list_id)] == {"timed_out": 1}
    assert storage.count_responses() == 6


def test_a_tab_left_open_to_the_end_is_not_completed(config, storage):
    timed = config.model_copy(update={"time_limit_s": 10.0, "max_consecutive_timeouts": 50})
    flow = started(timed, storage, "P1")
    while flow.n_trials - flow.n_answered > 2:
        assert answer_current(flow)
    assert expire_current(flow) and expire_current(flow)
    assert storage.get_participant("P1").status == "timed_out"
    assert flow.stage == "timed_out" and flow.completion_code is None


def test_a_database_from_before_trial_timing_gains_its_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = load_study(TEST_DATA / "study" / "study.yaml", storage=url, verify_images=False)
    with create_engine(url).begin() as conn:  # the tables as the first release made them
        for table in (participants_table, responses_table):
            old = [
                Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                for c in table.columns
                if c.name not in NEW_COLUMNS
            ]
            Table(table.name, MetaData(), *old).create(conn)
    old_storage = Storage(url, config.study_id)
    try:
        flow = started(config, old_storage, "P1")
        assert answer_current(flow)
        assert old_storage.responses_frame()["too_fast"].tolist() == [0]
        assert old_storage.get_participant("P1").shown_at == "2026-03-02T09:00:00.000Z"
    finally:
        old_storage.close()


def test_previews_take_no_slot_and_never_reach_exports_or_counts(config, storage):
    design_cells = cells(config)
    previews = []
    for i in range(len(design_cells)):
        flow = ParticipantFlow.open(config, storage, f"preview-{i}", "", T0, preview=True)
        flow.consent(True, T0)
        flow.finish_instructions(T0)
        answer_current(flow)
        previews.append((flow.condition, flow.participant.list_id))
    assert previews == design_cells, "successive previews walk through every cell"
    assert storage.participants_frame().empty and storage.responses_frame().empty
    assert storage.count_responses() == 0 and storage.participant_ids() == []
    assert storage.cell_counts() == {} and storage.filled_cells(T0) == {}
    real = assign(storage, config, "REAL1", "", T0)
    assert (real.condition, real.list_id) == design_cells[0], "as if no preview had run"
    assert list(storage.participants_frame()["participant_id"]) == ["REAL1"]


def test_target_per_cell_fills_the_study_then_turns_newcomers_away(config, storage):
    full = config.model_copy(update={"target_per_cell": 1})
    n_cells = len(cells(full))
    for i in range(n_cells):
        assert (
            ParticipantFlow.open(full, storage, f"P{i}", "", T0).consent(True, T0) == "instructions"
        )
    late = ParticipantFlow.open(full, storage, "LATE", "", T0)
    assert late.stage == "full" and late.consent(True, T0) == "full"
    assert storage.get_participant("LATE") is None, "nothing is stored for a turned-away newcomer"
    racing = ParticipantFlow.open(config, storage, "RACE", "", T0)  # consent page drawn earlier
    racing.config = full
    assert racing.consent(True, T0) == "full" and storage.get_participant("RACE") is None
    assert ParticipantFlow.open(full, storage, "P0", "", T0).stage == "instructions"
    preview = ParticipantFlow.open(full, storage, "preview-1", "", T0, preview=True)
    assert preview.consent(True, T0) == "instructions", "previews ignore the target"
    later = T0 + timedelta(minutes=full.abandon_after_minutes + 1)
    storage.mark("P1", later)  # P0 and the others went idle: their slots are free again
    assert ParticipantFlow.open(full, storage, "LATE", "", later).consent(True, later) != "full"


def test_prolific_study_id_is_stored_with_the_participant(config, storage):
    flow = ParticipantFlow.open(config, storage, "P1", "sess1", T0, prolific_study_id="pilot01")
    flow.consent(True, T0)
    ParticipantFlow.open(config, storage, "P2", "", T0, prolific_study_id="main02").consent(False)
    frame = storage.participants_frame().set_index("participant_id")
    assert frame.loc["P1", "prolific_study_id"] == "pilot01"
    assert frame.loc["P2", "prolific_study_id"] == "main02"


def test_a_database_from_an_older_version_gains_the_new_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = load_study(TEST_DATA / "study" / "study.yaml", storage=url, verify_images=False)
    old = Storage(url, config.study_id)
    started(config, old, "OLD1")
    with old.engine.begin() as conn:  # as the first release created it
        for column in ("prolific_study_id", "preview"):
            conn.exec_driver_sql(f"ALTER TABLE study_participants DROP COLUMN {column}")
    old.close()
    reader = Storage(url, config.study_id, create=False)
    try:
        assert reader.get_participant("OLD1").preview is None
        assert list(reader.participants_frame()["participant_id"]) == ["OLD1"]
        assert assign(reader, config, "NEW1", "", T0).prolific_study_id is None
    finally:
        reader.close()


def test_opening_without_create_never_makes_a_database(tmp_path):
    missing = tmp_path / "sub" / "typo.db"
    with pytest.raises(BadInput, match="there is no database at"):
        Storage(f"sqlite:///{missing}", "s1", create=False)
    assert not missing.exists() and not missing.parent.exists()
