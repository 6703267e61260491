"""Killing the server with SIGKILL mid-study loses no answered trial and duplicates none.

A participant (a protocol-level client, see study/bench_load.py) answers a few trials, sends
one more answer and the server is killed at once, without waiting for the reply. After a
restart on the same database the participant reconnects (as the browser does) and must land
on the first unanswered trial with the same order; every answer that was acknowledged before
the kill is in the database, and finishing the study leaves exactly one row per trial.
"""

from __future__ import annotations

import asyncio
import os
import signal

from study.config import load_study
from study.design import trials_for
from study.protocol import (
    Page,
    ProtocolClient,
    free_port,
    start_server,
    stop_process,
    wait_for_health,
)
from study.storage import Storage
from study.synthetic import COMPLETION_CODE, write_synthetic_study

QUERY = "PROLIFIC_PID=crash1&STUDY_ID=st1&SESSION_ID=se1"


def first_answer(page: Page) -> tuple[int, str]:
    """(trial index, widget id) of the first option button on the page."""
    key = min(k for k in page.buttons if k.startswith("answer-"))
    return int(key.split("-")[1]), page.buttons[key]


async def answer_until(base_url: str, stop_after: int) -> list[int]:
    """Consent, instructions, then answer trials (practice feedback dismissed) until
    `stop_after` are acknowledged; then send one more answer without waiting for it."""
    acknowledged = []
    async with ProtocolClient(base_url, QUERY) as client:
        await client.send()
        page = await client.read_page()
        for key in ("consent-yes", "instructions-done"):
            await client.send(page.buttons[key])
            page = await client.read_page()
        while len(acknowledged) < stop_after:
            index, widget = first_answer(page)
            await client.send(widget)
            page = await client.read_page()
            acknowledged.append(index)
            feedback = [k for k in page.buttons if k.startswith("feedback-")]
            if feedback:
                await client.send(page.buttons[feedback[0]])
                page = await client.read_page()
        await client.send(first_answer(page)[1])  # in flight when the server dies
    return acknowledged


async def resume_and_finish(base_url: str) -> tuple[int, Page]:
    """Reconnect; return the trial shown first, then answer everything to the end."""
    async with ProtocolClient(base_url, QUERY) as client:
        await client.send()
        page = await client.read_page()
        resumed_at = first_answer(page)[0]
        while any(k.startswith("answer-") for k in page.buttons):
            await client.send(first_answer(page)[1])
            page = await client.read_page()
        return resumed_at, page


def test_sigkill_mid_study_loses_and_duplicates_nothing(tmp_path):
    config_path = write_synthetic_study(tmp_path, min_answer_ms=0)  # answers come at once
    storage_url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    config = load_study(config_path, storage=storage_url)
    storage = Storage(config.storage, config.study_id)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    server = start_server(config_path, storage_url, port, tmp_path / "server1.log")
    try:
        wait_for_health(base_url, server)
        acknowledged = asyncio.run(answer_until(base_url, stop_after=5))
    finally:
        os.kill(server.pid, signal.SIGKILL)  # `study serve` execs Streamlit: this is the server
        server.wait(timeout=20)
    assert server.returncode == -signal.SIGKILL

    stored = storage.responses_of("crash1")
    assert set(acknowledged) <= set(stored), "an acknowledged answer was lost"
    assert len(stored) in (len(acknowledged), len(acknowledged) + 1)

    server = start_server(config_path, storage_url, port, tmp_path / "server2.log")
    try:
        wait_for_health(base_url, server)
        resumed_at, last_page = asyncio.run(resume_and_finish(base_url))
    finally:
        stop_process(server)

    assert resumed_at == len(stored), "resumes at the first unanswered trial"
    assert any(COMPLETION_CODE in text for text in last_page.texts)
    participant = storage.get_participant("crash1")
    trials = trials_for(config, "crash1", participant.condition, participant.list_id)
    final = storage.responses_of("crash1")
    assert sorted(final) == [t.trial_index for t in trials], "one row per trial"
    assert storage.count_responses() == len(trials), "no duplicates"
    assert all(final[t.trial_index]["stimulus_id"] == t.stimulus_id for t in trials), "same order"
    for index in stored:
        assert final[index] == stored[index], "rows written before the crash are unchanged"
    assert participant.status == "completed"
