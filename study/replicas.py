"""`sketchlab study serve --replicas N`: N study servers on one machine behind Caddy.

The replicas listen on free loopback ports; Caddy (the packaged deploy/Caddyfile, sticky
sessions, health checks) listens on `port` on every interface. A replica that exits is
started again (as systemd's `Restart=always` does on a server: docs/deploy.md); its
participants resume on another replica meanwhile. Ctrl-C or SIGTERM stops Caddy and every
replica. Replicas share one database, so the storage must be PostgreSQL.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sketchlab.errors import BadInput
from study.protocol import start_server, stop_process, wait_for_health
from study.proxy import caddy_in_front, caddy_path, free_ports

POLL_S = 1.0
"""How often the replicas are checked (seconds)."""


def base_path(extra_options: Sequence[str]) -> str:
    """ "/study" from `--server.baseUrlPath=study` (or `--server.baseUrlPath study`) among the
    options for `streamlit run`, else ""."""
    flag = "--server.baseUrlPath"
    for index, option in enumerate(extra_options):
        if option.startswith(flag + "="):
            value = option.split("=", 1)[1]
        elif option == flag and index + 1 < len(extra_options):
            value = extra_options[index + 1]
        else:
            continue
        return "/" + value.strip("/") if value.strip("/") else ""
    return ""


def check_replicas(replicas: int, storage_url: str, port: int) -> None:
    """BadInput before anything starts: too few replicas, SQLite, no Caddy, a busy port."""
    if replicas < 1:
        raise BadInput(f"--replicas {replicas} must be at least 1")
    if replicas > 1 and not storage_url.startswith("postgresql"):
        raise BadInput(
            f"--replicas {replicas} needs a PostgreSQL database that the replicas share (field "
            "'storage' or --storage postgresql+psycopg://user:pass@host/db; docs/deploy.md)"
        )
    caddy_path()
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            raise BadInput(f"--port {port} is in use; choose another one") from None


def serve_replicas(
    config_path: Path,
    storage: str | None,
    *,
    replicas: int,
    port: int,
    extra_options: Sequence[str] = (),
) -> None:
    """Run until Ctrl-C or SIGTERM (module docstring); `storage` overrides the YAML's. The
    replicas' logs and Caddy's go to a folder that is printed and kept."""
    from study.config import load_study
    from study.serve import check_before_serving

    storage_url = load_study(config_path, storage, verify_images=False).storage
    check_replicas(replicas, storage_url, port)
    check_before_serving(config_path, storage_url)
    folder = Path(tempfile.mkdtemp(prefix="sketchlab-replicas-"))
    prefix = base_path(extra_options)
    ports = free_ports(replicas)

    def start(replica_port: int) -> subprocess.Popen:
        log = folder / f"replica-{replica_port}.log"
        return start_server(config_path, storage_url, replica_port, log, extra_options)

    previous = signal.signal(signal.SIGTERM, _interrupt)
    servers = {replica_port: start(replica_port) for replica_port in ports}
    try:
        for replica_port, server in servers.items():
            wait_for_health(f"http://127.0.0.1:{replica_port}{prefix}", server)
        upstreams = [f"127.0.0.1:{replica_port}" for replica_port in ports]
        with caddy_in_front(upstreams, folder, prefix, port=port, every_interface=True) as proxy:
            print(
                f"study at http://<this machine>:{port}{prefix}/ : {replicas} replica(s) "
                f"({', '.join(upstreams)}) behind Caddy; logs in {folder}. Ctrl-C stops.",
                flush=True,
            )
            while proxy.process.poll() is None:
                time.sleep(POLL_S)
                for replica_port, server in servers.items():
                    if server.poll() is not None:
                        print(
                            f"replica 127.0.0.1:{replica_port} exited with code "
                            f"{server.returncode}; starting it again",
                            flush=True,
                        )
                        servers[replica_port] = start(replica_port)
            raise RuntimeError(f"Caddy exited with code {proxy.process.returncode}; see {folder}")
    except KeyboardInterrupt:
        print("stopping the replicas and Caddy", flush=True)
    finally:
        for server in servers.values():
            stop_process(server)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
