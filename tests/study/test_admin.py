"""The admin page's login and participant list (Streamlit AppTest; helpers in
tests/study/conftest.py): a wrong password delays that client in every session, a short
password keeps the page off, rates leave out people still answering, and every participant
is listed for Prolific."""

import logging
import time

import pytest

from study import login
from study.flow import ParticipantFlow
from study.storage import utc_now
from tests.study.conftest import admin, fill_study, finish_correctly, page_text

PASSWORD = "correct-horse-battery"


@pytest.fixture
def no_delay(monkeypatch):
    """Wrong guesses cost no waiting in these tests."""
    monkeypatch.setattr(login, "FIRST_DELAY_S", 0.0)


def log_in(at, password: str = PASSWORD):
    at.text_input[0].input(password).run()
    return at


def test_a_wrong_password_delays_that_client_in_every_session(study, monkeypatch, caplog):
    monkeypatch.setattr(login, "FIRST_DELAY_S", 1.5)
    fill_study(study)
    secrets = {"admin_password": PASSWORD}
    with caplog.at_level(logging.INFO, logger="study.login"):
        wrong = log_in(admin(study, secrets), "guess-1")
        assert "Wrong password. You can try again in 2 seconds" in page_text(wrong)
        fresh_session = log_in(admin(study, secrets))
        assert "try again in" in page_text(fresh_session), "a new session waits too"
        assert not fresh_session.metric and "done1" not in page_text(fresh_session)
        time.sleep(1.6)
        later = log_in(admin(study, secrets))
    assert later.metric, "after the delay the right password gets in"
    messages = [record.getMessage() for record in caplog.records]
    assert sum("login failed" in m for m in messages) == 1
    assert any("login refused" in m for m in messages)
    assert not any("guess-" in m for m in messages)


def test_a_short_admin_password_keeps_the_page_off(study):
    fill_study(study)
    at = admin(study, secrets={"admin_password": "s3cret"})
    assert "admin page is off" in page_text(at) and "at least 12" in page_text(at)
    assert not at.text_input and not at.metric


def test_rates_are_of_ended_sessions_and_every_participant_is_listed(study, no_delay):
    fill_study(study)  # done1 completed (the first option throughout), busy1, no1 declined
    ParticipantFlow.open(study.config, study.storage, "fail1").consent(True)
    study.storage.mark("fail1", utc_now(), status="failed_attention")
    finish_correctly(study, "done2")
    at = log_in(admin(study, {"admin_password": PASSWORD}))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Completion rate"] == "67%" and metrics["Excluded (attention)"] == "33%"
    review = next(frame.value for frame in at.dataframe if "action" in frame.value.columns)
    actions = dict(zip(review["participant_id"], review["action"], strict=True))
    assert actions == {
        "done1": "review",  # flagged same_answer
        "busy1": "wait",
        "no1": "return",
        "fail1": "reject",
        "done2": "approve",
    }
    assert at.get("download_button"), "the list can be downloaded"
