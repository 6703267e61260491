"""The participant status rules (study/progress.py), on their own: storage only applies them."""

from __future__ import annotations

import inspect

from study import storage
from study.progress import Progress, StatusRules, Step, advance

START = Progress("in_progress", 0, 0, 0, 0, "t0")
RULES = StatusRules(total_trials=3, max_attention_failures=1, max_consecutive_timeouts=2)


def test_answers_count_and_the_last_completes():
    after = advance(START, Step(answered=True, at="t1", next_trial=1), RULES)
    assert (after.n_answered, after.status, after.shown_trial, after.shown_at) == (
        1, "in_progress", 1, "t1",
    )  # fmt: skip
    done = advance(Progress("in_progress", 2, 0, 0, 2, "t2"), Step(answered=True, at="t3"), RULES)
    assert done.status == "completed" and done.n_answered == 3


def test_a_follow_up_question_holds_the_next_trial_and_the_end_back():
    last = Progress("in_progress", 2, 0, 0, 2, "t2")
    answered = advance(last, Step(answered=True, at="t3", awaits=True), RULES)
    assert answered.status == "in_progress", "the last rating is still to come"
    assert (answered.shown_trial, answered.shown_at) == (2, "t3"), "the question's clock"
    replied = advance(answered, Step(answered=False, at="t4"), RULES)
    assert replied.status == "completed" and replied.n_answered == 3
    middle = advance(START, Step(answered=True, at="t1", awaits=True, next_trial=1), RULES)
    assert middle.shown_trial == 0, "no next trial before the rating"


def test_failed_checks_and_timeouts_end_the_study():
    once = advance(START, Step(answered=True, at="t", failed=True), RULES)
    assert once.status == "in_progress" and once.attention_failures == 1
    twice = advance(once, Step(answered=True, at="t", failed=True), RULES)
    assert twice.status == "failed_attention"
    timeouts = START
    for _ in range(3):
        timeouts = advance(timeouts, Step(answered=True, at="t", timed_out=True), RULES)
    assert timeouts.status == "timed_out"
    reset = advance(Progress("in_progress", 1, 0, 2, 1, "t"), Step(answered=True, at="t"), RULES)
    assert reset.consecutive_timeouts == 0


def test_ending_on_two_timeouts_is_timed_out_not_completed():
    near_end = Progress("in_progress", 2, 0, 1, 2, "t")
    assert advance(near_end, Step(answered=True, at="t", timed_out=True), RULES).status == (
        "timed_out"
    )


def test_storage_holds_no_status_rule():
    source = inspect.getsource(storage.Storage.record_response) + inspect.getsource(
        storage.Storage._advance
    )
    for rule in ("FAILED_ATTENTION", "TIMED_OUT", "max_attention_failures", "total_trials"):
        assert rule not in source
