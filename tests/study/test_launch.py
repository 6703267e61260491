"""The launch kit in the app (Streamlit AppTest): the researcher's preview, Prolific's
STUDY_ID, one exit per outcome, the "study full" page, consent decline confirmation, and
ids refused whole (helpers in tests/study/conftest.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from study.flow import ParticipantFlow, preview_participant_id
from study.storage import iso, parse_iso, utc_now
from study.synthetic import COMPLETION_CODE
from tests.study.conftest import (
    Study,
    answer_current,
    answer_keys,
    finish_correctly,
    page_text,
    prolific,
    start,
)

TOKEN = "pv0123456789abcdef"
EXITS = {
    "code": COMPLETION_CODE,
    "redirect_url": f"https://app.prolific.com/submissions/complete?cc={COMPLETION_CODE}",
    "failed_attention": {"code": "FAILED01"},
    "declined": {
        "code": "NOCONSENT",
        "redirect_url": "https://app.prolific.com/submissions/complete?cc=NOCONSENT",
    },
}


def test_preview_goes_through_the_real_flow_but_is_never_counted(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, yaml_changes={"preview_token": TOKEN})
    at = study.session({"PREVIEW": TOKEN})
    assert "Preview" in page_text(at)
    preview_id = at.query_params["PROLIFIC_PID"]
    assert preview_id.startswith("preview-"), "a preview gets an id, kept in the URL"
    start(at)
    while answer_keys(at):
        answer_current(at)
    assert COMPLETION_CODE in page_text(at)
    participant = study.storage.get_participant(preview_participant_id(preview_id))
    assert participant.status == "completed" and participant.preview == 1
    assert study.storage.participants_frame().empty and study.storage.responses_frame().empty
    assert study.storage.cell_counts() == {}


def test_a_preview_with_a_real_participants_id_leaves_that_participant_alone(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, yaml_changes={"preview_token": TOKEN})
    preview = start(study.session({**prolific("x1"), "PREVIEW": TOKEN}))
    answer_current(preview)
    answer_current(preview)
    assert study.storage.get_participant("x1") is None, "the preview made no row of x1's"

    real = study.session(prolific("x1"))
    assert [b.key for b in real.button] == ["consent-yes", "consent-no"], "x1 consents as usual"
    answer_current(start(real))
    participant = study.storage.get_participant("x1")
    assert participant.preview == 0 and participant.n_answered == 1
    assert list(study.storage.participants_frame()["participant_id"]) == ["x1"], "x1 counts"
    assert sum(sum(cell.values()) for cell in study.storage.cell_counts().values()) == 1

    answer_current(preview)  # the preview carries on, apart
    assert study.storage.get_participant(preview_participant_id("x1")).n_answered == 3
    assert study.storage.get_participant("x1").n_answered == 1


def test_a_preview_never_times_out_a_real_participant(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, yaml_changes={"preview_token": TOKEN})
    ParticipantFlow.open(study.config, study.storage, "idle1").consent(True)
    idle = timedelta(minutes=study.config.abandon_after_minutes + 1)
    study.storage.mark("idle1", utc_now() - idle)
    start(study.session({"PREVIEW": TOKEN}))
    assert study.storage.get_participant("idle1").status == "in_progress", (
        "a preview's arrival changes no real participant's row"
    )


@pytest.mark.parametrize("token", ["wrong-token-0123456", TOKEN + "\n"])
def test_a_wrong_preview_token_is_a_tampered_link(tmp_path, monkeypatch, token):
    study = Study(tmp_path, monkeypatch, yaml_changes={"preview_token": TOKEN})
    at = study.session({**prolific("p1"), "PREVIEW": token})
    assert "This study link is incomplete" in page_text(at) and not at.button


def test_preview_is_off_without_a_token_in_study_yaml(study):
    at = study.session({**prolific("p1"), "PREVIEW": TOKEN})
    assert "This study link is incomplete" in page_text(at)
    assert study.storage.get_participant("p1") is None


def test_prolific_study_id_is_stored(study):
    at = study.session({"PROLIFIC_PID": "p1", "STUDY_ID": "pilot42", "SESSION_ID": "s1"})
    start(at)
    participant = study.storage.get_participant("p1")
    assert participant.prolific_study_id == "pilot42" and participant.session_id == "s1"


def test_each_outcome_gets_its_own_completion_code(tmp_path, monkeypatch):
    study = Study(
        tmp_path, monkeypatch, max_attention_failures=0, yaml_changes={"completion": EXITS}
    )
    finish_correctly(study, "done1")
    done = study.session(prolific("done1"))
    assert COMPLETION_CODE in page_text(done) and "NOCONSENT" not in page_text(done)

    failed = start(study.session(prolific("fail1")))
    trials = study.trials("fail1")
    while answer_keys(failed):
        trial = trials[int(answer_keys(failed)[0].split("-")[1])]
        wrong = next(i for i, o in enumerate(trial.options) if o != trial.correct_response)
        answer_current(failed, position=wrong if trial.trial_type == "attention" else 0)
    assert "FAILED01" in page_text(failed) and COMPLETION_CODE not in page_text(failed)
    assert not failed.get("link_button"), "no redirect configured for this outcome"
    assert "return your submission" not in page_text(failed), "a code, so no plea to return"

    declined = study.session(prolific("no1"))
    declined.button(key="consent-no").click().run()
    declined.button(key="consent-no-confirm").click().run()
    assert "NOCONSENT" in page_text(declined) and COMPLETION_CODE not in page_text(declined)
    assert declined.get("link_button")[0].proto.url == EXITS["declined"]["redirect_url"]


def test_without_outcome_codes_failed_and_declined_get_no_code(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch)
    declined = study.session(prolific("no1"))
    declined.button(key="consent-no").click().run()
    declined.button(key="consent-no-confirm").click().run()
    assert COMPLETION_CODE not in page_text(declined) and "return your submission" in page_text(
        declined
    )


def test_a_full_study_turns_newcomers_away_and_keeps_its_participants(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, yaml_changes={"target_per_cell": 1})
    n_cells = len(study.config.conditions) * len(study.config.catalog.levels)
    for i in range(n_cells):
        ParticipantFlow.open(study.config, study.storage, f"in{i}").consent(True)
    late = study.session(prolific("late1"))
    assert "This study is full" in page_text(late) and not late.button
    assert study.storage.get_participant("late1") is None
    again = study.session(prolific("in0"))
    again.button(key="instructions-done").click().run()
    assert answer_keys(again), "those already in carry on"


def test_declining_asks_to_confirm_and_the_decline_button_is_secondary(study):
    at = study.session(prolific("p1"))
    assert at.button(key="consent-yes").proto.type == "primary"
    assert at.button(key="consent-no").proto.type == "tertiary"
    at.button(key="consent-no").click().run()
    assert study.storage.get_participant("p1") is None, "one click declines nothing"
    assert "Are you sure" in page_text(at)
    at.button(key="consent-back").click().run()
    assert [b.key for b in at.button] == ["consent-yes", "consent-no"]
    at.button(key="consent-yes").click().run()
    assert study.storage.get_participant("p1").status == "in_progress"


@pytest.mark.parametrize("name", ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"])
def test_an_id_with_a_trailing_newline_is_refused(study, name):
    query = {**prolific("p1"), name: prolific("p1")[name] + "\n"}
    at = study.session(query)
    assert "This study link is incomplete" in page_text(at) and not at.button
    assert study.storage.participant_ids() == []


@pytest.mark.postgres
def test_an_overlong_id_never_reaches_postgresql(tmp_path, monkeypatch, postgres_url):
    study = Study(
        tmp_path, monkeypatch, storage_url=postgres_url, study_id=f"ids-{uuid.uuid4().hex[:12]}"
    )
    for pid in ("a" * 64 + "\n", "a" * 65, "b" * 64):
        at = study.session({"PROLIFIC_PID": pid, "STUDY_ID": "c" * 64 + "\n"})
        assert not at.exception
        assert "This study link is incomplete" in page_text(at)
    at = study.session({"PROLIFIC_PID": "b" * 64, "STUDY_ID": "c" * 64})
    start(at)
    assert study.storage.participant_ids() == ["b" * 64], "64 characters fit the column"


OUTCOMES = {
    "completed": {"code": COMPLETION_CODE},
    "timed_out": {"code": "TIMEOUT1", "title": "Time is up"},
    "study_full": {
        "redirect_url": "https://app.prolific.com/submissions/complete?cc=FULL01",
        "text": "Sorry, every place has been taken.",
    },
}


def test_a_timed_out_session_gets_its_own_code(tmp_path, monkeypatch):
    study = Study(
        tmp_path,
        monkeypatch,
        time_limit_s=5,
        max_consecutive_timeouts=1,
        yaml_changes={"completion": None, "outcomes": OUTCOMES},
    )
    at = start(study.session(prolific("slow1")))
    answer_current(at)
    for _ in range(2):  # two time-outs in a row end the session
        shown_at = parse_iso(study.storage.get_participant("slow1").shown_at)
        study.storage.mark("slow1", utc_now(), shown_at=iso(shown_at - timedelta(seconds=6)))
        at = study.session(prolific("slow1"))
    assert study.storage.get_participant("slow1").status == "timed_out"
    text = page_text(at)
    assert "Time is up" in text and "TIMEOUT1" in text and "copy this code into Prolific" in text
    assert "return your submission" not in text and COMPLETION_CODE not in text


def test_the_study_full_page_has_its_own_text_and_redirect(tmp_path, monkeypatch):
    study = Study(
        tmp_path,
        monkeypatch,
        yaml_changes={"completion": None, "outcomes": OUTCOMES, "target_per_cell": 1},
    )
    for i in range(len(study.config.conditions) * len(study.config.catalog.levels)):
        ParticipantFlow.open(study.config, study.storage, f"in{i}").consent(True)
    late = study.session(prolific("late1"))
    text = page_text(late)
    assert "This study is full" in text and "every place has been taken" in text
    assert late.get("link_button")[0].proto.url == OUTCOMES["study_full"]["redirect_url"]
    assert "return your submission" not in text
    assert study.storage.get_participant("late1") is None
