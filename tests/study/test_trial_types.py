"""Trial types are plugins: a new one is its module and its registry entry, nothing else.

The throw-away type here (a second kind of catch trial, with a response column of its own) is
defined in this file only, registered for the test, and goes through `study check`, the app
(AppTest), `study simulate`, `study export` and `analyze`; no file of the project changes."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
import yaml

from sketchlab.contracts import RESPONSE_COLUMNS, ResponseColumn
from study.synthetic import write_synthetic_study
from study.trial_type import CHECK, ChoiceTrialType, ListContext, Placement
from study.trial_types import TRIAL_TYPES, added_columns, conditions, roles, row_types
from study.yaml_fields import Strict
from tests.conftest import REPO
from tests.study.conftest import Study, answer_keys, current_trial_index, prolific, start

REPEAT = "repeat_check"


class RepeatChecks(Strict):
    stimuli: list[str] = []


class RepeatCheck(ChoiceTrialType):
    """A second kind of catch trial: unambiguous sketches shuffled among the main trials; their
    class is right, and a wrong answer counts as a failed attention check."""

    name = REPEAT
    description = "Catch sketches hidden among the main trials."
    settings = {"repeat_checks": (RepeatChecks, RepeatChecks())}
    columns = (ResponseColumn("check_kind", "string", 16, doc="which kind of catch trial"),)
    role = CHECK
    fails_when_wrong = True

    def reserved_stimuli(self, config) -> dict[str, list[str]]:
        return {"repeat_checks.stimuli": list(config.repeat_checks.stimuli)}

    def place(self, context: ListContext) -> Placement:
        stimuli = [context.catalog.stimuli[i] for i in context.config.repeat_checks.stimuli]
        return Placement(main=tuple(context.trial(s, REPEAT, s.class_name) for s in stimuli))

    def read_answer(self, config, trial, raw) -> dict:
        return {**super().read_answer(config, trial, raw), "check_kind": "repeat"}

    def simulate(self, responder, trial) -> str:
        return responder.attend(trial)


def _fingerprint() -> dict[str, str]:
    files = [
        path
        for folder in ("study", "analysis", "sketchlab", "docs")
        for path in (REPO / folder).rglob("*")
        if path.is_file() and path.suffix in (".py", ".md", ".json", ".R")
    ]
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files + [REPO / "README.md"]
    }


@pytest.fixture
def repeat_check(monkeypatch) -> RepeatCheck:
    entry = RepeatCheck()
    monkeypatch.setitem(TRIAL_TYPES, REPEAT, entry)
    return entry


REPEAT_STIMULUS = "s0003"
"""The synthetic study's first test image (img00, a boat) at 32 strokes: the repeat check."""
WITH_REPEAT = {"repeat_checks": {"stimuli": [REPEAT_STIMULUS]}}


def test_the_registry_lists_every_built_in_type_with_its_role():
    assert row_types() == ["practice", "test", "foil", "attention", "naming"]
    assert roles() == {"practice": "practice", "test": "target", "foil": "foil",
                       "attention": "check", "naming": "target"}  # fmt: skip
    assert conditions() == ("without_none", "with_none", "naming")
    assert [c.name for c in added_columns()] == [
        "confidence", "confidence_rt_ms", "typed_response", "naming_match",
    ]  # fmt: skip


def test_a_new_trial_type_runs_end_to_end_with_no_other_change(
    tmp_path, monkeypatch, run_sketchlab, repeat_check
):
    before = _fingerprint()
    study = Study(tmp_path, monkeypatch, yaml_changes=WITH_REPEAT, conditions=("without_none",))

    # check: the type's field is validated with the rest of study.yaml
    code, out, err = run_sketchlab("study", "check", study.config_path)
    assert code == 0, err
    assert "12 trials per participant" in out and "9 test" in out and "1 repeat_check" in out
    data = yaml.safe_load(study.config_path.read_text())
    data["repeat_checks"] = {"stimuli": ["nope"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = run_sketchlab("study", "check", bad)
    assert code == 2 and "field 'repeat_checks.stimuli' names stimulus 'nope'" in err

    # the app: its trial is shown and answered like any other; a wrong answer is a failure
    for pid, wrong_on_repeat in (("p1", True), ("p2", False)):
        at = start(study.session(prolific(pid)))
        trials = study.trials(pid)
        while answer_keys(at):
            trial = trials[current_trial_index(at)]
            choice = trial.options.index(trial.correct_response)
            if trial.trial_type == REPEAT and wrong_on_repeat:
                choice = (choice + 1) % len(trial.options)
            at.button(key=f"answer-{trial.trial_index}-{choice}").click().run()
            feedback = [b.key for b in at.button if b.key.startswith("feedback-")]
            if feedback:
                at.button(key=feedback[0]).click().run()
    rows = study.rows("p1")
    repeat = [row for row in rows.values() if row["trial_type"] == REPEAT]
    assert len(repeat) == 1 and repeat[0]["stimulus_id"] == REPEAT_STIMULUS
    assert repeat[0]["check_kind"] == "repeat" and repeat[0]["correct"] == 0
    assert study.storage.get_participant("p1").attention_failures == 1
    assert study.storage.get_participant("p2").status == "completed"

    # export: its column after the core and the built-in types' columns
    out = tmp_path / "responses.csv"
    code, _, err = run_sketchlab(
        "study", "export", study.config_path, "--out", out, "--storage", study.storage_url
    )
    assert code == 0, err
    exported = pd.read_csv(out)
    assert list(exported.columns)[: len(RESPONSE_COLUMNS)] == list(RESPONSE_COLUMNS)
    assert list(exported.columns)[-1] == "check_kind"
    assert set(exported.loc[exported["trial_type"] == REPEAT, "check_kind"]) == {"repeat"}

    # analyze: its rows validate, and its failure counts as a failed attention check
    report = tmp_path / "report"
    code, _, err = run_sketchlab(
        "analyze", out, "--out", report, "--max-attention-errors", "0", "--allow-exclusions"
    )
    assert code == 0, err
    exclusions = pd.read_csv(report / "exclusions.csv").set_index("rule")
    assert exclusions.loc["failed attention checks", "sessions_excluded"] == 1

    # simulate: simulated participants answer it too, and the report takes their data
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    code, _, err = run_sketchlab("study", "simulate", study.config_path, "-n", "16",
                                 "--storage", db)  # fmt: skip
    assert code == 0, err
    sim_out = tmp_path / "sim.csv"
    code, _, err = run_sketchlab("study", "export", study.config_path, "--out", sim_out,
                                 "--storage", db)  # fmt: skip
    assert code == 0, err
    simulated = pd.read_csv(sim_out)
    answered = simulated[simulated["trial_type"] == REPEAT]
    assert len(answered) >= 14 and set(answered["check_kind"]) == {"repeat"}
    code, _, err = run_sketchlab("analyze", sim_out, "--out", tmp_path / "sim-report",
                                 "--allow-exclusions")  # fmt: skip
    assert code == 0, err

    assert _fingerprint() == before, "nothing but this test file defines the type"


def test_without_its_module_the_field_is_unknown(tmp_path, monkeypatch, run_sketchlab):
    path = write_synthetic_study(tmp_path)
    path.write_text(path.read_text() + f"repeat_checks: {{stimuli: [{REPEAT_STIMULUS}]}}\n")
    code, _, err = run_sketchlab("study", "check", path)
    assert code == 2 and "unknown field 'repeat_checks'" in err


def test_a_new_trial_type_is_missing_from_the_docs_table_until_regenerated(repeat_check):
    from sketchlab import doc_tables

    assert doc_tables.stale_tables(REPO) == ["trial-types"]
    row = "| `repeat_check` | `repeat_checks` | check | all | `check_kind` | Catch sketches"
    assert row in doc_tables.trial_type_table()
