"""The trial layout in Chromium for every option count a study may have (2 to 12 classes plus
"None of these") at the screens of study/layout.py, the layout model `study check` warns
from, and the decline confirmation on a phone. Helpers and fixtures are test_browser.py's."""

from __future__ import annotations

import pytest

from study.layout import SCREENS, TrialShape, fits
from study.synthetic import MORE_CLASSES, SYNTHETIC_CLASSES
from tests.e2e.test_browser import (
    ANSWERS,
    ARTIFACTS,
    act_and_wait,
    buttons_on_screen,
    open_trials,
    serve,
    settle,
    wait_for_trial,
)

pytestmark = pytest.mark.browser

LONG_NAMES = (
    "nuclear powered aircraft carrier", "ski resort chairlift with safety bar",
    "porcelain coffee cup with saucer", "detached family house with garden",
    "old weeping willow tree by a lake", "tropical hummingbird in flight",
    "convertible sports car with roof down", "antique grandfather clock",
    "striped tropical angelfish", "wide brimmed straw sun hat", "antique iron skeleton key",
    "red high heeled party shoe",
)  # fmt: skip
"""Twelve long class names: at 320 x 568 their buttons cannot all be on screen."""


def first_test_trial(browser, base_url: str, participant_id: str, phone: bool):
    """A page (phone or desktop) at the first trial after the practice."""
    context = browser.new_context(
        viewport={"width": 375, "height": 667} if phone else {"width": 1280, "height": 800},
        is_mobile=phone,
        has_touch=phone,
    )
    page = context.new_page()
    open_trials(page, base_url, participant_id)
    page.locator(ANSWERS).first.click()
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1")
    wait_for_trial(page, 1)
    return context, page


def layout_at(page, width: int, height: int) -> dict:
    """The buttons (all inside the window?) and the sketch, at this window size."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(f"innerWidth === {width} && innerHeight === {height}")
    settle(page)
    where = buttons_on_screen(page)
    where.update(
        page.evaluate(
            """(selector) => {
              const sketch = document.querySelector('.sk-sketch').getBoundingClientRect();
              const overlap = [...document.querySelectorAll(selector)].some(b => {
                const r = b.getBoundingClientRect();
                return r.left < sketch.right - 1 && sketch.left < r.right - 1
                  && r.top < sketch.bottom - 1 && sketch.top < r.bottom - 1;
              });
              return {sketch: sketch.height, overlap: overlap};
            }""",
            ANSWERS,
        )
    )
    return where


@pytest.mark.parametrize("n_classes", [2, 6, 8, 12])
def test_every_button_is_on_screen_for_every_option_count(tmp_path, browser, n_classes):
    classes = (SYNTHETIC_CLASSES + MORE_CLASSES)[:n_classes]
    with serve(
        tmp_path,
        min_answer_ms=0,
        n_classes=n_classes,
        conditions=("with_none",),
        time_limit_s=600,  # the countdown takes room too
    ) as (base_url, config, _):
        shape = TrialShape((*classes, config.none_label), True, config.question, True)
        for phone, screens in ((True, SCREENS[:-1]), (False, SCREENS[-1:])):
            context, page = first_test_trial(browser, base_url, f"n{n_classes}{phone}", phone)
            for width, height in screens:
                where = layout_at(page, width, height)
                screen = f"{n_classes} options + None at {width}x{height}"
                assert where["count"] == n_classes + 1
                assert where["inside"], f"{screen}: a button is off screen"
                assert not where["wide"] and not where["overlap"], screen
                assert where["sketch"] >= 112, f"{screen}: the sketch keeps its minimum size"
                assert fits(shape, width, height), f"{screen}: `study check` agrees"
                if width == 320 and n_classes == 12:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "study-trial-12-options-320x568.png"))
            context.close()


def test_when_the_buttons_cannot_fit_the_page_scrolls_and_check_knows(tmp_path, browser):
    with serve(tmp_path, min_answer_ms=0, classes=LONG_NAMES, conditions=("with_none",)) as (
        base_url,
        config,
        _,
    ):
        shape = TrialShape((*LONG_NAMES, config.none_label), True, config.question, False)
        context, page = first_test_trial(browser, base_url, "long1", phone=True)
        small = layout_at(page, 320, 568)
        assert not small["inside"] and not fits(shape, 320, 568), "both see it does not fit"
        assert not small["overlap"], "the buttons never cover the sketch: the page scrolls"
        assert small["sketch"] >= 112
        larger = layout_at(page, 360, 640)
        assert larger["inside"] and fits(shape, 360, 640), "from 360 x 640 up it fits"
        context.close()


def test_the_decline_confirmation_is_on_screen_on_a_phone(tmp_path, browser):
    consent = "\n\n".join(
        f"**Section {n}.** This paragraph stands for the details a real consent form gives: "
        "who runs the study, what it involves, the pay, the data kept and your rights."
        for n in range(1, 13)
    )
    with serve(tmp_path, min_answer_ms=0, consent=consent) as (base_url, _, storage):
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.goto(f"{base_url}/?PROLIFIC_PID=decline1&STUDY_ID=st1&SESSION_ID=se1")
        settle(page)
        act_and_wait(
            page, lambda: page.get_by_role("button", name="I do not agree").click(), "Are you sure"
        )
        page.wait_for_timeout(300)  # any scrolling done
        for name in ("Yes, I do not want to take part", "Back to the consent form"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box and 0 <= box["y"] <= box["y"] + box["height"] <= 640, f"{name} off screen"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "study-decline-confirmation-phone.png"))
        assert storage.get_participant("decline1") is None, "nothing is declined yet"
        context.close()
