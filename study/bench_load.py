"""Load test of a running study server: many participants answering at once.

Each simulated participant is a protocol-level client: it opens Streamlit's websocket
(`/_stcore/stream`) like a browser tab does, sends the same `rerun_script` messages a
browser sends when a button is clicked, reads the page back from the `ForwardMsg`
stream and fetches the trial image over HTTP, as a browser would. No browser runs, so 50+
participants fit on a small machine; the server side (Streamlit, the app, ParticipantFlow,
the database) is exactly what real participants hit.

Buttons are found by their widget keys (`consent-yes`, `instructions-done`,
`answer-<trial>-<option>`, `feedback-<trial>`), which the app keeps free of class names.
Latency is measured from sending an answer to the end of the rerun that shows the next
trial plus loading its image ("answer to next trial"). Some answers are sent twice in a
row (a double click); afterwards the database is checked for lost and duplicated trials.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SYNTHETIC_CLASSES = ("boat", "chair", "cup", "house", "tree")
FOIL_CLASS = "lamp"
COMPLETION_CODE = "C1234ABC"


def write_synthetic_study(
    folder: str | os.PathLike,
    *,
    images_per_class: int = 2,
    levels: tuple[int, ...] = (4, 8, 16, 32),
    conditions: tuple[str, ...] = ("with_none", "without_none"),
    time_limit_s: float | None = None,
    redirect_url: str | None = None,
    max_attention_failures: int = 1,
    study_id: str = "synthetic",
) -> Path:
    """Write a small self-contained study (drawn line images, stimuli.csv, study.yaml).

    Used by the load bench and the app tests, so neither depends on generated sketches.
    One practice image, one attention (catch) image and (with_none) one foil image come on top of
    `images_per_class` test images per class; every image has one PNG per level, with
    `n_strokes` random lines (224 x 224 pixels). A fresh `study_id` keeps runs apart in a
    shared database (PostgreSQL). Returns the path of study.yaml.
    """
    from PIL import Image, ImageDraw

    folder = Path(folder)
    (folder / "png").mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    images = [
        (f"img{c}{k}", name)
        for c, name in enumerate(SYNTHETIC_CLASSES)
        for k in range(images_per_class)
    ]
    images += [("practice0", SYNTHETIC_CLASSES[0]), ("catch0", SYNTHETIC_CLASSES[1])]
    if "with_none" in conditions:
        images.append(("foil0", FOIL_CLASS))
    rows = []
    for image_id, class_name in images:
        for level in levels:
            # Stimulus ids are opaque on purpose: nothing in them hints at the class.
            stimulus_id = f"s{len(rows):04d}"
            picture = Image.new("RGB", (224, 224), "white")
            draw = ImageDraw.Draw(picture)
            for _ in range(level):
                points = [(rng.uniform(16, 208), rng.uniform(16, 208)) for _ in range(2)]
                draw.line(points, fill="black", width=3)
            png = f"png/{stimulus_id}.png"
            picture.save(folder / png)
            rows.append(
                {
                    "stimulus_id": stimulus_id,
                    "image_id": image_id,
                    "class": class_name,
                    "n_strokes": level,
                    "png_path": png,
                }
            )
    with open(folder / "stimuli.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first = {r["image_id"]: r["stimulus_id"] for r in reversed(rows)}
    lines = [
        f"study_id: {study_id}",
        "title: Sketch recognition study",
        "stimuli: stimuli.csv",
        f"options: [{', '.join(SYNTHETIC_CLASSES)}]",
        f"conditions: [{', '.join(conditions)}]",
        f"levels: [{', '.join(map(str, levels))}]",
        f"practice: {{stimuli: [{first['practice0']}], feedback: true}}",
        (
            f"attention: {{checks: [{{stimulus: {first['catch0']}}}], "
            f"max_failures: {max_attention_failures}}}"
        ),
        f"foil_classes: [{FOIL_CLASS}]" if "with_none" in conditions else "",
        (
            "consent: |\n  This study is run by the sketchlab team. It takes about 3 minutes.\n"
            "  Taking part is voluntary and you may stop at any time."
        ),
        "instructions: |\n  You will see simple line drawings. Click the object each one shows.",
        f"time_limit_s: {time_limit_s}" if time_limit_s else "",
        "completion: {code: "
        + COMPLETION_CODE
        + (f", redirect_url: '{redirect_url}'" if redirect_url else "")
        + "}",
    ]
    path = folder / "study.yaml"
    path.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base_url: str, process: subprocess.Popen | None, timeout_s: float = 60) -> None:
    """Poll Streamlit's `/_stcore/health` until it answers `ok`; raise if the server process
    exits first or does not answer within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"study server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"study server at {base_url} was not healthy within {timeout_s:.0f} s")


def start_server(config_path: Path, storage: str, port: int, log_path: Path) -> subprocess.Popen:
    """`sketchlab study serve` on loopback as a child process (logs to `log_path`)."""
    command = [
        sys.executable,
        "-m",
        "sketchlab",
        "study",
        "serve",
        str(config_path),
        "--storage",
        storage,
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
    ]
    with open(log_path, "wb") as log:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


@dataclass
class Page:
    """What one rerun showed: buttons by widget key, image URLs, text."""

    buttons: dict[str, str] = field(default_factory=dict)  # key -> widget id
    images: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class ProtocolClient:
    """One browser tab, speaking Streamlit's websocket protocol."""

    def __init__(self, base_url: str, query_string: str):
        self.base_url = base_url
        self.query_string = query_string
        self.socket = None

    async def __aenter__(self) -> ProtocolClient:  # noqa: PYI034
        import websockets

        url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.socket = await websockets.connect(url, subprotocols=["streamlit"], max_size=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def send(self, click: str | None = None) -> None:
        """Request a rerun, with the button of widget id `click` pressed."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        message.rerun_script.query_string = self.query_string
        message.rerun_script.page_script_hash = ""
        if click is not None:
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id = click
            widget.trigger_value = True
        await self.socket.send(message.SerializeToString())

    async def read_page(self) -> Page:
        """Collect the elements of one complete rerun (a run cut short by the next rerun
        request, as after a double click, is discarded)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        finished = ForwardMsg.ScriptFinishedStatus
        page = Page()
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.socket.recv())
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                which = element.WhichOneof("type")
                if which == "button":
                    page.buttons[_widget_key(element.button.id)] = element.button.id
                elif which == "imgs":
                    page.images.extend(image.url for image in element.imgs.imgs)
                elif which == "markdown":
                    page.texts.append(element.markdown.body)
                elif which == "code":
                    page.texts.append(element.code.code_text)
            elif kind == "script_finished":
                if message.script_finished == finished.FINISHED_SUCCESSFULLY:
                    return page
                if message.script_finished == finished.FINISHED_EARLY_FOR_RERUN:
                    page = Page()

    def fetch(self, url: str) -> int:
        """GET a media URL as the browser would; returns the byte count."""
        with urllib.request.urlopen(self.base_url + url, timeout=30) as response:
            return len(response.read())


def _widget_key(widget_id: str) -> str:
    """`$$ID-<hash>-<user key>` -> `<user key>` (keys may contain '-')."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id


@dataclass
class ParticipantResult:
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # trial indexes the page moved past
    completed: bool = False
    error: str | None = None


async def run_participant(
    base_url: str,
    participant_id: str,
    rng: random.Random,
    think_s: tuple[float, float],
    double_click_rate: float,
    deadline: float,
) -> ParticipantResult:
    """Consent, instructions, every trial (practice feedback included), completion page."""
    result = ParticipantResult()
    query = f"PROLIFIC_PID={participant_id}&STUDY_ID=loadtest&SESSION_ID=s{participant_id}"
    try:
        async with ProtocolClient(base_url, query) as client:
            await client.send()
            page = await client.read_page()
            while time.monotonic() < deadline:
                answers = sorted(k for k in page.buttons if k.startswith("answer-"))
                feedback = [k for k in page.buttons if k.startswith("feedback-")]
                if "consent-yes" in page.buttons:
                    key = "consent-yes"
                elif "instructions-done" in page.buttons:
                    key = "instructions-done"
                elif answers:
                    key = rng.choice(answers)
                elif feedback:
                    key = feedback[0]
                else:
                    result.completed = any(COMPLETION_CODE in text for text in page.texts)
                    return result
                await asyncio.sleep(rng.uniform(*think_s) if answers else 0.05)
                started = time.perf_counter()
                await client.send(page.buttons[key])
                double = answers and rng.random() < double_click_rate
                if double:
                    await client.send(page.buttons[key])  # a double click during the rerun
                page = await client.read_page()
                for url in page.images:
                    await asyncio.to_thread(client.fetch, url)
                if answers:
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    result.acknowledged.append(int(key.split("-")[1]))
                if double:  # the second click may have started one more run: take its page
                    try:
                        page = await asyncio.wait_for(client.read_page(), timeout=1.0)
                    except asyncio.TimeoutError:
                        pass
            result.error = "deadline reached before the completion page"
    except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the bench
        result.error = f"{type(error).__name__}: {error}"
    return result


def storage_backend(url: str) -> str:
    """`sqlite` or `postgresql` from a database URL (never the URL: it may hold a password)."""
    return url.split(":", 1)[0].split("+", 1)[0]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)


def run_load(
    *,
    clients: int = 50,
    think_s: tuple[float, float] = (0.5, 1.5),
    double_click_rate: float = 0.1,
    time_limit_s: float = 240,
    seed: int = 0,
    storage: str | None = None,
) -> dict:
    """Start a server, run `clients` participants at once, then check the database.

    The database is a temporary SQLite file, or `storage` (e.g. PostgreSQL) under a fresh
    study id.

    lost: answers the page moved past (acknowledged) that are not in the database;
    duplicated: rows beyond one per participant x trial, or beyond the trials a
    participant has.
    """
    from study.config import load_study
    from study.design import trials_for
    from study.storage import Storage

    with tempfile.TemporaryDirectory(prefix="sketchlab-load-") as tmp:
        folder = Path(tmp)
        config_path = write_synthetic_study(folder, study_id=f"load-{uuid.uuid4().hex[:12]}")
        storage_url = storage or f"sqlite:///{folder / 'load.sqlite'}"
        config = load_study(config_path, storage=storage_url)
        Storage(config.storage, config.study_id).close()  # unreachable database: BadInput now
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(config_path, storage_url, port, folder / "server.log")
        try:
            wait_for_health(base_url, server)
            rng = random.Random(seed)
            deadline = time.monotonic() + time_limit_s
            started = time.perf_counter()

            async def everyone() -> list[ParticipantResult]:
                return await asyncio.gather(
                    *(
                        run_participant(
                            base_url,
                            f"load{n:04d}",
                            random.Random(rng.random()),
                            think_s,
                            double_click_rate,
                            deadline,
                        )
                        for n in range(clients)
                    )
                )

            results = asyncio.run(everyone())
            wall_s = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        database = Storage(config.storage, config.study_id)
        frame = database.responses_frame()
        lost = duplicated = expected_completed = 0
        for n, result in enumerate(results):
            participant_id = f"load{n:04d}"
            stored = frame[frame["participant_id"] == participant_id]["trial_index"].tolist()
            lost += len(set(result.acknowledged) - set(stored))
            participant = database.get_participant(participant_id)
            n_trials = (
                len(trials_for(config, participant_id, participant.condition, participant.list_id))
                if participant
                else 0
            )
            duplicated += max(len(stored) - len(set(stored)), len(stored) - n_trials, 0)
            expected_completed += n_trials if result.completed else 0
        completed_rows = int(
            frame["participant_id"]
            .isin([f"load{n:04d}" for n, r in enumerate(results) if r.completed])
            .sum()
        )
        database.close()
    latencies = [v for r in results for v in r.latencies_ms]
    return {
        "what": "answer-to-next-trial latency (answer sent -> next trial drawn and its image "
        "loaded), protocol-level websocket clients against one `study serve` on loopback",
        "storage": storage_backend(storage_url),
        "clients": clients,
        "think_time_s": list(think_s),
        "double_click_rate": double_click_rate,
        "completed": sum(r.completed for r in results),
        "answers": len(latencies),
        "errors": sum(r.error is not None for r in results),
        "error_examples": sorted({r.error for r in results if r.error})[:5],
        "latency_ms": {
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "p99": _percentile(latencies, 99),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
        },
        "rows": len(frame),
        "rows_of_completed": completed_rows,
        "expected_rows_of_completed": expected_completed,
        "lost": lost,
        "duplicated": duplicated,
        "wall_s": round(wall_s, 1),
    }
