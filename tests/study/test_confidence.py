"""Confidence ratings (study/trial_types/confidence.py): validated settings, a rating after each
answer with its own answer time, stored once on the rated trial's row, through the app
(AppTest) and the flow; simulated ratings that track accuracy."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
import yaml

from sketchlab.errors import BadInput
from study.config import load_study
from study.export import responses_table
from study.flow import ParticipantFlow
from study.simulate import simulate
from study.storage import Storage, iso, parse_iso, utc_now
from study.synthetic import write_synthetic_study
from tests.study.conftest import Study, current_trial_index, page_text, prolific, start


def rating_keys(at) -> list[str]:
    return [b.key for b in at.button if b.key.startswith("confidence-")]


@pytest.fixture
def rated(tmp_path, monkeypatch) -> Study:
    return Study(tmp_path, monkeypatch, confidence_scale=5)


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"scale": 1}, "field 'confidence.scale' is invalid"),
        ({"scale": 11}, "field 'confidence.scale' is invalid"),
        ({"scale": 3, "labels": ["low", "high"]}, "gives 2 labels for a scale of 3"),
        ({"labels": ["a", "b", "<c>", "d", "e"]}, "label '<c>' contains < >"),
        ({"colour": "red"}, "unknown field 'confidence.colour'"),
    ],
)
def test_bad_settings_are_one_sentence(tmp_path, setting, message):
    path = write_synthetic_study(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["confidence"] = setting
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BadInput) as raised:
        load_study(path, verify_images=False)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_after_each_answer_a_rating_with_its_own_time(rated):
    at = rated.session(prolific("p1"))
    at.button(key="consent-yes").click().run()
    assert "After each answer, say how sure you are" in page_text(at), "the instructions say"
    at.button(key="instructions-done").click().run()
    trials = rated.trials("p1")
    for trial in trials:
        assert current_trial_index(at) == trial.trial_index
        at.button(key=f"answer-{trial.trial_index}-0").click().run()
        keys = rating_keys(at)
        if trial.dictated:  # an instructional check dictates its answer: nothing to rate
            assert not keys
        else:
            assert keys == [f"confidence-{trial.trial_index}-{n}" for n in range(1, 6)]
            labels = [at.button(key=k).label for k in keys]
            assert labels[0].startswith("1") and "Guessing" in labels[0] and "Certain" in labels[4]
            rating = next(e.proto.body for e in at.get("html") if "sk-rating-" in e.proto.body)
            assert "<img" not in rating and "How sure are you" in rating, "no sketch again"
            assert not [b for b in at.button if b.key.startswith("answer-")]
            at.button(key=keys[trial.trial_index % 5]).click().run()
        feedback = [b.key for b in at.button if b.key.startswith("feedback-")]
        if feedback:  # practice feedback comes after the rating (checked above: not before)
            assert trial.trial_type == "practice"
            at.button(key=feedback[0]).click().run()
    rows = rated.rows("p1")
    assert rated.storage.get_participant("p1").status == "completed"
    for trial in trials:
        row = rows[trial.trial_index]
        if trial.dictated:
            assert row["confidence"] is None and row["confidence_rt_ms"] is None
        else:
            assert row["confidence"] == trial.trial_index % 5 + 1
            assert 0 <= row["confidence_rt_ms"] < 60_000


def test_the_rating_resumes_after_a_reload_and_its_clock_goes_on(rated):
    at = start(rated.session(prolific("p2")))
    at.button(key="answer-0-0").click().run()  # the practice trial, then its rating
    assert rating_keys(at)
    participant = rated.storage.get_participant("p2")
    asked = parse_iso(participant.shown_at)
    rated.storage.mark("p2", utc_now(), shown_at=iso(asked - timedelta(seconds=7)))
    reloaded = rated.session(prolific("p2"))
    assert rating_keys(reloaded) == [f"confidence-0-{n}" for n in range(1, 6)], "not the answer"
    second_tab = rated.session(prolific("p2"))
    reloaded.button(key="confidence-0-3").click().run()
    second_tab.button(key="confidence-0-4").click().run()  # a stale tab: already rated
    row = rated.rows("p2")[0]
    assert row["confidence"] == 3 and row["confidence_rt_ms"] >= 7000


def _started(study: Study, pid: str) -> ParticipantFlow:
    flow = ParticipantFlow.open(study.config, study.storage, pid)
    flow.consent(True)
    flow.finish_instructions()
    return flow


def test_the_flow_takes_one_rating_per_trial_not_too_soon(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, confidence_scale=4, min_answer_ms=250)
    flow = _started(study, "p3")
    trial = flow.current_trial
    shown = flow.shown_at(trial.trial_index)
    assert flow.answer(0, trial.options[0], shown + timedelta(seconds=2))
    assert flow.current_trial is trial and flow.current_step == "confidence"
    assert not flow.answer(0, trial.options[1], shown + timedelta(seconds=3)), "answered"
    asked = flow.shown_at(0)
    with pytest.raises(BadInput, match="from 1 to 4"):
        flow.reply(0, "confidence", 5, asked + timedelta(seconds=1))
    assert not flow.reply(0, "confidence", 2, asked + timedelta(milliseconds=100)), "too soon"
    assert flow.reply(0, "confidence", "2", asked + timedelta(seconds=1))
    assert not flow.reply(0, "confidence", 3, asked + timedelta(seconds=2)), "rated once"
    assert study.rows("p3")[0]["confidence"] == 2


def test_the_study_completes_only_after_the_last_rating(rated):
    flow = _started(rated, "p4")
    while flow.current_trial is not None:
        trial, question = flow.current_trial, flow.current_step
        at = flow.shown_at(trial.trial_index) + timedelta(seconds=2)
        if question is None:
            flow.answer(trial.trial_index, trial.correct_response, at)
            last = trial.trial_index == flow.n_trials - 1
            if last and trial.follow_ups:
                assert rated.storage.get_participant("p4").status == "in_progress"
        else:
            flow.reply(trial.trial_index, question, 5, at)
    assert rated.storage.get_participant("p4").status == "completed"


def test_a_timed_out_trial_gets_no_rating(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, confidence_scale=5, time_limit_s=5)
    flow = _started(study, "p5")
    shown = flow.shown_at(0)
    assert flow.expire(0, shown + timedelta(seconds=6))
    assert flow.current_trial.trial_index == 1 and flow.current_step is None
    assert study.rows("p5")[0]["response"] == "timeout"
    assert study.rows("p5")[0]["confidence"] is None


def test_simulated_ratings_track_accuracy(tmp_path):
    path = write_synthetic_study(tmp_path, confidence_scale=5, images_per_class=4)
    config = load_study(path, verify_images=False)
    storage = Storage(config.storage, config.study_id, durable=False)
    try:
        simulate(config, storage, 120, seed=3)
        rows = responses_table(storage)
    finally:
        storage.close()
    answered = rows[rows["trial_type"].isin(["test", "foil"]) & (rows["response"] != "timeout")]
    assert answered["confidence"].notna().all()
    assert answered["confidence_rt_ms"].gt(0).all()
    by_rating = answered.groupby("confidence")["correct"].mean()
    assert list(by_rating.index) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(by_rating.to_numpy()) > 0), "more confident, more often right"
    right = answered.loc[answered["correct"] == 1, "confidence"].mean()
    wrong = answered.loc[answered["correct"] == 0, "confidence"].mean()
    assert right - wrong > 1.0
    assert re.fullmatch(r"\d+", str(int(answered["confidence"].max())))
