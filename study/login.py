"""The admin password check, throttled per client in the study's database.

Every replica, and a restarted server, sees the same record (`Storage.claim_login_attempt`):

- each client gets a growing delay after each wrong password (FIRST_DELAY_S, then twice as
  long each time, at most MAX_DELAY_S); an attempt during its delay is refused without
  comparing, the right password included. Only the client that guessed waits: nobody can
  lock the admin out. Parallel guesses from one client are refused but the first.
- a client's failures are forgotten after a right password from it, or after FORGET_AFTER_S
  without a failure;
- every failure and refusal is logged (logger `study.login`, with the client's address,
  never the password typed).

The client is its address as the server's HTTP layer determined it (`client_address`): the
connection's peer, or the address a trusted proxy forwarded. Only proxies named in
SKETCHLAB_TRUSTED_PROXIES are trusted (study/serve.py), so without a proxy an
`X-Forwarded-For` header can neither hide a guesser nor be logged as one.
A password shorter than MIN_PASSWORD_LENGTH keeps the admin page off.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from study.storage import Storage, utc_now

MIN_PASSWORD_LENGTH = 12
FIRST_DELAY_S = 2.0
MAX_DELAY_S = 3600.0
FORGET_AFTER_S = 24 * 3600.0

log = logging.getLogger(__name__)


def log_to_stderr() -> None:
    """Write this module's log lines, with time and level, to stderr (the server's log, e.g.
    the journal): a Streamlit server has no handler of its own for them. Once per process."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def delay_after(failures: int) -> float:
    """Seconds a client waits after its `failures`-th wrong password in a row."""
    return min(FIRST_DELAY_S * 2 ** (failures - 1), MAX_DELAY_S)


@dataclass(frozen=True)
class LoginResult:
    """`ok`: the password was right. `wait_s` > 0: refused without comparing, because this
    client's delay after its last failure has `wait_s` seconds to go. `next_delay_s`: after
    this wrong password, how long the client must wait to try again."""

    ok: bool
    wait_s: float = 0.0
    next_delay_s: float = 0.0


def password_problem(password: str) -> str | None:
    """Why this admin password is refused (too short to withstand guessing), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"the admin password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
        )
    return None


class LoginThrottle:
    """Admin logins of one study, checked against its database's record of failures."""

    def __init__(self, storage: Storage, *, clock: Callable[[], datetime] = utc_now):
        self.storage = storage
        self._clock = clock

    def attempt(self, typed: str, expected: str, client: str) -> LoginResult:
        """Compare `typed` with `expected` in constant time, unless `client` must wait."""
        client = client[:64]  # an address fits; anything longer is not one
        now = self._clock()
        claim = self.storage.claim_login_attempt(
            client, now, delay_after, now - timedelta(seconds=FORGET_AFTER_S)
        )
        if claim.wait_s > 0:
            log.warning(
                "admin login refused from %s: %.0f s left of its delay after failed attempts",
                client,
                claim.wait_s,
            )
            return LoginResult(False, wait_s=claim.wait_s)
        if expected and hmac.compare_digest(typed.encode(), expected.encode()):
            self.storage.clear_login_failures(client)
            log.info("admin login from %s", client)
            return LoginResult(True)
        log.warning(
            "admin login failed from %s (%d in a row; next attempt allowed in %.0f s)",
            client,
            claim.failures,
            claim.delay_s,
        )
        return LoginResult(False, next_delay_s=claim.delay_s)
