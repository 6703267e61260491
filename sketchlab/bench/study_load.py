"""Load test of a running study server: many participants answering at once.

Each simulated participant is a protocol-level client: it opens Streamlit's websocket
(`/_stcore/stream`) like a browser tab does, sends the same `rerun_script` messages a
browser sends when a button is clicked, reads the page back from the `ForwardMsg`
stream (the app inlines the sketch in it) and fetches any image that is not inlined over
HTTP, as a browser would; a button inside a fragment reruns only that fragment, as in the
browser. No browser runs, so 50+ participants fit on a small machine; the server side
(Streamlit, the app, ParticipantFlow, the database) is exactly what real participants hit.

Buttons are found by their widget keys (`consent-yes`, `instructions-done`,
`answer-<trial>-<option>`, `confidence-<trial>-<point>`, `naming-submit-<trial>` with the
text input `name-<trial>`, `feedback-<trial>`), which the app keeps free of class names.
Latency is measured from sending an answer (a click, a confidence rating or a typed name) to
the end of the rerun that shows the next question, with its image ("answer to next trial").
Some answers are sent twice in a row (a double click); afterwards the database is checked
for lost and duplicated trials and lost ratings. With `trial_types`, the study asks a 1-5
confidence rating after each answer and has a free-naming condition besides the two
forced-choice ones (study/trial_types/), so those pages are measured too.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from study.protocol import Page, ProtocolClient, start_server, stop_process, wait_for_health
from study.proxy import Proxy, caddy_in_front, caddy_path, free_ports
from study.synthetic import COMPLETION_CODE, SYNONYMS, SYNTHETIC_CLASSES, write_synthetic_study

TYPED = (*SYNTHETIC_CLASSES, *(name for names in SYNONYMS.values() for name in names), "blob")
"""What a load participant types on a naming page (names, synonyms, something unmatched)."""


@dataclass
class ParticipantResult:
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # trial indexes the page moved past
    rated: list[int] = field(default_factory=list)  # trials whose rating the page moved past
    kinds: list[str] = field(default_factory=list)  # the kind of each measured answer
    completed: bool = False
    error: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)  # the browser's, e.g. a sticky one


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
        async with ProtocolClient(base_url, query, result.cookies) as client:
            await client.send()
            page = await client.read_page()
            while time.monotonic() < deadline:
                feedback = [k for k in page.buttons if k.startswith("feedback-")]
                typed = None
                question = _question(page)  # (its keys' prefix, the trial, the kind)
                if "consent-yes" in page.buttons:
                    key = "consent-yes"
                elif "instructions-done" in page.buttons:
                    key = "instructions-done"
                elif question is not None:
                    prefix, trial, kind = question
                    key = rng.choice(sorted(k for k in page.buttons if k.startswith(prefix)))
                    if kind == NAMED:
                        typed = {page.inputs[f"name-{trial}"]: rng.choice(TYPED)}
                elif feedback:
                    key = feedback[0]
                else:
                    result.completed = any(COMPLETION_CODE in text for text in page.texts)
                    return result
                await asyncio.sleep(rng.uniform(*think_s) if question else 0.05)
                started = time.perf_counter()
                await client.send(page.buttons[key], typed)
                double = question and rng.random() < double_click_rate
                if double:  # a double click during the rerun
                    await client.send(page.buttons[key], typed)
                page = await client.read_page()
                await _fetch_images(client, page)
                if question and not any(k.startswith(prefix) for k in page.buttons):
                    # the page moved on (an answer within min_answer_ms would be ignored)
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    (result.rated if kind == RATED else result.acknowledged).append(trial)
                    result.kinds.append(kind)
                if double:  # the second click may have started one more run: take its page
                    with suppress(asyncio.TimeoutError):
                        page = await asyncio.wait_for(client.read_page(), timeout=1.0)
            result.error = "deadline reached before the completion page"
    except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the bench
        result.error = f"{type(error).__name__}: {error}"
    return result


ANSWERED, RATED, NAMED = "answer", "rating", "name"


def _question(page) -> tuple[str, int, str] | None:
    """The question on the page: (the prefix of its buttons' keys, its trial, its kind), or
    None (consent, instructions, feedback, the end)."""
    for key in sorted(page.buttons):
        for start, kind in (("answer-", ANSWERED), ("confidence-", RATED)):
            if key.startswith(start):
                trial = int(key.split("-")[1])
                return f"{start}{trial}-", trial, kind
        if key.startswith("naming-submit-"):
            return key, int(key.rsplit("-", 1)[1]), NAMED
    return None


async def _fetch_images(client: ProtocolClient, page: Page) -> None:
    """Download the page's images as a browser would, so that the bench counts their load."""
    for url in page.images:
        if not url.startswith("data:"):  # inline images came with the page
            await asyncio.to_thread(client.fetch, url)


def storage_backend(url: str) -> str:
    """`sqlite` or `postgresql` from a database URL (never the URL: it may hold a password)."""
    return url.split(":", 1)[0].split("+", 1)[0]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)


@contextmanager
def study_servers(
    config_path: Path, storage_url: str, folder: Path, replicas: int | None
) -> Iterator[tuple[str, Proxy | None]]:
    """(base URL, proxy): one `study serve` on loopback, or with `replicas` that many behind
    Caddy (deploy/Caddyfile, sticky sessions); everything is stopped on exit."""
    if replicas:
        caddy_path()  # no caddy: BadInput before any server starts
    ports = free_ports(replicas or 1)
    servers = [
        start_server(config_path, storage_url, port, folder / f"server-{port}.log")
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_for_health(f"http://127.0.0.1:{port}", server)
        if not replicas:
            yield f"http://127.0.0.1:{ports[0]}", None
        else:
            with caddy_in_front([f"127.0.0.1:{port}" for port in ports], folder) as proxy:
                yield proxy.base_url, proxy
    finally:
        for server in servers:
            stop_process(server)


def run_load(
    *,
    clients: int = 50,
    think_s: tuple[float, float] = (0.5, 1.5),
    double_click_rate: float = 0.1,
    time_limit_s: float = 240,
    seed: int = 0,
    storage: str | None = None,
    replicas: int | None = None,
    trial_types: bool = False,
) -> dict:
    """Start a server, run `clients` participants at once, then check the database.

    The database is a temporary SQLite file, or `storage` (e.g. PostgreSQL) under a fresh
    study id. With `replicas`, that many servers share the database behind Caddy with
    sticky sessions (deploy/Caddyfile), and participants go through the proxy.

    lost: answers the page moved past (acknowledged) that are not in the database, and
    ratings it moved past that are not stored; duplicated: rows beyond one per participant x
    trial, or beyond the trials a participant has. `trial_types`: the study has confidence
    ratings and a naming condition (module docstring).
    """
    from study.config import load_study
    from study.design import trials_for
    from study.storage import Storage

    with tempfile.TemporaryDirectory(prefix="sketchlab-load-") as tmp:
        folder = Path(tmp)
        extra = {"confidence_scale": 5, "naming": True} if trial_types else {}
        config_path = write_synthetic_study(
            folder, study_id=f"load-{uuid.uuid4().hex[:12]}", **extra
        )
        storage_url = storage or f"sqlite:///{folder / 'load.sqlite'}"
        config = load_study(config_path, storage=storage_url)
        Storage(config.storage, config.study_id).close()  # unreachable database: BadInput now
        with study_servers(config_path, storage_url, folder, replicas) as (base_url, proxy):
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
        database = Storage(config.storage, config.study_id)
        frame = database.responses_frame()
        lost = duplicated = expected_completed = 0
        for n, result in enumerate(results):
            participant_id = f"load{n:04d}"
            rows = frame[frame["participant_id"] == participant_id]
            stored = rows["trial_index"].tolist()
            lost += len(set(result.acknowledged) - set(stored))
            if "confidence" in rows.columns:
                rated = set(rows.loc[rows["confidence"].notna(), "trial_index"])
                lost += len(set(result.rated) - rated)
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
        "loaded), protocol-level websocket clients against `study serve` on loopback"
        + (f", {replicas} replicas behind Caddy" if replicas else ""),
        "storage": storage_backend(storage_url),
        "replicas": replicas or 1,
        "proxy": "caddy" if replicas else None,
        "participants_per_replica": (
            [sum(proxy.replica_of(r.cookies) == u for r in results) for u in proxy.upstreams]
            if proxy
            else [clients]
        ),
        "clients": clients,
        "trial_types": "confidence ratings and free naming" if trial_types else "forced choice",
        "think_time_s": list(think_s),
        "double_click_rate": double_click_rate,
        "completed": sum(r.completed for r in results),
        "answers": len(latencies),
        "answers_by_kind": {
            kind: sum(r.kinds.count(kind) for r in results) for kind in (ANSWERED, RATED, NAMED)
        },
        "p95_ms_by_kind": {
            kind: _percentile(
                [
                    v
                    for r in results
                    for v, k in zip(r.latencies_ms, r.kinds, strict=True)
                    if k == kind
                ],
                95,
            )
            for kind in (ANSWERED, RATED, NAMED)
        },
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
