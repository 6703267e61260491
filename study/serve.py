"""Start the study app: a thin wrapper over `streamlit run study/app.py`.

The app reads which study to run from two environment variables (not from script
arguments), so the same app file works under `streamlit run`, under `sketchlab study
serve`, and in Streamlit's AppTest. The config and the database are checked here first,
so a malformed study.yaml or an unreachable database stops the command with one clear
sentence instead of a broken page.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sketchlab.bundled import package_file

CONFIG_ENV = "SKETCHLAB_STUDY_CONFIG"
STORAGE_ENV = "SKETCHLAB_STUDY_STORAGE"
TRUSTED_PROXIES_ENV = "SKETCHLAB_TRUSTED_PROXIES"
"""Comma-separated addresses or networks (e.g. 127.0.0.1,::1 for Caddy on this machine)
whose X-Forwarded-For the server believes; unset or empty: nobody's. Passed to the server's
HTTP layer (uvicorn) as FORWARDED_ALLOW_IPS, which otherwise trusts loopback."""
APP_SCRIPT = package_file("study", "app.py")

# Streamlit options for a participant-facing server. Later options win, so a researcher's
# extra `--server.foo` flags (passed after these) override them.
SERVER_OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "none",
    "client.showSidebarNavigation": "false",
    "runner.magicEnabled": "false",
    # Streamlit's default gc.collect(2) after every script run takes ~100-300 ms with pandas
    # and SQLAlchemy loaded and holds the GIL, delaying every other participant's page.
    "runner.postScriptGC": "false",
    "theme.base": "light",
    "theme.primaryColor": "#2f5d8a",
}


def streamlit_command(
    *,
    port: int | None = None,
    address: str | None = None,
    extra_options: Sequence[str] = (),
) -> list[str]:
    """The `python -m streamlit run study/app.py ...` argument list (no study yet: see env)."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT)]
    for name, value in SERVER_OPTIONS.items():
        command.append(f"--{name}={value}")
    if port is not None:
        command.append(f"--server.port={port}")
    if address is not None:
        command.append(f"--server.address={address}")
    command.extend(extra_options)
    return command


def study_environment(config_path: str | os.PathLike, storage: str | None) -> dict[str, str]:
    """Environment for the app process: the current one plus the study config and storage URL."""
    env = dict(os.environ)
    env[CONFIG_ENV] = str(Path(config_path).resolve())
    env["FORWARDED_ALLOW_IPS"] = ",".join(trusted_proxies())
    if storage:
        env[STORAGE_ENV] = storage
    else:
        env.pop(STORAGE_ENV, None)
    return env


def trusted_proxies() -> list[str]:
    """The addresses and networks of SKETCHLAB_TRUSTED_PROXIES (BadInput if one is not an IP
    address or network)."""
    import ipaddress

    from sketchlab.errors import BadInput

    entries = [entry.strip() for entry in os.environ.get(TRUSTED_PROXIES_ENV, "").split(",")]
    for entry in filter(None, entries):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise BadInput(
                f"{TRUSTED_PROXIES_ENV}: {entry!r} is not an IP address or network "
                "(e.g. 127.0.0.1,::1)"
            ) from None
    return [entry for entry in entries if entry]


def check_before_serving(config_path: str | os.PathLike, storage: str | None) -> None:
    """Load the config and open the database once, so bad input fails here (BadInput)."""
    from study.config import load_study
    from study.storage import Storage

    trusted_proxies()
    config = load_study(config_path, storage=storage)
    Storage(config.storage, config.study_id).close()


def serve(
    config_path: str | os.PathLike,
    *,
    storage: str | None = None,
    port: int | None = None,
    address: str | None = None,
    extra_options: Sequence[str] = (),
) -> None:
    """Check the study, then replace this process with the Streamlit server.

    `exec` (not a child process) keeps one process id for the server, so stopping or
    killing `sketchlab study serve` stops the server itself and leaves no orphan.
    """
    check_before_serving(config_path, storage)
    command = streamlit_command(port=port, address=address, extra_options=extra_options)
    env = study_environment(config_path, storage)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
