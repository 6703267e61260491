"""One timing policy (study/timing.py): the app's minimum answer time, the `too_fast` flag and the
analysis's speed rules all derive from study.yaml's `min_answer_ms`, so that each of them can
fire on the app's own data (before, with the defaults, the flag at 200 ms and the analysis's
150 ms could never see an answer the app's 250 ms minimum let through)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.responses import validate_responses
from sketchlab.commands.analyze import exclusion_rules
from study.export import responses_table, review_table
from study.flow import ParticipantFlow
from study.timing import TimingPolicy
from tests.study.conftest import Study

T = timedelta(milliseconds=1)


def _answer_after(flow: ParticipantFlow, ms: int) -> bool:
    trial = flow.current_trial
    shown = flow.shown_at(trial.trial_index)
    return flow.answer(trial.trial_index, trial.correct_response, shown + ms * T)


@pytest.mark.parametrize("min_answer_ms", [None, 100])
def test_each_threshold_fires_on_the_apps_own_answers(tmp_path, monkeypatch, min_answer_ms):
    options = {} if min_answer_ms is None else {"min_answer_ms": min_answer_ms}
    study = Study(tmp_path, monkeypatch, **options)
    if min_answer_ms is None:  # the Study helper sets 0 for AppTest: back to the default
        study.config = study.config.model_copy(update={"min_answer_ms": 250})
    timing = TimingPolicy(study.config.min_answer_ms)
    assert timing.too_fast_ms == study.config.min_answer_ms + 250
    flow = ParticipantFlow.open(study.config, study.storage, "p1")
    flow.consent(True)
    flow.finish_instructions()
    while flow.current_trial.trial_type != "test":
        assert _answer_after(flow, timing.too_fast_ms + 900)
    fast = flow.current_trial.trial_index
    assert not _answer_after(flow, timing.min_answer_ms - 10), "the app ignores it"
    assert _answer_after(flow, timing.min_answer_ms + 50), "stored, but too fast"
    while flow.current_trial is not None:
        assert _answer_after(flow, timing.too_fast_ms + 900)
    rows = responses_table(study.storage)
    assert rows.loc[rows["too_fast"] == 1, "trial_index"].tolist() == [fast], "the flag fires"
    flags = review_table(study.config, study.storage).set_index("participant_id")["flags"]
    assert "too_fast=1" in flags["p1"]

    rules = ExclusionRules(min_rt_ms=timing.too_fast_ms, min_median_rt_ms=timing.too_fast_ms)
    excluded = apply_exclusions(validate_responses(rows), rules).table.set_index("rule")
    assert excluded.loc["too fast (answer)", "test_trials_excluded"] == 1, "the analysis too"


def test_the_analysis_defaults_to_the_study_timing(tmp_path, monkeypatch):
    assert ExclusionRules().min_rt_ms == ExclusionRules().min_median_rt_ms == 500
    study = Study(tmp_path, monkeypatch, min_answer_ms=400)
    rules = exclusion_rules(study.config_path)
    assert rules.min_rt_ms == rules.min_median_rt_ms == 650
    assert exclusion_rules(study.config_path, min_rt_ms=0).min_rt_ms is None, "0 switches off"


def test_a_participant_whose_median_is_under_the_too_fast_time_is_excluded():
    rows = pd.DataFrame(
        {
            "participant_id": ["fast"] * 3 + ["slow"] * 3,
            "condition": "without_none",
            "trial_type": "test",
            "true_class": "cat",
            "n_strokes": 4,
            "response": "cat",
            "correct": 1,
            "options_shown": "cat|dog",
            "rt_ms": [300, 420, 2000, 1500, 1800, 2100],
        }
    )
    excluded = apply_exclusions(validate_responses(rows), ExclusionRules(incomplete=False))
    table = excluded.table.set_index("rule")
    assert table.loc["too fast (participant)", "sessions_excluded"] == 1
