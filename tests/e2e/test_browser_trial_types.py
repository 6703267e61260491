"""Confidence ratings and free naming in Chromium against a real `sketchlab study serve`
process: every rating button on screen on a small phone and a desktop, ratings by number key,
click and tap stored with the answer and their own answer time, a held key that gives neither
a second answer nor a rating, and typed names stored as typed with their match. Helpers and
waits are test_browser.py's."""

from __future__ import annotations

import time

import pytest

from study.design import trials_for
from study.trial_types.naming import matcher
from tests.e2e.test_browser import (
    ANSWERS,
    ARTIFACTS,
    act_and_wait,
    buttons_on_screen,
    open_on_screen,
    open_trials,
    serve,
    settle,
    shown_trial,
    wait_for_trial,
)

pytestmark = pytest.mark.browser

SCALE = 5
SCREENS = {"phone-320x568": (320, 568, True), "desktop-1280x800": (1280, 800, False)}
WAITED_S = 1.5
"""How long one rating is held back: its answer time must show it."""


@pytest.fixture(scope="module")
def rated_study(tmp_path_factory):
    """Forced choice with a 1-5 rating after each answer; answers count at once (the key
    guard, not the minimum answer time, must stop a held key)."""
    folder = tmp_path_factory.mktemp("rated")
    options = {"conditions": ("without_none",), "images_per_class": 1, "min_answer_ms": 0}
    with serve(folder, confidence_scale=SCALE, **options) as study:
        yield study


@pytest.fixture(scope="module")
def named_study(tmp_path_factory):
    """Only the naming condition, with ratings after the typed answers too."""
    folder = tmp_path_factory.mktemp("named")
    options = {"conditions": (), "naming": True, "images_per_class": 1, "min_answer_ms": 0}
    with serve(folder, confidence_scale=SCALE, **options) as study:
        yield study


def rating_buttons(trial_index: int) -> str:
    return f"[class*=st-key-confidence-{trial_index}-] [data-testid=stButton] button"


def wait_for_rating(page, trial_index: int) -> None:
    page.wait_for_selector(f"#sk-rating-{trial_index}", timeout=30_000)
    settle(page)


def after_rating(page, trial, trials) -> None:
    """Wait for what follows a rating: practice feedback (continued), the next trial or the
    end."""
    if trial.feedback:
        act_and_wait(
            page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1 of"
        )
    elif trial.trial_index + 1 < len(trials):
        wait_for_trial(page, trial.trial_index + 1)
    else:
        page.get_by_text("Thank you!").wait_for(timeout=30_000)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_ratings_by_key_click_and_tap_are_stored_with_their_own_time(rated_study, browser, screen):
    storage = rated_study[2]
    phone = SCREENS[screen][2]
    context, page, participant_id, trials = open_on_screen(browser, screen, rated_study, "rate")
    expected, by_key = {}, set()
    for trial in trials:
        index = trial.trial_index
        wait_for_trial(page, index)
        position = index % len(trial.options)
        if trial.dictated:
            position = trial.options.index(trial.correct_response)
        keyed = not phone and index % 2 == 1
        if keyed:
            page.keyboard.press(str(position + 1))
        elif phone:
            page.locator(ANSWERS).nth(position).tap()
        else:
            page.locator(ANSWERS).nth(position).click()
        rating = None
        if not trial.dictated:
            wait_for_rating(page, index)
            where = buttons_on_screen(page, rating_buttons(index))
            assert where["count"] == SCALE, f"{screen}, trial {index}"
            assert where["inside"], f"{screen}, trial {index}: a rating button is off screen"
            assert where["scrolled"] == 0 and where["questionTop"] >= 0, (
                "the page starts at the top"
            )
            assert not where["wide"], "no sideways scrolling"
            if index == 1:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"study-rating-{screen}.png"))
                time.sleep(WAITED_S)
            rating = index % SCALE + 1
            if keyed:
                by_key.add(index)
                page.keyboard.press(str(rating))
            elif phone:
                page.locator(rating_buttons(index)).nth(rating - 1).tap()
            else:
                page.locator(rating_buttons(index)).nth(rating - 1).click()
        expected[index] = (trial.options[position], rating)
        after_rating(page, trial, trials)
    context.close()
    rows = storage.responses_of(participant_id)
    assert {i: (row["response"], row["confidence"]) for i, row in rows.items()} == expected
    assert storage.get_participant(participant_id).status == "completed"
    for index, (_, rating) in expected.items():
        row = rows[index]
        assert row["rt_ms"] is not None and row["rt_ms"] >= 0
        if rating is None:
            assert row["confidence_rt_ms"] is None
        else:
            assert 0 <= row["confidence_rt_ms"] < 60_000
    assert rows[1]["confidence_rt_ms"] >= 1000 * WAITED_S, "the rating's own time"
    assert phone or by_key, "some ratings were given by number key"


def hold(page, key: str, seconds: float) -> None:
    """Hold `key` down as a keyboard does: a keydown, then auto-repeated keydowns every
    ~30 ms (each with `repeat` set), then the release."""
    page.keyboard.down(key)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(0.03)
        page.keyboard.down(key)
    page.keyboard.up(key)


def test_a_held_key_gives_one_answer_and_no_rating(rated_study, browser):
    base_url, config, storage = rated_study
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_trials(page, base_url, "hold-rating")
    page.locator(ANSWERS).first.click()
    wait_for_rating(page, 0)
    page.locator(rating_buttons(0)).first.click()
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1")
    current = shown_trial(page)
    hold(page, "2", 1.5)  # answers the trial; its repeats must not rate it
    wait_for_rating(page, current)
    time.sleep(1.0)  # anything still on its way arrives
    settle(page)
    row = storage.responses_of("hold-rating")[current]
    assert row["response"] is not None and row["confidence"] is None, "no rating by repeat"
    hold(page, "4", 1.5)  # rates it; its repeats must not answer the next trial
    wait_for_trial(page, current + 1)
    time.sleep(1.0)
    settle(page)
    rows = storage.responses_of("hold-rating")
    assert rows[current]["confidence"] == 4
    assert sorted(rows) == list(range(current + 1)), "the next trial is not answered"
    assert shown_trial(page) == current + 1
    page.close()


def test_typed_names_are_stored_as_typed_with_their_match(named_study, browser):
    base_url, config, storage = named_study
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_trials(page, base_url, "typist")
    participant = storage.get_participant("typist")
    assert participant.condition == "naming"
    trials = trials_for(config, "typist", participant.condition, participant.list_id)
    variants = ("{} ", "{}S", "blob", "a {}")  # case and spaces, plural, nothing, an article
    typed = {}
    for trial in trials:
        index = trial.trial_index
        wait_for_trial(page, index)
        assert not page.locator(ANSWERS).count(), "no class buttons in the naming condition"
        text = variants[index % len(variants)].format(trial.true_class.upper())
        if trial.dictated:
            text = trial.correct_response
        box = page.locator(".st-key-trial input[type=text]")
        if index == 1:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "study-naming-desktop.png"))
        box.fill(text)
        if index % 2:
            box.press("Enter")
        else:
            page.get_by_role("button", name="Continue").click()
        typed[index] = text.strip()
        wait_for_rating(page, index)
        page.keyboard.press("3")
        after_rating(page, trial, trials)
    page.close()
    rows = storage.responses_of("typist")
    assert sorted(rows) == [trial.trial_index for trial in trials]
    names = matcher(config)
    kinds = set()
    for index, text in typed.items():
        row = rows[index]
        found = names.match(text)
        assert row["typed_response"] == text
        assert row["naming_match"] == found.kind
        assert row["response"] == (found.class_name or found.answer)
        assert row["confidence"] == 3 and row["confidence_rt_ms"] is not None
        kinds.add(found.kind)
    assert {"exact", "unmatched"} <= kinds
    assert storage.get_participant("typist").status == "completed"
