"""The admin password check, throttled for the whole server process.

A `LoginThrottle` is shared by every browser session of one server (the app keeps one in
`st.cache_resource`), so opening many sessions does not multiply the guessing rate:

- attempts run one at a time, and a wrong one holds the others back for `FAILURE_DELAY_S`
  (at most one guess per second per server, however many sessions guess);
- after `MAX_FAILURES` wrong passwords within `LOCKOUT_WINDOW_S`, every attempt, the right
  password included, is refused until the oldest of them is that old (restarting the
  server lifts it);
- every failure and refusal is logged (logger `study.login`, never the password typed).

With several replicas each has its own throttle: at most replicas x MAX_FAILURES guesses per
window. A password shorter than `MIN_PASSWORD_LENGTH` keeps the admin page off.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
LOCKOUT_WINDOW_S = 15 * 60.0
FAILURE_DELAY_S = 1.0

log = logging.getLogger(__name__)


def log_to_stderr() -> None:
    """Write this module's log lines, with time and level, to stderr (the server's log, e.g.
    the journal): a Streamlit server has no handler of its own for them. Once per process."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


@dataclass(frozen=True)
class LoginResult:
    """`ok`: the password was right. `locked_for_s` > 0: refused without comparing, because
    of recent failures; the lockout ends in that many seconds."""

    ok: bool
    locked_for_s: float = 0.0


def password_problem(password: str) -> str | None:
    """Why this admin password is refused (too short to withstand guessing), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"the admin password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
        )
    return None


class LoginThrottle:
    """Failed admin logins of one server process; `attempt` is safe from any thread."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.max_failures = MAX_FAILURES
        self.window_s = LOCKOUT_WINDOW_S
        self.delay_s = FAILURE_DELAY_S
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()

    def attempt(self, typed: str, expected: str, client: str = "unknown") -> LoginResult:
        """Compare `typed` with `expected` in constant time, unless locked out."""
        with self._lock:  # one attempt at a time, in every session of this process
            now = self._clock()
            while self._failures and now - self._failures[0] >= self.window_s:
                self._failures.popleft()
            if len(self._failures) >= self.max_failures:
                locked_for = self.window_s - (now - self._failures[0])
                log.warning(
                    "admin login refused from %s: locked for %.0f s after %d failed attempts",
                    client,
                    locked_for,
                    len(self._failures),
                )
                return LoginResult(False, locked_for)
            if expected and hmac.compare_digest(typed.encode(), expected.encode()):
                log.info("admin login from %s", client)
                return LoginResult(True)
            self._failures.append(now)
            log.warning(
                "admin login failed from %s (%d of %d allowed in %.0f min)",
                client,
                len(self._failures),
                self.max_failures,
                self.window_s / 60,
            )
            self._sleep(self.delay_s)  # still holding the lock: all sessions wait
            return LoginResult(False)
