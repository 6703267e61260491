"""The participant app and the admin page, driven in-process with Streamlit's AppTest
(helpers in tests/study/conftest.py)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest

from sketchlab.contracts import NONE
from study.browser import device_size
from study.config import load_study
from study.flow import ParticipantFlow
from study.serve import APP_SCRIPT, streamlit_command
from study.storage import Storage, iso, parse_iso, utc_now
from study.synthetic import COMPLETION_CODE, write_synthetic_study
from tests.conftest import REPO
from tests.study.conftest import (
    TIMEOUT_S,
    Study,
    admin,
    answer_current,
    answer_keys,
    complete_through_flow,
    current_trial_index,
    fill_study,
    page_text,
    prolific,
    start,
    trial_head,
)


@pytest.mark.parametrize("condition", ["with_none", "without_none"])
def test_participant_completes_study_and_every_answer_is_stored(tmp_path, monkeypatch, condition):
    study = Study(tmp_path, monkeypatch, conditions=(condition,))
    at = study.session(prolific("p1"))
    assert [b.key for b in at.button] == ["consent-yes", "consent-no"]
    start(at)
    trials = study.trials("p1")
    seen_options = []
    for step, trial in enumerate(trials):
        assert current_trial_index(at) == trial.trial_index == step
        labels = [at.button(key=k).label for k in answer_keys(at)]
        seen_options.append(labels)
        head = trial_head(at)
        assert head.count("<img ") == 1 and "sk-progress" in head, "one sketch and progress"
        assert not any(b.value for b in at.button), "no answer is preselected"
        answer_current(at, position=len(labels) - 1)
        assert len(study.rows("p1")) == step + 1, "each answer is written the moment it is given"
    assert COMPLETION_CODE in page_text(at) and not answer_keys(at)
    assert study.storage.get_participant("p1").status == "completed"
    expected_last = "None of these" if condition == "with_none" else study.config.options[-1]
    assert all(labels[-1] == expected_last for labels in seen_options)
    rows = study.rows("p1")
    assert sorted(rows) == [t.trial_index for t in trials]
    assert {row["condition"] for row in rows.values()} == {condition}
    assert all(
        row["options_shown"] == "|".join(t.options)
        for row, t in zip(rows.values(), trials, strict=True)
    )
    if condition == "with_none":
        assert all(row["response"] == NONE and row["is_none"] == 1 for row in rows.values())
        assert {t.trial_type for t in trials} == {"practice", "test", "attention", "foil"}
    else:
        assert NONE not in "|".join(row["options_shown"] for row in rows.values())


def test_reload_resumes_at_next_unanswered_trial_in_same_order(study):
    at = start(study.session(prolific("p2")))
    for _ in range(4):
        answer_current(at)
    order_before = [t.stimulus_id for t in study.trials("p2")]
    image_at_trial_4 = re.search(r'src="([^"]+)"', trial_head(at)).group(1)

    reloaded = study.session(prolific("p2"))
    assert current_trial_index(reloaded) == 4, "no consent or instructions again, next trial"
    assert f'src="{image_at_trial_4}"' in trial_head(reloaded)
    assert [t.stimulus_id for t in study.trials("p2")] == order_before
    assert sorted(study.rows("p2")) == [0, 1, 2, 3]


def test_double_click_and_second_tab_store_one_answer(study):
    at = start(study.session(prolific("p3")))
    answer_current(at)  # practice
    first = at.button(key="answer-1-0")
    first.click().run()
    first.click().run()  # the same button again, after the page moved on (a double click)
    assert current_trial_index(at) == 2
    second_tab = study.session(prolific("p3"))
    assert current_trial_index(second_tab) == 2
    at.button(key="answer-2-1").click().run()
    second_tab.button(key="answer-2-3").click().run()  # stale tab answers the same trial
    rows = study.rows("p3")
    assert sorted(rows) == [0, 1, 2]
    assert rows[2]["response"] == study.trials("p3")[2].options[1], "the first answer wins"
    assert current_trial_index(second_tab) == 3


def test_completed_participant_sees_code_again_and_cannot_answer(study):
    at = start(study.session(prolific("p4")))
    while answer_keys(at):
        answer_current(at)
    n_rows = len(study.rows("p4"))
    again = study.session(prolific("p4"))
    assert COMPLETION_CODE in page_text(again)
    assert not answer_keys(again) and not [b for b in again.button if b.key.startswith("consent")]
    assert len(study.rows("p4")) == n_rows


def test_declining_consent_is_recorded_and_final(study):
    at = study.session(prolific("p5"))
    at.button(key="consent-no").click().run()
    at.button(key="consent-no-confirm").click().run()
    assert "chose not to take part" in page_text(at)
    assert study.storage.get_participant("p5").status == "declined"
    again = study.session(prolific("p5"))
    assert not again.button and "chose not to take part" in page_text(again)


def test_failed_attention_check_ends_the_study(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, max_attention_failures=0)
    at = start(study.session(prolific("p6")))
    trials = study.trials("p6")
    while answer_keys(at):
        trial = trials[current_trial_index(at)]
        wrong = next(i for i, o in enumerate(trial.options) if o != trial.correct_response)
        answer_current(at, position=wrong if trial.trial_type == "attention" else 0)
    assert study.storage.get_participant("p6").status == "failed_attention"
    assert "did not pass the attention checks" in page_text(at)
    assert COMPLETION_CODE not in page_text(at)


def test_participant_idle_too_long_sees_a_time_out_page(study):
    at = start(study.session(prolific("p11")))
    answer_current(at)
    idle = timedelta(minutes=study.config.abandon_after_minutes + 1)
    study.storage.mark("p11", utc_now() - idle)  # last seen long ago
    again = study.session(prolific("p11"))
    assert "inactive for too long" in page_text(again) and not answer_keys(again)
    assert study.storage.get_participant("p11").status == "timed_out"


def move_clock_back(study: Study, participant_id: str, seconds: float) -> None:
    """Pretend the current trial was first drawn `seconds` earlier (as if time had passed)."""
    shown_at = parse_iso(study.storage.get_participant(participant_id).shown_at)
    study.storage.mark(
        participant_id, utc_now(), shown_at=iso(shown_at - timedelta(seconds=seconds))
    )


def test_time_limit_records_a_timeout(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=5)
    at = start(study.session(prolific("p7")))
    answer_current(at)
    assert "Time left (5 s)" in trial_head(at)
    index = current_trial_index(at)
    move_clock_back(study, "p7", 6)  # six seconds passed
    at = study.session(prolific("p7"))
    assert current_trial_index(at) == index + 1
    assert study.rows("p7")[index]["response"] == "timeout"


def test_a_reload_does_not_restart_the_trial_clock(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=30)
    at = start(study.session(prolific("p12")))
    answer_current(at)
    index = current_trial_index(at)
    move_clock_back(study, "p12", 25)  # 25 s on screen, then the page is reloaded
    reloaded = study.session(prolific("p12"))
    assert current_trial_index(reloaded) == index
    style = re.search(r'id="sk-timer-\d+" style="([^"]+)"', trial_head(reloaded)).group(1)
    duration = float(re.search(r"animation-duration: ([\d.]+)s", style).group(1))
    elapsed = -float(re.search(r"animation-delay: (-[\d.]+)s", style).group(1))
    assert duration == 30 and 25 <= elapsed < 30, "the bar goes on from where it was"
    answer_current(reloaded)
    assert study.rows("p12")[index]["rt_ms"] >= 25_000, "measured from the first draw"
    move_clock_back(study, "p12", 31)  # past the limit: the reload records the time-out
    again = study.session(prolific("p12"))
    assert study.rows("p12")[index + 1]["response"] == "timeout"
    assert current_trial_index(again) == index + 2


def test_each_trial_gets_its_own_timer_element(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=30)
    at = start(study.session(prolific("p13")))
    heads = []
    for _ in range(3):
        heads.append(trial_head(at))
        answer_current(at)
    timers = [re.search(r'<div id="(sk-timer-\d+)"', head).group(1) for head in heads]
    assert len(set(timers)) == 3, "a fresh element (so a fresh animation) per trial"
    assert all("sk-progress" in head and "Time left" in head for head in heads)


def test_an_answer_within_the_minimum_time_is_ignored(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, min_answer_ms=10_000)
    at = start(study.session(prolific("p14")))
    at.button(key="answer-0-1").click().run()  # a key press meant for the previous trial
    assert current_trial_index(at) == 0 and study.rows("p14") == {}
    move_clock_back(study, "p14", 11)
    at = study.session(prolific("p14"))
    at.button(key="answer-0-1").click().run()
    assert sorted(study.rows("p14")) == [0]


def test_too_many_timeouts_in_a_row_end_the_session(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=5, max_consecutive_timeouts=2)
    at = start(study.session(prolific("p15")))
    answer_current(at)
    for _ in range(3):  # a tab left open: each time-out draws the next trial
        move_clock_back(study, "p15", 6)
        at = study.session(prolific("p15"))
    assert "inactive for too long" in page_text(at) and not answer_keys(at)
    participant = study.storage.get_participant("p15")
    assert participant.status == "timed_out" and participant.n_answered == 4
    assert COMPLETION_CODE not in page_text(at)


def test_instructions_name_the_keys_of_the_condition(tmp_path, monkeypatch):
    for condition, keys in (("with_none", "1-6"), ("without_none", "1-5")):
        study = Study(tmp_path / condition, monkeypatch, conditions=(condition,))
        at = study.session(prolific("p16"))
        at.button(key="consent-yes").click().run()
        assert f"({keys})" in page_text(at)
    example = load_study(REPO / "data" / "study.yaml", verify_images=False)
    assert not re.search(r"keys? 1-\d", example.instructions), "the app says which keys"


def unreachable(*args, **kwargs):
    raise OperationalError("INSERT ...", {}, Exception("server closed the connection"))


def test_a_database_error_shows_a_friendly_page(study, monkeypatch):
    at = start(study.session(prolific("p17")))
    with monkeypatch.context() as outage:
        outage.setattr(Storage, "record_response", unreachable)
        at.button(key="answer-0-0").click().run()
    assert not at.exception, "no Streamlit error box"
    assert "something went wrong on our side" in page_text(at)
    assert "INSERT" not in page_text(at) and "server closed" not in page_text(at)
    at.button(key="retry").click().run()
    assert "The answer was" in page_text(at) or "Correct" in page_text(at), "practice feedback"
    assert study.rows("p17")[0]["save_failures"] == 1


def test_an_answer_the_database_cannot_store_is_sent_again_with_its_click_time(study, monkeypatch):
    at = start(study.session(prolific("p18")))
    answer_current(at)  # the practice trial
    index = current_trial_index(at)
    move_clock_back(study, "p18", 3)  # the trial has been on screen for 3 s
    with monkeypatch.context() as outage:
        outage.setattr(Storage, "record_response", unreachable)
        clicked = utc_now()
        at.button(key=f"answer-{index}-1").click().run()
        assert "something went wrong" in page_text(at) and "not saved yet" in page_text(at)
        assert not answer_keys(at), "the trial is not shown as if nothing happened"
        at.button(key="retry").click().run()  # the database is still down
        assert "not saved yet" in page_text(at)
    time.sleep(1.2)  # the database comes back a while later
    retried = utc_now()
    at.button(key="retry").click().run()
    row = study.rows("p18")[index]
    assert row["response"] == study.trials("p18")[index].options[1], "the answer clicked"
    assert row["save_failures"] == 2, "the record says it took three attempts"
    assert parse_iso(row["answered_at"]) - clicked < timedelta(seconds=1), "the click's time"
    assert 3000 <= row["rt_ms"] < 4000, "the answer time ends at the click, not the retry"
    assert current_trial_index(at) == index + 1
    assert study.storage.get_participant("p18").shown_at >= iso(retried), (
        "the next trial's clock starts when it is shown, after the retry"
    )
    assert "not saved yet" not in page_text(at)


def test_trial_page_does_not_reveal_the_answer(study):
    at = start(study.session(prolific("p8")))
    for _ in range(3):
        answer_current(at)
    trial = study.trials("p8")[current_trial_index(at)]
    (image,) = re.findall(r'src="data:image/png;base64,([^"]+)"', trial_head(at))
    png = base64.b64decode(image)
    assert png_chunks(png) == ["IHDR", "IDAT", "IEND"], "a bare PNG: no name or metadata"
    text = page_text(at).replace(image, "")
    for label in {at.button(key=k).label for k in answer_keys(at)}:
        text = text.replace(label, "")
    for secret in (
        trial.stimulus_id,
        trial.image_id,
        trial.image_path.name,
        trial.true_class,
        str(trial.image_path.parent),
    ):
        assert secret not in text


def png_chunks(png: bytes) -> list[str]:
    """The distinct chunk types of a PNG file, in order of first appearance."""
    kinds, offset = [], 8
    while offset < len(png):
        length = int.from_bytes(png[offset : offset + 4], "big")
        kind = png[offset + 4 : offset + 8].decode("ascii")
        if kind not in kinds:
            kinds.append(kind)
        offset += 12 + length
    return kinds


def test_device_reports_are_checked_before_they_are_stored():
    good = {"screen_width": 360, "screen_height": 640, "viewport_width": 360.0,
            "viewport_height": 560}  # fmt: skip
    assert device_size({"size": good}) == {**good, "viewport_width": 360}
    for bad in ({**good, "screen_width": "<b>"}, {**good, "viewport_height": 10**9},
                {**good, "screen_height": True}, {"screen_width": 1}, None, "x"):  # fmt: skip
        assert device_size({"size": bad}) is None


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"STUDY_ID": "st1", "SESSION_ID": "x"},
        {"PROLIFIC_PID": "x" * 65},
        {"PROLIFIC_PID": "<script>alert(1)</script>"},
        {"PROLIFIC_PID": "ok", "SESSION_ID": "bad id with spaces"},
        {"PROLIFIC_PID": "a'b\"c"},
    ],
)
def test_bad_or_missing_url_parameters_get_a_friendly_page(study, query):
    at = study.session(query)
    assert not at.exception
    assert "This study link is incomplete" in page_text(at)
    assert not at.button
    for value in query.values():
        assert value not in page_text(at), "nothing from the URL is echoed"
    assert study.storage.participant_ids() == []


def test_repeated_participant_id_is_refused(study):
    at = AppTest.from_file(str(APP_SCRIPT), default_timeout=TIMEOUT_S)
    at.query_params["PROLIFIC_PID"] = ["a1", "a2"]
    at.run()
    assert "This study link is incomplete" in page_text(at)


def test_admin_page_shows_nothing_without_a_configured_password(study):
    fill_study(study)
    at = admin(study)
    assert "admin page is off" in page_text(at)
    assert not at.text_input and not at.dataframe and not at.metric


def test_admin_page_shows_nothing_with_a_wrong_password(study):
    fill_study(study)
    at = admin(study, secrets={"admin_password": "s3cret-pass-phrase"})
    assert not at.dataframe and not at.metric
    at.text_input[0].input("guess").run()
    assert "Wrong password" in page_text(at)
    assert not at.dataframe and not at.metric and "done1" not in page_text(at)


def test_admin_page_with_password_shows_progress_and_downloads(study, monkeypatch):
    fill_study(study)
    monkeypatch.setenv("SKETCHLAB_ADMIN_PASSWORD", "env-pass-phrase")
    at = admin(study)
    at.text_input[0].input("env-pass-phrase").run()
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Completed"] == "1" and metrics["In progress"] == "1"
    assert metrics["Completion rate"] == "100%", "people still answering are not counted"
    cells = at.dataframe[0].value
    assert len(cells) == len(study.config.conditions) * len(study.config.catalog.levels)
    assert cells["completed"].sum() == 1 and cells["in_progress"].sum() == 1
    assert "1 declined" in page_text(at)
    assert at.get("download_button"), "responses can be downloaded"


def test_flow_and_page_agree_on_progress(study):
    at = start(study.session(prolific("p9")))
    answer_current(at)
    answer_current(at)
    flow = ParticipantFlow.open(study.config, study.storage, "p9")
    assert flow.n_answered == 2 and current_trial_index(at) == flow.current_trial.trial_index


def test_completion_page_redirects_to_prolific(tmp_path, monkeypatch):
    url = "https://app.prolific.com/submissions/complete?cc=C1234ABC"
    study = Study(tmp_path, monkeypatch, redirect_url=url)
    complete_through_flow(study, "p10")
    at = study.session(prolific("p10"))
    assert at.get("link_button")[0].proto.url == url
    script = "\n".join(element.proto.body for element in at.get("html"))
    assert f"window.top.location.href = {json.dumps(url)}" in script


def test_serve_refuses_bad_input_in_one_sentence(tmp_path):
    study_yaml = write_synthetic_study(tmp_path)
    cases = {
        "missing.yaml": [str(tmp_path / "missing.yaml")],
        "cannot reach the database": [
            str(study_yaml),
            "--storage",
            "postgresql+psycopg://u:secret@127.0.0.1:1/db",
        ],
    }
    for expected, args in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "sketchlab", "study", "serve", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "secret" not in result.stderr, "the database password is masked"


def test_serve_passes_port_address_and_streamlit_options_through():
    command = streamlit_command(
        port=8600, address="0.0.0.0", extra_options=["--server.baseUrlPath=/study"]
    )
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT)]
    assert "--server.port=8600" in command and "--server.address=0.0.0.0" in command
    assert command[-1] == "--server.baseUrlPath=/study", "researcher options come last and win"
    assert "--client.toolbarMode=minimal" in command and "--runner.postScriptGC=false" in command


@pytest.mark.postgres
def test_participant_flow_on_postgresql(tmp_path, monkeypatch, postgres_url):
    study_id = f"app-{uuid.uuid4().hex[:12]}"  # a fresh study in the shared test database
    study = Study(tmp_path, monkeypatch, storage_url=postgres_url, study_id=study_id)
    at = start(study.session(prolific("pg1")))
    for _ in range(3):
        answer_current(at)
    resumed = study.session(prolific("pg1"))
    assert current_trial_index(resumed) == 3
    while answer_keys(resumed):
        answer_current(resumed)
    assert COMPLETION_CODE in page_text(resumed)
    assert sorted(study.rows("pg1")) == [t.trial_index for t in study.trials("pg1")]
    assert study.storage.get_participant("pg1").status == "completed"


def test_admin_page_warns_when_a_cell_falls_behind(study, monkeypatch):
    from study.design import cells
    from tests.study.test_monitor import take_part

    lagging = cells(study.config)[-1]
    for cell in cells(study.config):
        for n in range(3 if cell != lagging else 0):
            take_part(study.config, study.storage, f"p{cell[0]}{cell[1]}x{n}", utc_now(), cell=cell)
    monkeypatch.setenv("SKETCHLAB_ADMIN_PASSWORD", "env-pass-phrase")
    at = admin(study)
    at.text_input[0].input("env-pass-phrase").run()
    warnings = [element.value for element in at.warning]
    assert warnings == [
        f"cell {lagging[0]} / list {lagging[1]} falls behind: 0 completed, "
        "3 fewer than the fullest cell (3)"
    ]
    assert at.dataframe[0].value["completed"].sum() == 3 * (len(cells(study.config)) - 1)
