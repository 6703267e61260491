"""Fixtures and helpers of the study tests.

- `storage_url`, `config`, `storage`: the test study (tests/data/study) on a fresh SQLite file
  and on the real PostgreSQL server, under a unique study_id each time.
- `Study`, `study` and the page helpers: a synthetic study (drawn line images) under tmp_path,
  with the app pointed at it and at a fresh SQLite file through the environment, as
  `sketchlab study serve` does. A new AppTest with the same URL is a reload (a new Streamlit
  session).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from study.config import load_study
from study.design import trials_for
from study.flow import ParticipantFlow
from study.serve import APP_SCRIPT, CONFIG_ENV, STORAGE_ENV
from study.storage import Storage
from study.synthetic import write_synthetic_study
from tests.conftest import TEST_DATA


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def config(storage_url):
    """The test study under a unique study_id, so tests sharing one PostgreSQL don't collide."""
    base = load_study(TEST_DATA / "study" / "study.yaml", storage=storage_url, verify_images=False)
    return base.model_copy(update={"study_id": f"t-{uuid.uuid4().hex[:12]}"})


@pytest.fixture
def storage(config):
    db = Storage(config.storage, config.study_id)
    yield db
    db.close()


TIMEOUT_S = 60


class Study:
    """A synthetic study on disk plus a helper to open participant sessions on it."""

    def __init__(
        self,
        folder: Path,
        monkeypatch: pytest.MonkeyPatch,
        storage_url: str | None = None,
        yaml_changes: dict | None = None,
        **options,
    ):
        """`options` go to write_synthetic_study (min_answer_ms 0 unless given: AppTest
        clicks at once); `yaml_changes` then replace top-level fields of its study.yaml
        (e.g. completion, target_per_cell, preview_token)."""
        options.setdefault("min_answer_ms", 0)
        self.config_path = write_synthetic_study(folder, **options)
        if yaml_changes:
            data = yaml.safe_load(self.config_path.read_text())
            data.update(yaml_changes)
            self.config_path.write_text(yaml.safe_dump(data))
        self.storage_url = storage_url or f"sqlite:///{folder / 'study.sqlite'}"
        monkeypatch.setenv(CONFIG_ENV, str(self.config_path))
        monkeypatch.setenv(STORAGE_ENV, self.storage_url)
        monkeypatch.delenv("SKETCHLAB_ADMIN_PASSWORD", raising=False)
        self.config = load_study(self.config_path, storage=self.storage_url)
        self.storage = Storage(self.config.storage, self.config.study_id)

    def session(self, query: dict[str, str] | None = None, secrets: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=TIMEOUT_S)
        for name, value in (query or {}).items():
            at.query_params[name] = value
        for name, value in (secrets or {}).items():
            at.secrets[name] = value
        return at.run()

    def rows(self, participant_id: str) -> dict[int, dict]:
        return self.storage.responses_of(participant_id)

    def trials(self, participant_id: str):
        participant = self.storage.get_participant(participant_id)
        return trials_for(self.config, participant_id, participant.condition, participant.list_id)


@pytest.fixture
def study(tmp_path, monkeypatch) -> Study:
    return Study(tmp_path, monkeypatch)


def prolific(pid: str) -> dict[str, str]:
    return {"PROLIFIC_PID": pid, "STUDY_ID": "st1", "SESSION_ID": f"se-{pid}"}


def answer_keys(at: AppTest) -> list[str]:
    return [button.key for button in at.button if button.key.startswith("answer-")]


def current_trial_index(at: AppTest) -> int:
    return int(answer_keys(at)[0].split("-")[1])


def start(at: AppTest) -> AppTest:
    """Consent and instructions."""
    at.button(key="consent-yes").click().run()
    return at.button(key="instructions-done").click().run()


def answer_current(at: AppTest, position: int = 0) -> AppTest:
    """Click the option at `position` on the current trial, then dismiss practice feedback."""
    trial_index = current_trial_index(at)
    at.button(key=f"answer-{trial_index}-{position}").click().run()
    feedback = [button.key for button in at.button if button.key.startswith("feedback-")]
    if feedback:
        at.button(key=feedback[0]).click().run()
    return at


def page_text(at: AppTest) -> str:
    """Everything a participant can read or a browser receives as text on this page."""
    parts = [
        element.value
        for kind in (
            "markdown",
            "title",
            "subheader",
            "caption",
            "code",
            "success",
            "info",
            "error",
            "warning",
        )
        for element in getattr(at, kind)
    ]
    parts += [button.label for button in at.button] + [button.key for button in at.button]
    parts += [e.proto.body for e in at.get("html") if "<style>" not in e.proto.body]  # not CSS
    return "\n".join(str(part) for part in parts)


def trial_head(at: AppTest) -> str:
    """The HTML of the trial's progress, question, sketch and countdown."""
    (head,) = [e.proto.body for e in at.get("html") if 'id="sk-trial-' in e.proto.body]
    return head


def admin(study: Study, secrets: dict | None = None) -> AppTest:
    return study.session({"page": "admin"}, secrets=secrets)


def complete_through_flow(study: Study, participant_id: str) -> None:
    """A participant who finished the study (written through ParticipantFlow, no page)."""
    done = ParticipantFlow.open(study.config, study.storage, participant_id)
    done.consent(True)
    done.finish_instructions()
    while done.current_trial is not None:
        trial = done.current_trial
        shown = done.shown_at(trial.trial_index)
        done.answer(trial.trial_index, trial.options[0], shown + timedelta(seconds=2))


def fill_study(study: Study) -> None:
    """One completed, one in-progress and one declining participant (through the flow)."""
    complete_through_flow(study, "done1")
    ParticipantFlow.open(study.config, study.storage, "busy1").consent(True)
    ParticipantFlow.open(study.config, study.storage, "no1").consent(False)


def finish_correctly(study: Study, participant_id: str) -> None:
    """A participant who completed the study with every answer right (through the flow)."""
    flow = ParticipantFlow.open(study.config, study.storage, participant_id)
    flow.consent(True)
    flow.finish_instructions()
    while (trial := flow.current_trial) is not None:
        shown = flow.shown_at(trial.trial_index)
        flow.answer(trial.trial_index, trial.correct_response, shown + timedelta(seconds=2))
