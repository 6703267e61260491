"""Caddy in front of study replicas, configured by `deploy/Caddyfile` (shipped in the wheel,
`sketchlab.bundled`) exactly as docs/deploy.md runs it on a server: used by `sketchlab study
serve --replicas`, `sketchlab bench study --replicas` and the replica tests.

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

from sketchlab.bundled import bundled
from sketchlab.errors import BadInput
from study.protocol import free_port, stop_process, wait_for_health

CADDYFILE = bundled("deploy", "Caddyfile")
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
        raise BadInput(
            f"{CADDYFILE} is missing: the installed package is incomplete (in a checkout, "
            "sketchlab/deploy must be the symlink to deploy/; README 'Layout')"
        )
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
def caddy_in_front(
    upstreams: Sequence[str],
    folder: Path,
    base_path: str = "",
    *,
    port: int | None = None,
    every_interface: bool = False,
) -> Iterator[Proxy]:
    """Caddy with deploy/Caddyfile in front of running replicas.

    On `port` (default: a free one), on loopback only unless `every_interface` (then plain
    HTTP on every interface, for participants on other machines, with a sticky cookie that
    is not `Secure`, which browsers would drop over plain HTTP). `base_path` is "" or e.g.
    "/study" when the replicas run with `--server.baseUrlPath=study`. Caddy's state
    (autosaved config) and log stay in `folder`. Returns once the proxy answers
    `/_stcore/health`; stops Caddy on exit.
    """
    caddy = caddy_path()
    port = port or free_port()
    secret = secrets.token_hex(16)
    env_file = write_env_file(
        folder / "caddy.env",
        {
            "STUDY_SITE": f"http://:{port}" if every_interface else f"http://127.0.0.1:{port}",
            "STUDY_BIND": "" if every_interface else "127.0.0.1",  # as the site address says
            # Browsers keep a Secure cookie over plain HTTP on loopback only; a plain-HTTP
            # site for other machines needs the sticky cookie without it, or replicas mix.
            **({"STICKY_SECURE": ""} if every_interface else {}),
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
