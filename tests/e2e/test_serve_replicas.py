"""`sketchlab study serve --replicas N`: N servers behind Caddy with the packaged Caddyfile,
a replica that dies is started again, and SIGTERM leaves nothing running."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import psutil
import pytest

from study.protocol import wait_for_health
from study.proxy import free_ports
from study.synthetic import write_synthetic_study


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def replica_processes(parent: psutil.Process) -> dict[int, psutil.Process]:
    """The children of `parent` that run Streamlit (`study serve` execs into it), by port."""
    found = {}
    for child in parent.children():
        for word in child.cmdline():
            if word.startswith("--server.port="):
                found[int(word.split("=", 1)[1])] = child
    return found


def test_two_replicas_behind_caddy_restart_a_dead_one_and_stop_on_sigterm(
    tmp_path, postgres_url, caddy_path
):
    study_yaml = write_synthetic_study(
        tmp_path, images_per_class=1, study_id=f"serve-{uuid.uuid4().hex[:10]}"
    )
    (port,) = free_ports(1)
    command = [sys.executable, "-m", "sketchlab", "study", "serve", str(study_yaml)]
    command += ["--replicas", "2", "--port", str(port), "--storage", postgres_url]
    command += ["--server.baseUrlPath=study"]
    serve = subprocess.Popen(
        command,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its log folder goes there
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    parent = psutil.Process(serve.pid)
    try:
        wait_for_health(f"http://127.0.0.1:{port}/study", serve, timeout_s=120)
        banner = serve.stdout.readline()
        assert f":{port}/study/" in banner and "2 replica(s)" in banner, banner
        replicas = replica_processes(parent)
        assert len(replicas) == 2
        assert all(health(f"http://127.0.0.1:{p}/study") for p in replicas)

        dead_port, dead = next(iter(replicas.items()))
        dead.kill()
        dead.wait(10)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not health(f"http://127.0.0.1:{dead_port}/study"):
            assert health(f"http://127.0.0.1:{port}/study"), "the proxy lost the other replica"
            time.sleep(0.5)
        assert health(f"http://127.0.0.1:{dead_port}/study"), "the dead replica was not restarted"
        assert "starting it again" in serve.stdout.readline()
        children = parent.children(recursive=True)
    finally:
        serve.send_signal(signal.SIGTERM)
        output = serve.communicate(timeout=60)[0]
    assert serve.returncode == 0, output
    assert "stopping the replicas and Caddy" in output
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    assert not health(f"http://127.0.0.1:{port}/study")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--replicas", "2"], "needs a PostgreSQL database"),
        (["--replicas", "0", "--storage", "postgresql+psycopg://u:p@127.0.0.1:1/x"], "at least 1"),
        (["--replicas", "2", "--address", "0.0.0.0"], "--address is for one server"),
    ],
)
def test_replicas_refuse_bad_settings_in_one_sentence(tmp_path, run_sketchlab, extra, message):
    study_yaml = write_synthetic_study(tmp_path, images_per_class=1)
    sqlite = ["--storage", f"sqlite:///{tmp_path / 'study.db'}"]
    storage = [] if "--storage" in extra else sqlite
    code, out, err = run_sketchlab("study", "serve", study_yaml, *storage, *extra)
    assert code == 2, err
    assert message in err and err.count("\n") == 1
