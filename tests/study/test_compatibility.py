"""Trial types as plugins changed nothing a running study or an analysis script relies on:
every existing study.yaml loads, every participant keeps the trial order they had, and an
export of the same stored data (a database `study simulate` wrote with main before the change,
tests/data/compat/) has every column it had, unchanged and in the same order, with the new
columns after them."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from study.config import load_study
from study.design import cells, trials_for
from study.synthetic import write_synthetic_study
from tests.conftest import REPO, TEST_DATA

COMPAT = TEST_DATA / "compat"


@pytest.fixture
def golden_db(tmp_path):
    copy = tmp_path / "golden.db"
    shutil.copy(COMPAT / "golden.db", copy)
    return f"sqlite:///{copy}"


def test_an_export_of_the_same_data_keeps_every_column_and_value(
    golden_db, tmp_path, run_sketchlab
):
    out = tmp_path / "responses.csv"
    study = REPO / "data" / "study.yaml"
    code, _, err = run_sketchlab("study", "export", study, "--out", out, "--storage", golden_db)
    assert code == 0, err
    added = {}
    for name in ("responses.csv", "responses.participants.csv"):
        before = pd.read_csv(COMPAT / name, dtype=str, keep_default_na=False)
        after = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
        old = list(before.columns)
        assert list(after.columns)[: len(old)] == old, f"{name}: new columns only after the old"
        pd.testing.assert_frame_equal(after[old], before, obj=name)
        added[name] = after[list(after.columns)[len(old) :]]
    assert not added["responses.participants.csv"].columns.size
    new = added["responses.csv"]
    assert list(new.columns) == ["confidence", "confidence_rt_ms", "typed_response",
                                 "naming_match"]  # fmt: skip
    assert (new == "").all().all(), "rows of a study without the new types have them empty"

    review = tmp_path / "review.csv"
    code, _, err = run_sketchlab(
        "study", "export", study, "--participants", "--out", review, "--storage", golden_db
    )
    assert code == 0, err
    pd.testing.assert_frame_equal(
        pd.read_csv(review, dtype=str, keep_default_na=False),
        pd.read_csv(COMPAT / "review.csv", dtype=str, keep_default_na=False),
    )


def test_every_participant_keeps_their_trial_order():
    golden = json.loads((COMPAT / "trial_orders.json").read_text())
    for name, path in (("example", REPO / "data" / "study.yaml"),
                       ("test", TEST_DATA / "study" / "study.yaml")):  # fmt: skip
        config = load_study(path, storage="sqlite:///:memory:", verify_images=False)
        for condition, list_id in cells(config):
            for pid in ("P1", "sim-7-00003", "abc"):
                now = [
                    [t.trial_type, t.stimulus_id, list(t.options), t.correct_response, t.prompt,
                     t.feedback]
                    for t in trials_for(config, pid, condition, list_id)
                ]  # fmt: skip
                assert now == golden[name][f"{condition}/{list_id}/{pid}"], (name, pid)


def test_every_existing_kind_of_study_yaml_still_loads(tmp_path):
    """The example (outcomes), the test study and the older `completion:` form of the
    synthetic study (`sketchlab init`'s: tests/cli/test_init.py)."""
    load_study(REPO / "data" / "study.yaml", storage="sqlite:///:memory:")
    load_study(TEST_DATA / "study" / "study.yaml", storage="sqlite:///:memory:")
    old_form = write_synthetic_study(tmp_path / "synthetic", time_limit_s=20, min_answer_ms=100)
    config = load_study(old_form)
    assert config.completion is not None and config.confidence is None and config.naming is None
