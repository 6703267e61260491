"""An answer the database cannot store, on a live `sketchlab study serve` (SQLite and
PostgreSQL): the database fails between the trial being shown and the click. The participant
gets the friendly error page, not the same trial again; "Try again" sends the same answer
(once the database is back), timed by the click; nothing is dropped or doubled, and the row
says how many attempts failed.

The database "fails" by having its responses table renamed away under the running server
(every insert then fails at once), and renamed back to recover.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine

from study.config import load_study
from study.protocol import ProtocolClient, free_port, start_server, stop_process, wait_for_health
from study.storage import Storage, parse_iso
from study.synthetic import write_synthetic_study
from tests.e2e.test_server_kill import first_answer


@contextmanager
def responses_table_away(url: str) -> Iterator[None]:
    """The responses table taken away from the server for the block (every insert fails),
    then given back, whatever happens."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE study_responses RENAME TO study_responses_away")
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE study_responses_away RENAME TO study_responses")
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def live_study(request, tmp_path):
    """(base URL, storage URL, storage) of a synthetic study served on a loopback port."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    study_id = f"save-{uuid.uuid4().hex[:10]}"
    config_path = write_synthetic_study(tmp_path, min_answer_ms=0, study_id=study_id)
    config = load_study(config_path, storage=url)
    storage = Storage(config.storage, config.study_id)
    port = free_port()
    server = start_server(config_path, url, port, tmp_path / "server.log")
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
        yield f"http://127.0.0.1:{port}", url, storage
    finally:
        stop_process(server)
        storage.close()


async def take_part(base_url: str, url: str, storage: Storage) -> dict:
    """Consent, instructions, the practice; then fail the database, click, retry."""
    async with ProtocolClient(base_url, "PROLIFIC_PID=save1&STUDY_ID=st1&SESSION_ID=se1") as tab:
        page = await tab.ask()
        for key in ("consent-yes", "instructions-done"):
            page = await tab.ask(page.buttons[key])
        page = await tab.ask(first_answer(page)[1])  # the practice trial
        page = await tab.ask(next(w for k, w in page.buttons.items() if k.startswith("feedback")))
        trial, widget = first_answer(page)
        time.sleep(1.0)  # the trial is on screen for a second
        with responses_table_away(url):
            clicked = time.time()
            failed = await tab.ask(widget)
            assert "retry" in failed.buttons, "the error page, with Try again"
            still_failing = await tab.ask(failed.buttons["retry"])
            time.sleep(1.5)  # the database is down a while longer
        retried = time.time()
        back = await tab.ask(still_failing.buttons["retry"])
    return {
        "trial": trial, "failed": failed, "still_failing": still_failing, "back": back,
        "clicked": clicked, "retried": retried,
    }  # fmt: skip


def test_a_failed_save_shows_the_error_page_and_the_retry_stores_the_same_answer(live_study):
    base_url, url, storage = live_study
    seen = asyncio.run(asyncio.wait_for(take_part(base_url, url, storage), timeout=300))
    trial = seen["trial"]
    failed_text = "\n".join(seen["failed"].texts)
    assert "something went wrong" in failed_text and "not saved yet" in failed_text
    assert not any(key.startswith("answer-") for key in seen["failed"].buttons), (
        "not the same trial again as if nothing had happened"
    )
    assert "retry" in seen["still_failing"].buttons
    assert f"answer-{trial + 1}-0" in seen["back"].buttons, "the next trial, once it is stored"

    rows = storage.responses_of("save1")
    assert sorted(rows) == list(range(trial + 1)), "stored once, nothing dropped or doubled"
    row = rows[trial]
    assert row["save_failures"] == 2, "two attempts failed before it was stored"
    answered = parse_iso(row["answered_at"]).timestamp()
    assert abs(answered - seen["clicked"]) < 1.0, "answered when clicked"
    assert row["rt_ms"] < 1000 * (seen["retried"] - seen["clicked"]), (
        "the clock stopped at the click"
    )
    assert row["response"] != "timeout"
    shown_next = parse_iso(storage.get_participant("save1").shown_at).timestamp()
    assert shown_next >= seen["retried"] - 0.5, "the next trial's clock starts when it is shown"
