"""The admin login throttle on live servers (SQLite and PostgreSQL): two `sketchlab study
serve` processes on one database share it, and it survives a restart; a forwarded address is
believed only from a proxy named in SKETCHLAB_TRUSTED_PROXIES, and failures are logged with
the client's real address. (Delays: study/login.py; 2 s after the first wrong password, then
4 s, ...)"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from study.login import FIRST_DELAY_S
from study.protocol import ProtocolClient, free_port, start_server, stop_process, wait_for_health
from study.synthetic import write_synthetic_study

PASSWORD = "correct-horse-battery"


class Server:
    """One `sketchlab study serve` of the study, startable again on the same port."""

    def __init__(self, folder, config_path, url: str, name: str, env: dict[str, str]):
        self.folder, self.config_path, self.url, self.name = folder, config_path, url, name
        self.env = {"SKETCHLAB_ADMIN_PASSWORD": PASSWORD, **env}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.folder / f"{self.name}-{self.starts}.log"
        self.process = start_server(self.config_path, self.url, self.port, log, env=self.env)
        wait_for_health(self.base_url, self.process)

    def stop(self) -> None:
        stop_process(self.process)

    def log(self) -> str:
        return "".join(
            (self.folder / f"{self.name}-{n}.log").read_text() for n in range(1, self.starts + 1)
        )


def log_in(server: Server, password: str | None, forwarded_for: str | None = None) -> str:
    """One browser session on the admin page typing `password` (None: only opening the
    page, which loads what it needs, so that later attempts are quick): the text after."""

    async def session() -> str:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        async with ProtocolClient(server.base_url, "page=admin", headers=headers) as tab:
            page = await tab.ask()
            if password is not None:
                page = await tab.ask(text={page.inputs["admin_password_typed"]: password})
            return "\n".join(page.texts)

    return asyncio.run(asyncio.wait_for(session(), timeout=120))


@pytest.fixture(params=["sqlite", "postgres"])
def two_servers(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'study.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    config_path = write_synthetic_study(tmp_path, study_id=f"admin-{uuid.uuid4().hex[:10]}")
    servers = [Server(tmp_path, config_path, url, name, {}) for name in ("a", "b")]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_the_delay_is_shared_by_two_servers_and_survives_a_restart(two_servers):
    a, b = two_servers
    log_in(a, None), log_in(b, None)  # warmed up: the attempts below take well under 2 s
    assert "Wrong password. You can try again in 2 seconds" in log_in(a, "guess-1")
    refused = log_in(b, PASSWORD)
    assert "try again in" in refused and "Participants per cell" not in refused, (
        "the other server knows of the failure: even the right password waits"
    )
    a.stop()
    time.sleep(FIRST_DELAY_S)
    a.start()
    log_in(a, None)
    assert "try again in 4 seconds" in log_in(a, "guess-2"), "the restart forgot nothing"
    spoofed = log_in(b, PASSWORD, forwarded_for="198.51.100.23")
    assert "try again in" in spoofed, "a made-up X-Forwarded-For does not make a new client"
    time.sleep(2 * FIRST_DELAY_S)
    assert "Participants per cell" in log_in(b, PASSWORD), "after the delay the admin gets in"
    logs = a.log() + b.log()
    assert "admin login failed from loopback" in logs
    assert "198.51.100.23" not in logs, "an untrusted forwarded address is never logged"
    assert "guess-" not in logs and PASSWORD not in logs


def test_a_trusted_proxy_names_the_client(tmp_path):
    config_path = write_synthetic_study(tmp_path)
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    proxied = Server(tmp_path, config_path, url, "p", {"SKETCHLAB_TRUSTED_PROXIES": "127.0.0.1"})
    proxied.start()
    try:
        assert "Wrong password" in log_in(proxied, "guess-1", forwarded_for="203.0.113.7")
        assert "try again in" in log_in(proxied, PASSWORD, forwarded_for="203.0.113.7")
        assert "Participants per cell" in log_in(proxied, PASSWORD, forwarded_for="192.0.2.44"), (
            "another client is not held up"
        )
    finally:
        proxied.stop()
    assert "admin login failed from 203.0.113.7" in proxied.log()
    assert "admin login from 192.0.2.44" in proxied.log()
