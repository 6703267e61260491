"""Storage alone under load: many concurrent writers answering trials, none lost or doubled.

Each writer is one participant on its own thread, answering `trials_per_writer` trials through
`Storage.record_response` (the call the app makes for every answer), and sending every
`resend_every`-th answer twice, as a double click does. All writers start together behind a
barrier. Afterwards the database is counted: lost = expected rows missing, duplicated = rows
beyond one per (participant, trial). Used by `sketchlab bench study`; JSON-able result.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from datetime import timedelta
from functools import partial

from sketchlab.contracts import COMPLETED, TEST, WITH_NONE
from study.progress import StatusRules, Step, advance
from study.storage import Storage, iso, utc_now
from study.storage_backends import masked_url

BENCH_OPTIONS = ("boat", "chair", "cup", "house", "tree", "none")


def storage_bench(
    url: str,
    *,
    writers: int = 200,
    trials_per_writer: int = 20,
    resend_every: int = 5,
    pool_size: int | None = None,
) -> dict:
    """Run the bench against `url` in a fresh study id (left in the database for inspection).

    `pool_size` caps database connections (default 16 on SQLite, whose writes queue on one
    lock anyway; 40 on PostgreSQL, below its default max_connections of 100). Returns
    trials/s, latency percentiles (ms), errors, lost and duplicated counts.
    """
    study_id = f"bench-{uuid.uuid4().hex[:10]}"
    is_sqlite = url.startswith("sqlite")
    pool = pool_size or (16 if is_sqlite else 40)
    storage = Storage(url, study_id, pool_size=pool, max_overflow=0, warm=True)
    now = utc_now()
    for w in range(writers):
        storage.allocate(
            f"w{w}", "", lambda counts: (WITH_NONE, 0), now, now - timedelta(hours=1), "bench"
        )
    barrier = threading.Barrier(writers)
    rules = StatusRules(trials_per_writer, max_attention_failures=0, max_consecutive_timeouts=None)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def write(w: int) -> None:
        mine, failures = [], []
        barrier.wait()
        for trial_index in range(trials_per_writer):
            shown = utc_now()
            row = _row(study_id, f"w{w}", trial_index, shown)
            step = Step(answered=True, at=iso(shown))
            moved_on = partial(advance, step=step, rules=rules)
            sends = 2 if resend_every and trial_index % resend_every == 0 else 1
            for _ in range(sends):
                began = time.perf_counter()
                try:
                    storage.record_response(row, moved_on, shown)
                except Exception as error:  # noqa: BLE001 - a bench counts every failure
                    failures.append(f"{type(error).__name__}: {error}"[:200])
                mine.append((time.perf_counter() - began) * 1000)
        with lock:
            latencies.extend(mine)
            errors.extend(failures)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    frame = storage.responses_frame()
    completed = int((storage.participants_frame()["status"] == COMPLETED).sum())
    storage.close()
    expected = writers * trials_per_writer
    distinct = len(frame.drop_duplicates(["participant_id", "trial_index"]))
    ordered = sorted(latencies)
    return {
        "backend": "sqlite" if is_sqlite else "postgresql",
        "storage": masked_url(url),
        "study_id": study_id,
        "writers": writers,
        "trials_per_writer": trials_per_writer,
        "writes_sent": len(latencies),
        "seconds": round(seconds, 3),
        "trials_per_s": round(expected / seconds, 1),
        "writes_per_s": round(len(latencies) / seconds, 1),
        "latency_ms": {
            "p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        },
        "errors": len(errors),
        "first_errors": errors[:3],
        "expected_rows": expected,
        "rows": len(frame),
        "lost": expected - distinct,
        "duplicated": len(frame) - distinct,
        "participants_completed": completed,
        "connection_pool": pool,
    }


def _row(study_id: str, participant_id: str, trial_index: int, shown) -> dict:
    answered = shown + timedelta(milliseconds=900)
    return {
        "participant_id": participant_id, "study_id": study_id, "session_id": "bench",
        "condition": WITH_NONE, "list_id": 0, "trial_index": trial_index, "trial_type": TEST,
        "stimulus_id": f"s{trial_index}", "image_id": f"i{trial_index}", "true_class": "boat",
        "n_strokes": 4, "options_shown": "|".join(BENCH_OPTIONS), "response": "boat",
        "correct": 1, "is_none": 0, "rt_ms": 900, "started_at": iso(shown),
        "answered_at": iso(answered), "too_fast": 0, "interrupted_ms": 0, "save_failures": 0,
    }  # fmt: skip
