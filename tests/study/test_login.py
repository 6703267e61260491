"""The admin login throttle (study/login.py): one guess at a time per server process, a
lockout after repeated failures, every failure logged without the password."""

import logging
import threading

from study.login import MAX_FAILURES, LoginThrottle, password_problem

RIGHT = "correct-horse-battery"


class FakeTime:
    """A clock that only moves when the throttle sleeps (or the test says so), and that
    records how many sleeps ever overlapped."""

    def __init__(self):
        self.now = 1000.0
        self.sleeping = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeping += 1
            self.most_at_once = max(self.most_at_once, self.sleeping)
        threading.Event().wait(0.01)  # let other threads try to get in meanwhile
        with self.lock:
            self.now += seconds
            self.sleeping -= 1


def test_wrong_guesses_from_many_sessions_wait_their_turn():
    fake = FakeTime()
    throttle = LoginThrottle(clock=lambda: fake.now, sleep=fake.sleep)
    barrier = threading.Barrier(6)

    def guess(i):
        barrier.wait()
        throttle.attempt(f"guess-{i}", RIGHT, f"client{i}")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.most_at_once == 1, "one guess at a time across sessions"
    assert fake.now - 1000.0 == MAX_FAILURES * throttle.delay_s, "the sixth was locked out"


def test_lockout_refuses_even_the_right_password_until_the_window_passes():
    fake = FakeTime()
    throttle = LoginThrottle(clock=lambda: fake.now, sleep=fake.sleep)
    for i in range(MAX_FAILURES):
        assert not throttle.attempt(f"guess-{i}", RIGHT).ok
    locked = throttle.attempt(RIGHT, RIGHT)
    assert not locked.ok and locked.locked_for_s > 0
    fake.now += locked.locked_for_s + 1
    assert throttle.attempt(RIGHT, RIGHT).ok


def test_failures_are_logged_without_the_password(caplog):
    throttle = LoginThrottle(sleep=lambda _: None)
    with caplog.at_level(logging.INFO, logger="study.login"):
        throttle.attempt("hunter2-typed", RIGHT, "203.0.113.9")
        throttle.attempt(RIGHT, RIGHT, "203.0.113.9")
    messages = [record.getMessage() for record in caplog.records]
    assert any("admin login failed from 203.0.113.9" in m for m in messages)
    assert any("admin login from 203.0.113.9" in m for m in messages)
    assert not any("hunter2" in m or RIGHT in m for m in messages)


def test_an_empty_configured_password_never_matches():
    assert not LoginThrottle(sleep=lambda _: None).attempt("", "").ok


def test_short_passwords_are_refused():
    assert "use at least 12" in password_problem("s3cret")
    assert password_problem("twelve-chars") is None
