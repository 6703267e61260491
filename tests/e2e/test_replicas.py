"""Two study replicas on one PostgreSQL behind Caddy, set up as docs/deploy.md does it.

The replicas run the ExecStart line of deploy/sketchlab-study@.service with the settings of
deploy/study.env.example (database and study replaced, `--server.baseUrlPath=study`), and
Caddy runs deploy/Caddyfile (study/proxy.py). Participants are protocol-level clients
(study/protocol.py) that keep the proxy's sticky cookie as a browser does.

Balance, precisely: participants per condition x list cell, counted over the whole study,
differ by at most 1 (both replicas allocate from the one database), and each replica served
some of the participants.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from study.config import StudyConfig, load_study
from study.design import cells, trials_for
from study.protocol import Page, ProtocolClient, stop_process, wait_for_health
from study.proxy import (
    CADDYFILE,
    STICKY_COOKIE,
    Proxy,
    caddy_in_front,
    free_ports,
    sticky_cookie,
)
from study.storage import Storage
from study.synthetic import COMPLETION_CODE, write_synthetic_study
from tests.conftest import REPO, missing_service
from tests.e2e.test_server_kill import first_answer

UNIT = REPO / "deploy" / "sketchlab-study@.service"
STUDY_ENV = REPO / "deploy" / "study.env.example"
BASE_PATH = "/study"
PARTICIPANTS = 40
ANSWERED_BEFORE_KILL = 3


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped), as systemd's EnvironmentFile."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def unit_command(port: int, env: dict[str, str]) -> list[str]:
    """The unit's ExecStart as systemd expands it (`%i` = port, `${VAR}` one word, `$VAR`
    split on spaces), with this Python's `-m sketchlab` for the venv's `sketchlab` script."""
    line = next(line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart="))
    program, *words = shlex.split(line.removeprefix("ExecStart="))
    assert program.endswith("/bin/sketchlab"), program
    command = [sys.executable, "-m", "sketchlab"]
    for word in words:
        if word == "%i":
            command.append(str(port))
        elif word.startswith("${") and word.endswith("}"):
            command.append(env[word[2:-1]])
        elif word.startswith("$"):
            command.extend(env[word[1:]].split())
        else:
            command.append(word)
    return command


def test_the_caddy_settings_example_names_every_setting_the_caddyfile_reads():
    placeholders = set(re.findall(r"\{\$([A-Z_]+)(?::[^}]*)?\}", CADDYFILE.read_text()))
    defaults = set(re.findall(r"\{\$([A-Z_]+):[^}]*\}", CADDYFILE.read_text()))
    example = set(read_env_file(REPO / "deploy" / "caddy.env.example"))
    assert example == placeholders - defaults


@dataclass
class Deployment:
    proxy: Proxy
    replicas: dict[str, subprocess.Popen]  # upstream "127.0.0.1:port" -> its process
    storage: Storage
    config: StudyConfig
    env: dict[str, str]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_url, caddy_path):
    folder = tmp_path_factory.mktemp("replicas")
    config_path = write_synthetic_study(  # the clients answer at once: no minimum time
        folder, images_per_class=1, study_id=f"replicas-{uuid.uuid4().hex[:12]}", min_answer_ms=0
    )
    env = {
        **read_env_file(STUDY_ENV),
        "STUDY_YAML": str(config_path),
        "STUDY_DB": postgres_url,
        "STUDY_SERVE_OPTIONS": f"--server.baseUrlPath={BASE_PATH.strip('/')}",
        "SKETCHLAB_ADMIN_PASSWORD": "replica-admin-pass",
        "BACKUP_DIR": str(folder / "backups"),
    }
    config = load_study(config_path, storage=postgres_url)
    storage = Storage(config.storage, config.study_id)
    replicas = {}
    for port in free_ports(2):
        with open(folder / f"replica-{port}.log", "wb") as log:
            replicas[f"127.0.0.1:{port}"] = subprocess.Popen(
                unit_command(port, env),
                cwd=folder,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    try:
        for upstream, process in replicas.items():
            wait_for_health(f"http://{upstream}{BASE_PATH}", process)
        with caddy_in_front(list(replicas), folder, BASE_PATH) as proxy:
            yield Deployment(proxy, replicas, storage, config, env)
    finally:
        for process in replicas.values():
            stop_process(process)
        storage.close()


def status_of(url: str, cookies: dict[str, str] | None = None) -> tuple[int, dict]:
    """(HTTP status, response headers) of a GET."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_proxy_sets_a_sticky_cookie_security_headers_and_closes_metrics(deployment):
    proxy = deployment.proxy
    upstream = next(iter(deployment.replicas))
    assert status_of(f"http://{upstream}{BASE_PATH}/_stcore/metrics")[0] == 200, (
        "Streamlit itself serves its metrics to anyone"
    )
    root = proxy.base_url.removesuffix(BASE_PATH)
    for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?format=proto"):
        assert status_of(proxy.base_url + path)[0] == 404, path
    assert status_of(root + "/_stcore/metrics")[0] == 404

    status, headers = status_of(proxy.base_url + "/?PROLIFIC_PID=visitor")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "max-age=" in headers["Strict-Transport-Security"]
    assert "Server" not in headers, "neither Caddy nor Tornado announce themselves"
    name, _, value = headers["Set-Cookie"].split(";")[0].partition("=")
    assert name == STICKY_COOKIE
    assert proxy.replica_of({name: value}) in deployment.replicas
    again = status_of(proxy.base_url + "/", {name: value})[1]
    assert "Set-Cookie" not in again, "a browser with a valid cookie keeps its replica"
    assert value == sticky_cookie(proxy.secret, proxy.replica_of({name: value}))
    attributes = [part.strip() for part in headers["Set-Cookie"].split(";")[1:]]
    assert {"HttpOnly", "Secure", "SameSite=Lax"} <= set(attributes), headers["Set-Cookie"]


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on TCP `port` (from /proc/net)."""
    import ipaddress

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_a_site_on_loopback_listens_on_loopback_only(deployment):
    port = int(deployment.proxy.base_url.split(":")[2].split("/")[0])
    assert listening_addresses(port) == {"127.0.0.1"}, "not on every interface"


@dataclass
class Participant:
    """One browser: its cookie jar, what the page acknowledged, where it was served."""

    pid: str
    cookies: dict[str, str] = field(default_factory=dict)
    acknowledged: list[int] = field(default_factory=list)
    client: ProtocolClient | None = None
    in_flight: int | None = None
    replica_before: str | None = None
    replica_after: str | None = None
    disconnected: bool = False
    first_unanswered: int | None = None  # from the database, when reconnecting
    resumed_at: int | None = None
    completed: bool = False

    @property
    def query(self) -> str:
        return f"PROLIFIC_PID={self.pid}&STUDY_ID=st1&SESSION_ID=se-{self.pid}"

    async def answer(self, client: ProtocolClient, page: Page) -> Page:
        """Answer the trial on screen; dismiss practice feedback; return the next page."""
        index, widget = first_answer(page)
        await client.send(widget)
        page = await client.read_page()
        self.acknowledged.append(index)
        feedback = [key for key in page.buttons if key.startswith("feedback-")]
        if feedback:
            await client.send(page.buttons[feedback[0]])
            page = await client.read_page()
        return page

    async def finish(self, client: ProtocolClient, page: Page) -> None:
        while any(key.startswith("answer-") for key in page.buttons):
            page = await self.answer(client, page)
        self.completed = any(COMPLETION_CODE in text for text in page.texts)

    async def start(self, proxy: Proxy) -> None:
        """Consent, instructions, a few trials; then one more answer left in flight."""
        self.client = ProtocolClient(proxy.base_url, self.query, self.cookies)
        await self.client.__aenter__()
        await self.client.send()
        page = await self.client.read_page()
        for key in ("consent-yes", "instructions-done"):
            await self.client.send(page.buttons[key])
            page = await self.client.read_page()
        while len(self.acknowledged) < ANSWERED_BEFORE_KILL:
            page = await self.answer(self.client, page)
        self.replica_before = proxy.replica_of(self.cookies)
        self.in_flight, widget = first_answer(page)
        await self.client.send(widget)

    async def carry_on(self, proxy: Proxy, deployment: Deployment) -> None:
        """Read the in-flight answer's page and finish; if the replica is gone, reconnect
        through the proxy with the same cookies (as Streamlit's page does) and finish there."""
        try:
            page = await asyncio.wait_for(self.client.read_page(), timeout=120)
            self.acknowledged.append(self.in_flight)
            await self.finish(self.client, page)
        except ConnectionClosed:
            self.disconnected = True
        finally:
            await self.client.socket.close()
        if self.disconnected:
            stored = deployment.storage.responses_of(self.pid)
            self.first_unanswered = min(set(range(len(self.trials(deployment)))) - set(stored))
            async with ProtocolClient(proxy.base_url, self.query, self.cookies) as client:
                await client.send()
                page = await client.read_page()
                self.resumed_at = first_answer(page)[0]
                await self.finish(client, page)
        self.replica_after = proxy.replica_of(self.cookies)

    def trials(self, deployment: Deployment):
        participant = deployment.storage.get_participant(self.pid)
        return trials_for(deployment.config, self.pid, participant.condition, participant.list_id)


async def run_study(deployment: Deployment, participants: list[Participant], victim: str) -> None:
    proxy = deployment.proxy
    await asyncio.gather(*(p.start(proxy) for p in participants))
    served = {p.replica_before for p in participants}
    assert served == set(deployment.replicas), f"both replicas served participants: {served}"
    process = deployment.replicas[victim]
    os.kill(process.pid, signal.SIGKILL)  # `study serve` execs Streamlit: this is the server
    await asyncio.to_thread(process.wait, 30)
    assert process.returncode == -signal.SIGKILL
    await asyncio.gather(*(p.carry_on(proxy, deployment) for p in participants))


def test_forty_participants_balance_over_two_replicas_and_survive_a_sigkill(deployment):
    participants = [Participant(f"rep{n:03d}") for n in range(PARTICIPANTS)]
    victim, survivor = list(deployment.replicas)
    asyncio.run(asyncio.wait_for(run_study(deployment, participants, victim), timeout=600))

    storage, config = deployment.storage, deployment.config
    frame = storage.participants_frame()
    per_cell = frame.groupby(["condition", "list_id"]).size().to_dict()
    counts = [per_cell.get(cell, 0) for cell in cells(config)]
    assert sum(counts) == PARTICIPANTS and max(counts) - min(counts) <= 1, per_cell

    moved = [p for p in participants if p.replica_before == victim]
    stayed = [p for p in participants if p.replica_before == survivor]
    assert moved and stayed and len(moved) + len(stayed) == PARTICIPANTS
    for p in moved:
        assert p.disconnected and p.replica_after == survivor, p.pid
        assert p.resumed_at == p.first_unanswered, f"{p.pid} resumes at its first unanswered trial"
        assert p.first_unanswered in (ANSWERED_BEFORE_KILL, ANSWERED_BEFORE_KILL + 1)
    for p in stayed:
        assert not p.disconnected and p.replica_after == survivor, p.pid

    expected_rows = 0
    for p in participants:
        trials = p.trials(deployment)
        stored = storage.responses_of(p.pid)
        assert p.completed, p.pid
        assert set(p.acknowledged) <= set(stored), f"{p.pid}: an acknowledged answer was lost"
        assert sorted(stored) == [t.trial_index for t in trials], f"{p.pid}: one row per trial"
        assert all(stored[t.trial_index]["stimulus_id"] == t.stimulus_id for t in trials)
        assert storage.get_participant(p.pid).status == "completed"
        expected_rows += len(trials)
    assert storage.count_responses() == expected_rows, "no duplicated rows"


def venv_environment(settings: dict[str, str]) -> dict[str, str]:
    """This environment plus `settings`, with the venv's `sketchlab` script on the PATH."""
    bin_folder = str(Path(sys.executable).parent)
    return {**os.environ, **settings, "PATH": bin_folder + os.pathsep + os.environ["PATH"]}


def test_the_backup_job_copies_a_study_on_sqlite(tmp_path):
    """deploy/backup-study.sh with a sqlite:/// URL (the doc's run covers PostgreSQL)."""
    import sqlite3

    study_yaml = write_synthetic_study(tmp_path / "study")
    settings = {
        "STUDY_YAML": str(study_yaml),
        "STUDY_DB": f"sqlite:///{tmp_path / 'live.db'}",
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    env = venv_environment(settings)
    simulate = ["sketchlab", "study", "simulate", str(study_yaml), "-n", "5", "--storage"]
    subprocess.run([*simulate, settings["STUDY_DB"]], env=env, check=True, capture_output=True)
    subprocess.run([str(REPO / "deploy" / "backup-study.sh")], env=env, check=True)

    copies = list((tmp_path / "backups").iterdir())
    assert len(copies) == 1 and re.fullmatch(r"study-\d{8}T\d{6}Z\.db", copies[0].name)
    with sqlite3.connect(copies[0]) as copy, sqlite3.connect(tmp_path / "live.db") as live:
        count = "SELECT count(*) FROM study_responses"
        assert copy.execute(count).fetchone() == live.execute(count).fetchone() != (0,)


DEPLOY_DOC = REPO / "docs" / "deploy.md"
HOST_SPECIFIC = "# host-specific"


def shell_blocks(markdown: str) -> list[str]:
    """The ```sh blocks of a Markdown text."""
    blocks, current = [], None
    for line in markdown.splitlines():
        if current is None and line.strip() == "```sh":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_every_command_of_the_deploy_doc_runs_or_is_marked_host_specific(deployment):
    """docs/deploy.md's blocks without `# host-specific` run as written, with the settings
    of its step 4 in the environment, from the checkout, against the running deployment."""
    from datetime import timedelta

    from study.flow import ParticipantFlow

    for tool in ("curl", "pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            missing_service(f"{tool} is not installed (apt-get install -y curl postgresql)")
    config = deployment.config
    flow = ParticipantFlow.open(config, deployment.storage, "doc001")
    flow.consent(True)
    flow.finish_instructions()
    while flow.current_trial is not None:
        trial = flow.current_trial
        shown = flow.shown_at(trial.trial_index)
        flow.answer(trial.trial_index, trial.options[0], shown + timedelta(seconds=2))

    blocks = shell_blocks(DEPLOY_DOC.read_text(encoding="utf-8"))
    tested = [block for block in blocks if not block.startswith(HOST_SPECIFIC)]
    assert len(tested) >= 5 and len(blocks) > len(tested)
    env = {**venv_environment(deployment.env), "STUDY_URL": deployment.proxy.base_url}
    outputs = []
    for block in tested:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
        outputs.append(result.stdout)

    printed = "\n".join(outputs)
    assert "ok" in printed.split() and "404" in printed.split()
    assert config.study_id in printed and "completed" in printed, "study status ran"
    backups = Path(deployment.env["BACKUP_DIR"])
    dumps = sorted(backups.glob("study-*.dump"))
    assert len(dumps) == 1
    written = {dumps[0].name, "responses.csv", "responses.participants.csv"}
    assert {f.name for f in backups.iterdir()} == written, "no half-written files left"
    rows = subprocess.run(
        ["pg_restore", "--data-only", "--table=study_participants", "--file=-", str(dumps[0])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "doc001" in rows, "the dump holds the study's participants"
    exported = (backups / "responses.csv").read_text(encoding="utf-8")
    assert exported.count("doc001") == len(flow.trials)
