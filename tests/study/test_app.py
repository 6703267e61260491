"""The participant app and the admin page, driven in-process with Streamlit's AppTest
(helpers in tests/study/conftest.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from sketchlab.contracts import NONE
from study.flow import ParticipantFlow
from study.serve import APP_SCRIPT, streamlit_command
from study.storage import utc_now
from study.synthetic import COMPLETION_CODE, write_synthetic_study
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
        assert len(at.image) == 1 and at.progress, "each trial shows one sketch and progress"
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
    assert all(row["options_shown"] == "|".join(t.options) for row, t in zip(rows.values(), trials))
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
    image_at_trial_4 = at.image[0].value

    reloaded = study.session(prolific("p2"))
    assert current_trial_index(reloaded) == 4, "no consent or instructions again, next trial"
    assert reloaded.image[0].value == image_at_trial_4
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


def test_time_limit_records_a_timeout(tmp_path, monkeypatch):
    study = Study(tmp_path, monkeypatch, time_limit_s=5)
    at = start(study.session(prolific("p7")))
    answer_current(at)
    assert any("answer within 5 seconds" in caption.value for caption in at.caption)
    index = current_trial_index(at)
    at.session_state[f"shown-{index}"] -= timedelta(seconds=6)  # five seconds passed
    at.run()
    assert current_trial_index(at) == index + 1
    assert study.rows("p7")[index]["response"] == "timeout"


def test_trial_page_does_not_reveal_the_answer(study):
    at = start(study.session(prolific("p8")))
    for _ in range(3):
        answer_current(at)
    trial = study.trials("p8")[current_trial_index(at)]
    text = page_text(at)
    labels = {at.button(key=k).label for k in answer_keys(at)}
    without_buttons = text
    for label in labels:
        without_buttons = without_buttons.replace(label, "")
    for secret in (
        trial.stimulus_id,
        trial.image_id,
        trial.image_path.name,
        trial.true_class,
        str(trial.image_path.parent),
    ):
        assert secret not in without_buttons
    assert all(
        re.fullmatch(r"(/mock)?/media/[0-9a-f]+\.png", url)
        for image in at.image
        for url in image.value
    ), "images only by content hash"


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
