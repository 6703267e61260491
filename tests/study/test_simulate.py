"""Simulated participants: the response model's calibration as the simulator draws from it, and
the simulator going through the real flow and storage (balanced cells, statuses, reproducible
answers)."""

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from sketchlab.reference import paper_numbers
from study.config import load_study
from study.design import Trial
from study.export import responses_table
from study.response_model import paper_model
from study.simulate import Responder, simulate
from study.storage import Storage
from tests.conftest import TEST_DATA

START = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)
OPTIONS = ("cat", "dog", "car", "chair", "horse")


@pytest.fixture(scope="module")
def config():
    return load_study(TEST_DATA / "study" / "study.yaml", "sqlite:///:memory:", verify_images=False)


def _trial(level: int, with_none: bool, trial_type="test", true_class="dog", image="i") -> Trial:
    options = OPTIONS + (("none",) if with_none else ())
    correct = "none" if trial_type == "foil" else true_class
    return Trial(0, trial_type, "s", image, true_class, level, Path("x.png"), options, correct)


def _rates(config, level, with_none, trial_type="test", n=4000, true_class=None, image=None):
    """Mean accuracy and none rate over n attentive simulated participants, one trial each, of
    a new image each (or of `image`): the population the paper's numbers describe."""
    model = paper_model([4, 8, 16, 32])
    rng = np.random.default_rng(level * 10 + with_none)
    correct = nones = count = 0
    for i in range(n):
        responder = Responder(model, config, 0, np.random.default_rng(rng.integers(2**63)))
        responder.condition = "with_none" if with_none else "without_none"
        if responder.inattentive:
            continue
        trial = _trial(level, with_none, trial_type, true_class or OPTIONS[i % len(OPTIONS)],
                       image or f"image{i}")  # fmt: skip
        response = (
            responder.judge_foil(trial) if trial_type == "foil" else responder.recognise(trial)
        )
        assert 0.3 <= responder.seconds(trial, response) < 60
        correct += response == trial.correct_response
        nones += response == "none"
        count += 1
    return correct / count, nones / count


@pytest.mark.parametrize("level", [4, 8, 16, 32])
def test_paper_model_reproduces_the_reported_accuracy_with_none(config, level):
    target = paper_numbers()["human_category_recognition"]["with_none"][str(level)]
    accuracy, _ = _rates(config, level, with_none=True)
    assert accuracy == pytest.approx(target, abs=0.025)


def test_paper_model_reproduces_76_percent_without_none_at_4_strokes(config):
    accuracy, none_rate = _rates(config, 4, with_none=False)
    assert accuracy == pytest.approx(0.76, abs=0.025)
    assert none_rate == 0


def test_paper_model_none_rate_falls_with_strokes_and_foils_get_none(config):
    none_4 = _rates(config, 4, with_none=True, n=2000)[1]
    none_32 = _rates(config, 32, with_none=True, n=2000)[1]
    assert 0.45 < none_4 < 0.7 and none_32 < 0.02
    foil_accuracy, _ = _rates(
        config, 16, with_none=True, trial_type="foil", n=2000, true_class="bird"
    )
    assert foil_accuracy > 0.9


def test_images_differ_in_recognisability(config):
    by_image = [_rates(config, 4, False, n=600, image=f"img{k}")[0] for k in range(6)]
    assert max(by_image) - min(by_image) > 0.2


def _run(config, tmp_path: Path, name: str, n: int, seed: int):
    storage = Storage(f"sqlite:///{tmp_path / name}", config.study_id)
    summary = simulate(config, storage, n, "paper", seed, start=START)
    return storage, summary


def test_simulation_goes_through_flow_and_storage(config, tmp_path):
    storage, summary = _run(config, tmp_path, "a.db", 48, seed=1)
    try:
        participants = storage.participants_frame()
        responses = responses_table(storage)
        assert summary.participants == len(participants) == 48
        assert summary.responses_written == len(responses) == participants["n_answered"].sum()
        assert set(participants["status"]) <= {
            "completed",
            "declined",
            "failed_attention",
            "in_progress",
            "timed_out",
        }
        assert (participants["status"] == "completed").sum() >= 40
        assigned = participants.dropna(subset=["condition"])
        counts = assigned.groupby(["condition", "list_id"]).size()
        assert len(counts) == 8 and counts.max() - counts.min() <= 2
        assert not responses.duplicated(["participant_id", "trial_index"]).any()
        assert responses["rt_ms"].between(250, 60000).all()
        assert set(responses["trial_type"]) == {"practice", "test", "attention", "foil"}
        with_none = responses[responses["condition"] == "with_none"]
        assert set(with_none["options_shown"].str.split("|").str[-1]) == {"none"}
    finally:
        storage.close()


def test_same_seed_gives_the_same_answers(config, tmp_path):
    first, _ = _run(config, tmp_path, "a.db", 12, seed=5)
    second, _ = _run(config, tmp_path, "b.db", 12, seed=5)
    third, _ = _run(config, tmp_path, "c.db", 12, seed=6)
    try:
        columns = ["participant_id", "trial_index", "stimulus_id", "response", "rt_ms"]
        a, b = first.responses_frame()[columns], second.responses_frame()[columns]
        assert a.equals(b)
        c = third.responses_frame()
        assert list(c["response"]) != list(a["response"])
    finally:
        for storage in (first, second, third):
            storage.close()


def test_rerunning_the_same_simulation_writes_nothing_new(config, tmp_path):
    storage, first = _run(config, tmp_path, "a.db", 10, seed=2)
    try:
        again = simulate(config, storage, 10, "paper", 2, start=START)
        assert again.responses_written == 0
        assert storage.count_responses() == first.responses_written
    finally:
        storage.close()
