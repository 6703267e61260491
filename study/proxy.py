"""Caddy in front of study replicas, on loopback, configured by `deploy/Caddyfile` exactly as
docs/deploy.md runs it on a server: used by `sketchlab bench study --replicas` and the
replica tests.

Caddy pins each browser to one replica with a cookie (`lb_policy cookie`) whose value is
HMAC-SHA256(secret, replica address) in hex (Caddy 2.6), so whoever knows the secret can
tell from a participant's cookie which replica served them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sketchlab.errors import BadInput
from study.protocol import free_port, stop_process, wait_for_health

CADDYFILE = Path(__file__).resolve().parents[1] / "deploy" / "Caddyfile"
STICKY_COOKIE = "sketchlab_replica"
"""The cookie name deploy/Caddyfile gives `lb_policy cookie`."""


def sticky_cookie(secret: str, upstream: str) -> str:
    """The value of Caddy's sticky cookie for `upstream` ("host:port")."""
    return hmac.new(secret.encode(), upstream.encode(), hashlib.sha256).hexdigest()


def free_ports(count: int) -> list[int]:
    """`count` different loopback ports that nothing listens on right now."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def caddy_path() -> str:
    """The `caddy` executable, or BadInput saying how to install it."""
    path = shutil.which("caddy")
    if path is None:
        raise BadInput("caddy is not installed (Debian/Ubuntu: apt-get install caddy)")
    if not CADDYFILE.is_file():
        raise BadInput(f"{CADDYFILE} is missing: replicas behind Caddy run from a source checkout")
    return path


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    """KEY=VALUE lines, as both `caddy run --envfile` and systemd's EnvironmentFile read them."""
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Proxy:
    """A running Caddy: where participants go, and which replica a browser is pinned to."""

    base_url: str
    upstreams: tuple[str, ...]
    secret: str
    process: subprocess.Popen

    def replica_of(self, cookies: dict[str, str]) -> str | None:
        """The upstream ("host:port") these browser cookies are pinned to, if any."""
        value = cookies.get(STICKY_COOKIE)
        return next((u for u in self.upstreams if sticky_cookie(self.secret, u) == value), None)


@contextmanager
def caddy_in_front(upstreams: Sequence[str], folder: Path, base_path: str = "") -> Iterator[Proxy]:
    """Caddy with deploy/Caddyfile on a free loopback port in front of running replicas.

    `base_path` is "" or e.g. "/study" when the replicas run with
    `--server.baseUrlPath=study`. Caddy's state (autosaved config) and log stay in `folder`.
    Returns once the proxy answers `/_stcore/health`; stops Caddy on exit.
    """
    caddy = caddy_path()
    port = free_port()
    secret = secrets.token_hex(16)
    env_file = write_env_file(
        folder / "caddy.env",
        {
            "STUDY_SITE": f"http://127.0.0.1:{port}",
            "STUDY_BIND": "127.0.0.1",  # on loopback only, as the site address says
            "STUDY_UPSTREAMS": " ".join(upstreams),
            "STICKY_SECRET": secret,
            "STUDY_BASE_PATH": base_path,
            "CADDY_ADMIN": "off",  # no fixed admin port: tests and benches run side by side
        },
    )
    state = folder / "caddy-state"
    env = {**os.environ, "XDG_CONFIG_HOME": str(state), "XDG_DATA_HOME": str(state)}
    command = [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with open(folder / "caddy.log", "wb") as log:
        process = subprocess.Popen(
            [*command, "--envfile", str(env_file)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base_url = f"http://127.0.0.1:{port}{base_path}"
        wait_for_health(base_url, process)
        yield Proxy(base_url, tuple(upstreams), secret, process)
    finally:
        stop_process(process)
