"""The admin login throttle (study/login.py) on real SQLite and PostgreSQL: a growing delay per
client after each wrong password, kept in the database (so every replica and a restarted
server see it), no lockout one client can put on another, every failure logged with the
client's address and without the password."""

import logging
import threading
from datetime import datetime, timedelta, timezone

from study.login import FIRST_DELAY_S, FORGET_AFTER_S, LoginThrottle, password_problem
from study.storage import Storage

RIGHT = "correct-horse-battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_each_wrong_password_doubles_that_clients_wait(storage):
    clock = Clock()
    throttle = LoginThrottle(storage, clock=clock)
    first = throttle.attempt("guess-1", RIGHT, "203.0.113.9")
    assert not first.ok and first.next_delay_s == FIRST_DELAY_S
    refused = throttle.attempt(RIGHT, RIGHT, "203.0.113.9")
    assert not refused.ok and refused.wait_s == FIRST_DELAY_S, "even the right one must wait"
    clock.advance(FIRST_DELAY_S)
    second = throttle.attempt("guess-2", RIGHT, "203.0.113.9")
    assert second.next_delay_s == 2 * FIRST_DELAY_S
    clock.advance(2 * FIRST_DELAY_S - 0.5)
    assert throttle.attempt(RIGHT, RIGHT, "203.0.113.9").wait_s == 0.5
    clock.advance(0.5)
    assert throttle.attempt(RIGHT, RIGHT, "203.0.113.9").ok
    assert throttle.attempt("typo", RIGHT, "203.0.113.9").next_delay_s == FIRST_DELAY_S, (
        "a right password forgets the failures"
    )


def test_one_client_guessing_never_locks_out_another(storage):
    clock = Clock()
    throttle = LoginThrottle(storage, clock=clock)
    for i in range(6):
        throttle.attempt(f"guess-{i}", RIGHT, "198.51.100.66")
        clock.advance(FIRST_DELAY_S * 2**i)
    assert throttle.attempt("guess-x", RIGHT, "198.51.100.66").next_delay_s == 64 * FIRST_DELAY_S
    assert throttle.attempt(RIGHT, RIGHT, "203.0.113.9").ok, "the admin elsewhere gets in"


def test_every_replica_and_a_restarted_server_see_the_same_delay(storage, config):
    clock = Clock()
    LoginThrottle(storage, clock=clock).attempt("guess-1", RIGHT, "203.0.113.9")
    other_replica = Storage(config.storage, config.study_id)
    try:
        assert LoginThrottle(other_replica, clock=clock).attempt(RIGHT, RIGHT, "203.0.113.9").wait_s
    finally:
        other_replica.close()
    storage.close()  # the server stops; a new process opens the database
    restarted = Storage(config.storage, config.study_id)
    try:
        clock.advance(FIRST_DELAY_S)
        again = LoginThrottle(restarted, clock=clock).attempt("guess-2", RIGHT, "203.0.113.9")
        assert again.next_delay_s == 2 * FIRST_DELAY_S, "the count survived the restart"
    finally:
        restarted.close()


def test_guesses_sent_together_from_one_client_are_refused_but_one(storage):
    clock = Clock()
    throttle = LoginThrottle(storage, clock=clock)
    barrier = threading.Barrier(8)
    results = []

    def guess(i):
        barrier.wait()
        results.append(throttle.attempt(f"guess-{i}", RIGHT, "198.51.100.66"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compared = [result for result in results if result.wait_s == 0]
    assert len(results) == 8 and len(compared) == 1, "one guess at a time per client"


def test_failures_are_forgotten_after_a_day_without_one(storage):
    clock = Clock()
    throttle = LoginThrottle(storage, clock=clock)
    throttle.attempt("guess-1", RIGHT, "203.0.113.9")
    clock.advance(FIRST_DELAY_S)
    throttle.attempt("guess-2", RIGHT, "203.0.113.9")
    clock.advance(FORGET_AFTER_S + 1)
    assert throttle.attempt("guess-3", RIGHT, "203.0.113.9").next_delay_s == FIRST_DELAY_S


def test_failures_are_logged_with_the_client_and_without_the_password(storage, caplog):
    clock = Clock()
    throttle = LoginThrottle(storage, clock=clock)
    with caplog.at_level(logging.INFO, logger="study.login"):
        throttle.attempt("hunter2-typed", RIGHT, "203.0.113.9")
        throttle.attempt(RIGHT, RIGHT, "203.0.113.9")
        clock.advance(FIRST_DELAY_S)
        throttle.attempt(RIGHT, RIGHT, "203.0.113.9")
    messages = [record.getMessage() for record in caplog.records]
    assert any("admin login failed from 203.0.113.9" in m for m in messages)
    assert any("admin login refused from 203.0.113.9" in m for m in messages)
    assert any("admin login from 203.0.113.9" in m for m in messages)
    assert not any("hunter2" in m or RIGHT in m for m in messages)


def test_an_empty_configured_password_never_matches(storage):
    assert not LoginThrottle(storage).attempt("", "", "203.0.113.9").ok


def test_short_passwords_are_refused():
    assert "use at least 12" in password_problem("s3cret")
    assert password_problem("twelve-chars") is None
