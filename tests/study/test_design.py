"""The Latin-square design, per-participant ordering and option order."""

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from sketchlab.errors import BadInput
from study.assignment import validate_id
from study.config import load_study
from study.design import cells, describe, options_for, trials_for
from tests.conftest import REPO, TEST_DATA

# a fresh process: the study loaded again, eight participants' shuffled button orders as JSON
ORDERS = """
import json, sys
from study.config import load_study
from study.design import options_for
config = load_study(sys.argv[1], storage="sqlite:///:memory:")
config = config.model_copy(update={"option_order": "shuffled"})
print(json.dumps([list(options_for(config, f"P{i}", "with_none")) for i in range(8)]))
"""


@pytest.fixture(scope="module")
def config():
    return load_study(TEST_DATA / "study" / "study.yaml", storage="sqlite:///:memory:")


def test_cells_cross_condition_with_list(config):
    assert cells(config) == [(c, i) for c in ("with_none", "without_none") for i in range(4)]


def test_each_participant_sees_every_test_image_once_at_one_level(config):
    for list_id in range(4):
        trials = [
            t for t in trials_for(config, "P1", "without_none", list_id) if t.trial_type == "test"
        ]
        assert sorted(t.image_id for t in trials) == sorted(config.catalog.test_images)
        assert set(Counter(t.n_strokes for t in trials).values()) == {2}  # 8 images / 4 levels


def test_across_lists_every_image_appears_at_every_level(config):
    seen = set()
    for list_id in range(4):
        for trial in trials_for(config, "P1", "with_none", list_id):
            if trial.trial_type in ("test", "foil"):
                seen.add((trial.image_id, trial.n_strokes))
    images = config.catalog.test_images + config.catalog.foil_images
    assert seen == {(image, level) for image in images for level in (4, 8, 16, 32)}


def test_order_is_reproducible_per_participant_and_differs_between_participants(config):
    first = trials_for(config, "P1", "with_none", 2)
    assert trials_for(config, "P1", "with_none", 2) == first
    others = [trials_for(config, f"P{i}", "with_none", 2) for i in range(2, 8)]
    assert any([t.stimulus_id for t in o] != [t.stimulus_id for t in first] for o in others)
    assert [t.trial_index for t in first] == list(range(len(first)))


def test_practice_first_then_checks_spread_through_the_main_trials(config):
    trials = trials_for(config, "P9", "with_none", 1)
    assert trials[0].trial_type == "practice" and trials[0].feedback
    attention = [t.trial_index for t in trials if t.trial_type == "attention"]
    assert len(attention) == 2 and 1 < attention[0] < attention[1] - 1 < len(trials) - 2
    instructional = [t for t in trials if t.prompt]
    assert instructional[0].correct_response == "car" and "car" in instructional[0].prompt


def test_foils_only_with_none_and_their_answer_is_none(config):
    with_none = trials_for(config, "P1", "with_none", 0)
    without = trials_for(config, "P1", "without_none", 0)
    foils = [t for t in with_none if t.trial_type == "foil"]
    assert len(foils) == 1 and foils[0].correct_response == "none" and foils[0].true_class == "bird"
    assert not [t for t in without if t.trial_type == "foil"]
    assert all(t.options[-1] == "none" for t in with_none)
    assert all("none" not in t.options for t in without)


def test_shuffled_option_order_is_per_participant_and_stable(config):
    shuffled = config.model_copy(update={"option_order": "shuffled"})
    orders = {options_for(shuffled, f"P{i}", "with_none") for i in range(20)}
    assert len(orders) > 1
    assert all(
        order[-1] == "none" and sorted(order[:-1]) == sorted(config.options) for order in orders
    )
    assert options_for(config, "P3", "without_none") == tuple(config.options)


def test_a_participants_option_order_is_the_same_in_every_process(config):
    """A participant who reloads on another server process (another PYTHONHASHSEED, a fresh
    config) gets the buttons in the order they first saw; another salt gives other orders."""
    shuffled = config.model_copy(update={"option_order": "shuffled"})
    here = [list(options_for(shuffled, f"P{i}", "with_none")) for i in range(8)]
    elsewhere = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", ORDERS, str(TEST_DATA / "study" / "study.yaml")],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
                env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            ).stdout
        )
        for seed in ("1", "2")
    ]
    assert elsewhere == [here, here]
    resalted = shuffled.model_copy(update={"seed_salt": f"{shuffled.salt}-other"})
    assert [list(options_for(resalted, f"P{i}", "with_none")) for i in range(8)] != here


def test_describe_reports_cells_trials_and_duration(config):
    info = describe(config)
    assert len(info["cells"]) == 8
    assert info["conditions"]["with_none"]["trials"] == 12
    assert info["conditions"]["without_none"]["trials"] == 11
    assert info["conditions"]["with_none"]["expected_minutes"] > 0


@pytest.mark.parametrize(
    "bad", ["", "a" * 65, "<b>x</b>", "p1;drop table", "p 1", "é", None, 5, "../etc"]
)
def test_tampered_participant_ids_are_refused(bad):
    with pytest.raises(BadInput):
        validate_id(bad)


def test_prolific_style_ids_are_accepted():
    assert validate_id("5f8a9b2c3d4e5f6a7b8c9d0e") == "5f8a9b2c3d4e5f6a7b8c9d0e"
    assert validate_id("a" * 64)
