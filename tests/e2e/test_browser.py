"""Participants take the study in Chromium against a real `sketchlab study serve` process.

Waits follow Streamlit's own e2e suite: poll `/_stcore/health`, then after every action wait
for the page to change and for `[data-testid=stApp][data-test-script-state=notRunning]`.
Screenshots of trial pages (desktop, phones, a phone on its side) go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from study.config import load_study
from study.design import trials_for
from study.protocol import free_port, start_server, stop_process, wait_for_health
from study.storage import Storage, parse_iso, utc_now
from study.synthetic import COMPLETION_CODE, write_synthetic_study

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CONNECTED = "[data-testid=stApp][data-test-connection-state=CONNECTED]"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
ANSWERS = "[class*=st-key-answers] [data-testid=stButton] button"
SCREENS = {  # name: (width, height, phone)
    "phone-320x568": (320, 568, True),
    "phone-360x640": (360, 640, True),
    "phone-375x667": (375, 667, True),
    "phone-landscape-667x375": (667, 375, True),
    "desktop-1280x800": (1280, 800, False),
}


@contextmanager
def serve(folder: Path, port: int | None = None, **options):
    """(base URL, config, storage) of a synthetic study served on a loopback port."""
    port = port or free_port()
    config_path = write_synthetic_study(folder, **options)
    storage_url = f"sqlite:///{folder / 'study.sqlite'}"
    server = start_server(config_path, storage_url, port, folder / "server.log")
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, server)
        config = load_study(config_path, storage=storage_url)
        yield base_url, config, Storage(config.storage, config.study_id)
    finally:
        stop_process(server)


@pytest.fixture(scope="module")
def served_study(tmp_path_factory):
    """A study whose answers count at once (these tests click as soon as a trial shows);
    its "Prolific" completion redirect points back at this server's health page."""
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/_stcore/health?cc=C1234ABC"
    folder = tmp_path_factory.mktemp("browser-study")
    with serve(folder, port, min_answer_ms=0, redirect_url=redirect) as study:
        yield study


LIMIT_S = 8
MIN_ANSWER_S = 3


@pytest.fixture(scope="module")
def timed_study(tmp_path_factory):
    """A time limit, and answers within MIN_ANSWER_S of a trial being drawn are ignored
    (wide, so a slow test machine cannot let the double-press test pass by accident)."""
    folder = tmp_path_factory.mktemp("timed")
    with serve(folder, time_limit_s=LIMIT_S, min_answer_ms=1000 * MIN_ANSWER_S) as study:
        yield study


def settle(page) -> None:
    """Wait until the app is connected and no script run is in progress."""
    page.wait_for_selector("[data-testid=stAppViewContainer]", timeout=30_000)
    page.wait_for_selector(CONNECTED, timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stSkeleton]').length === 0")


def act_and_wait(page, action, expect_text: str) -> None:
    """Do `action` (a click or key press), then wait for `expect_text` and a finished run."""
    action()
    page.get_by_text(expect_text, exact=False).first.wait_for(timeout=30_000)
    settle(page)


def open_trials(page, base_url: str, participant_id: str) -> None:
    page.goto(f"{base_url}/?PROLIFIC_PID={participant_id}&STUDY_ID=st1&SESSION_ID=se1")
    settle(page)
    act_and_wait(
        page,
        lambda: page.get_by_role("button", name="I agree to take part").click(),
        "You will see simple line drawings",
    )
    act_and_wait(page, lambda: page.get_by_role("button", name="Start").click(), "Practice 1 of")


def open_on_screen(browser, screen: str, study, prefix: str):
    """A participant (`prefix` + the screen size) on `screen` (SCREENS) past consent and
    instructions: (the browser context, its page, the participant's id and trials)."""
    base_url, config, storage = study
    width, height, phone = SCREENS[screen]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
    )
    page = context.new_page()
    participant_id = f"{prefix}{width}x{height}"
    open_trials(page, base_url, participant_id)
    participant = storage.get_participant(participant_id)
    trials = trials_for(config, participant_id, participant.condition, participant.list_id)
    return context, page, participant_id, trials


def option_button(page, label: str):
    return page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}\b"))


def shown_trial(page) -> int:
    """The index of the trial on screen (from its element's id)."""
    element_id = page.locator("[id^=sk-trial-]").get_attribute("id", timeout=30_000)
    return int(element_id.removeprefix("sk-trial-"))


def wait_for_trial(page, trial_index: int) -> None:
    page.wait_for_selector(f"#sk-trial-{trial_index}", timeout=30_000)
    settle(page)


def test_participant_completes_study_in_chromium(served_study, browser):
    base_url, config, storage = served_study
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    open_trials(page, base_url, "browser1")
    participant = storage.get_participant("browser1")
    trials = trials_for(config, "browser1", participant.condition, participant.list_id)
    n_main = len(trials) - 1
    label = {
        option: ("None of these" if option == "none" else option) for option in trials[0].options
    }
    expected = {}
    for trial in trials:
        main_index = trial.trial_index - 1
        after = (
            "The real study works"
            if trial.trial_type == "practice"
            else f"Sketch {main_index + 2} of {n_main}"
            if main_index + 1 < n_main
            else "Thank you!"
        )
        if main_index == 0:
            ARTIFACTS.mkdir(exist_ok=True)
            page.mouse.move(0, 0)  # no hover highlight left over from the last click
            page.screenshot(path=str(ARTIFACTS / "study-trial-desktop.png"))
            html = page.content()
            for secret in (trial.stimulus_id, trial.image_id, trial.image_path.name):
                assert secret not in html, "the page must not name the stimulus"
            assert re.search(
                r'<img class="sk-sketch" alt="sketch" src="data:image/png;base64,', html
            )
        if trial.trial_index % 3 == 1:  # some answers by keyboard shortcut: "1" = first button
            choice = trial.options[0]
            act_and_wait(page, lambda: page.keyboard.press("1"), after)
        else:
            choice = trial.options[trial.trial_index % len(trial.options)]
            act_and_wait(page, lambda c=choice: option_button(page, label[c]).click(), after)
        expected[trial.trial_index] = choice
        if trial.trial_type == "practice":  # Enter continues after the feedback
            act_and_wait(page, lambda: page.keyboard.press("Enter"), f"Sketch 1 of {n_main}")
    assert COMPLETION_CODE in page.content()
    page.screenshot(path=str(ARTIFACTS / "study-done-desktop.png"))
    page.wait_for_url("**/_stcore/health?cc=C1234ABC", timeout=20_000)  # redirected to "Prolific"
    page.close()

    rows = storage.responses_of("browser1")
    assert {index: row["response"] for index, row in rows.items()} == expected
    assert storage.get_participant("browser1").status == "completed"
    assert storage.count_responses() == len(trials), "exactly one row per trial, nothing else"


def buttons_on_screen(page, selector: str = ANSWERS) -> dict:
    """Where the answer buttons (or those of `selector`) are, against the viewport and the
    page's scroll position."""
    return page.evaluate(
        """(selector) => {
          const boxes = [...document.querySelectorAll(selector)]
            .map(b => b.getBoundingClientRect());
          const question = document.querySelector('.sk-question').getBoundingClientRect();
          const main = document.querySelector('[data-testid=stMain]');
          return {
            count: boxes.length,
            inside: boxes.every(r => r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
                                     && r.right <= innerWidth && r.height > 20),
            questionTop: question.top,
            scrolled: window.scrollY + (main ? main.scrollTop : 0),
            wide: document.documentElement.scrollWidth > innerWidth,
          };
        }""",
        selector,
    )


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_button_is_on_screen_on_every_trial(served_study, browser, screen):
    storage = served_study[2]
    width, height, _ = SCREENS[screen]
    context, page, participant_id, trials = open_on_screen(browser, screen, served_study, "screen")
    for trial in trials:
        wait_for_trial(page, trial.trial_index)
        where = buttons_on_screen(page)
        assert where["count"] == len(trial.options)
        assert where["inside"], f"{screen}, trial {trial.trial_index}: a button is off screen"
        assert where["scrolled"] == 0 and where["questionTop"] >= 0, "the page starts at the top"
        assert not where["wide"], "no sideways scrolling"
        if trial.trial_index == 1:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"study-trial-{screen}.png"))
        page.locator(ANSWERS).last.click()  # "None of these" where there is one
        if trial.feedback:
            page.get_by_role("button", name="Continue").click()
    page.get_by_text("Thank you!").wait_for(timeout=30_000)
    context.close()
    stored = storage.get_participant(participant_id)
    assert (stored.viewport_width, stored.viewport_height) == (width, height)
    assert stored.screen_width > 0 and stored.screen_height > 0


def test_trial_page_survives_a_reload_on_a_phone(served_study, browser):
    base_url, _, storage = served_study
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    open_trials(page, base_url, "phone1")
    act_and_wait(page, lambda: option_button(page, "boat").click(), "The real study works")
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1 of")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "study-trial-phone.png"))
    assert page.locator(".sk-sketch").bounding_box()["width"] > 200, "the sketch is large"
    option_button(page, "chair").click()
    page.get_by_text("Sketch 2 of", exact=False).first.wait_for(timeout=30_000)
    page.reload()  # a reload resumes at the next unanswered trial
    settle(page)
    page.get_by_text("Sketch 2 of", exact=False).first.wait_for(timeout=30_000)
    context.close()
    assert sorted(storage.responses_of("phone1")) == [0, 1]


def test_the_clicked_button_does_not_look_chosen_on_the_next_trial(served_study, browser):
    base_url, _, _ = served_study
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_trials(page, base_url, "hover1")
    page.locator(ANSWERS).first.click()
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1")
    for trial_index in (1, 2, 3):
        button = page.locator(ANSWERS).nth(1)
        box = button.bounding_box()
        normal = button.evaluate("b => getComputedStyle(b).backgroundColor")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        wait_for_trial(page, trial_index + 1)
        under_pointer = page.locator(ANSWERS).nth(1)  # the mouse has not moved
        assert under_pointer.evaluate("b => getComputedStyle(b).backgroundColor") == normal
        assert page.evaluate("document.activeElement === document.body"), "no focus left over"
    page.mouse.move(10, 10)
    page.mouse.move(400, 300)  # once the pointer moves, hovering looks as usual again
    assert page.evaluate("!document.body.classList.contains('sk-fresh')")
    page.close()


def timer(page) -> dict:
    """The countdown element of the trial on screen, its animation, and the share of the
    bar still full (the time left, as the participant sees it)."""
    return page.evaluate(
        """() => {
          const bar = document.querySelector('[id^=sk-timer-]');
          const animation = bar.getAnimations()[0];
          return {id: bar.id, seen: bar.sketchlabSeen === true, state: animation.playState,
                  duration: parseFloat(bar.style.animationDuration),
                  left: bar.getBoundingClientRect().width
                        / bar.parentElement.getBoundingClientRect().width,
                  color: getComputedStyle(bar).backgroundColor,
                  progressColor: getComputedStyle(
                    document.querySelector('.sk-progress .sk-bar div')).backgroundColor};
        }"""
    )


def past_practice(browser, base_url: str, participant_id: str):
    """A desktop page at the first trial after the practice (answered after the minimum
    time of the timed study)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_trials(page, base_url, participant_id)
    time.sleep(MIN_ANSWER_S)
    page.locator(ANSWERS).first.click()
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1")
    return page


def mark_timer_seen(page) -> None:
    page.evaluate("document.querySelector('[id^=sk-timer-]').sketchlabSeen = true")


def test_reload_does_not_restart_the_clock_and_each_trial_gets_a_fresh_countdown(
    timed_study, browser
):
    base_url, config, storage = timed_study
    page = past_practice(browser, base_url, "clock1")

    first = shown_trial(page)  # wait 3 s, reload, answer: the RT counts from the first draw
    countdown = timer(page)
    assert countdown["state"] == "running" and countdown["left"] > (LIMIT_S - 2) / LIMIT_S
    assert countdown["color"] != countdown["progressColor"], "the timer looks different"
    time.sleep(MIN_ANSWER_S)
    page.reload()
    settle(page)
    assert shown_trial(page) == first
    shown = parse_iso(storage.get_participant("clock1").shown_at)
    on_screen_s = (utc_now() - shown).total_seconds()
    left = timer(page)["left"]
    assert on_screen_s >= MIN_ANSWER_S
    assert abs(left - (LIMIT_S - on_screen_s) / LIMIT_S) < 0.1, (
        f"after {on_screen_s:.1f} s of {LIMIT_S} s the bar shows {left:.0%} left"
    )
    mark_timer_seen(page)
    page.locator(ANSWERS).first.click()
    wait_for_trial(page, first + 1)
    assert storage.responses_of("clock1")[first]["rt_ms"] >= 1000 * MIN_ANSWER_S

    countdown = timer(page)  # a fresh bar for the next trial, running from the full time
    assert countdown["id"] == f"sk-timer-{first + 1}" and not countdown["seen"]
    assert countdown["state"] == "running" and countdown["left"] > (LIMIT_S - 2) / LIMIT_S
    mark_timer_seen(page)
    time.sleep(2)
    page.reload()  # the limit runs out after the reload: a time-out, LIMIT_S after drawing
    settle(page)
    wait_for_trial(page, first + 2)
    row = storage.responses_of("clock1")[first + 1]
    assert row["response"] == "timeout" and row["rt_ms"] >= 1000 * LIMIT_S
    countdown = timer(page)  # after a time-out the next bar runs too
    assert countdown["id"] == f"sk-timer-{first + 2}" and not countdown["seen"]
    assert countdown["state"] == "running" and countdown["left"] > (LIMIT_S - 2) / LIMIT_S
    page.close()


def test_a_double_key_press_does_not_answer_the_next_trial(timed_study, browser):
    base_url, _, storage = timed_study
    page = past_practice(browser, base_url, "double1")
    current = shown_trial(page)
    time.sleep(MIN_ANSWER_S)  # past the minimum time: this press counts
    page.keyboard.press("1")
    page.wait_for_selector(f"#sk-trial-{current + 1}", timeout=30_000)
    page.keyboard.press("1")  # the second press of a double press lands on the next trial
    settle(page)
    assert sorted(storage.responses_of("double1")) == list(range(current + 1))
    assert shown_trial(page) == current + 1, "the next trial waits for a real answer"
    page.close()


@pytest.fixture(scope="module")
def keyed_study(tmp_path_factory):
    """The default minimum answer time (250 ms), as a real study has it."""
    with serve(tmp_path_factory.mktemp("keyed")) as study:
        yield study


def test_a_held_key_answers_one_trial(keyed_study, browser):
    base_url, _, storage = keyed_study
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_trials(page, base_url, "hold1")
    time.sleep(0.5)
    page.locator(ANSWERS).first.click()
    act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch 1")
    current = shown_trial(page)
    time.sleep(0.5)  # past the minimum answer time
    page.keyboard.down("1")
    held_until = time.monotonic() + 2.0
    while time.monotonic() < held_until:  # the keyboard's auto-repeat, every ~30 ms
        time.sleep(0.03)
        page.keyboard.down("1")  # a key already down: a keydown with `repeat` set
    page.keyboard.up("1")
    wait_for_trial(page, current + 1)
    time.sleep(1.0)  # anything still on its way arrives
    settle(page)
    assert sorted(storage.responses_of("hold1")) == list(range(current + 1)), (
        "holding the key for 2 s answered exactly one trial"
    )
    assert shown_trial(page) == current + 1
    page.keyboard.press("1")  # released and pressed again: the next answer counts
    wait_for_trial(page, current + 2)
    assert sorted(storage.responses_of("hold1")) == list(range(current + 2))
    page.close()


def past_practice_then_killed(tmp_path, browser, participant_id: str, **options):
    """Serve a synthetic study from `tmp_path`, bring a participant on a phone past the
    practice, then kill the server with SIGKILL (`serve` execs Streamlit: this is the
    server). Returns the page and `restart(log_name)`, which serves the study again on the
    same port and database (stop it with stop_process)."""
    config_path = write_synthetic_study(tmp_path, min_answer_ms=0, **options)
    storage_url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    def restart(log_name: str):
        server = start_server(config_path, storage_url, port, tmp_path / log_name)
        wait_for_health(base_url, server)
        return server

    server = restart("server1.log")
    try:
        page = browser.new_page(viewport={"width": 375, "height": 667})
        open_trials(page, base_url, participant_id)
        page.locator(ANSWERS).first.click()
        act_and_wait(page, lambda: page.get_by_role("button", name="Continue").click(), "Sketch")
        assert page.locator(".sk-offline").is_hidden()
        page.evaluate("window.sketchlabBeforeOutage = true")
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=20)
    return page, restart


def test_a_lost_connection_shows_a_notice_and_a_reload_resumes(tmp_path, browser):
    page, restart = past_practice_then_killed(tmp_path, browser, "offline1")
    notice = page.locator(".sk-offline")
    notice.wait_for(state="visible", timeout=30_000)
    assert "Connection lost" in notice.inner_text()
    time.sleep(8)  # long enough for Streamlit's own "Connection error" dialog
    assert notice.is_visible() and not page.locator("[data-testid=stDialog]").is_visible()
    notice.get_by_role("button", name="Reload").click(trial=True)  # clickable, not inert
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "study-connection-lost-phone.png"))

    server = restart("server2.log")
    try:
        # Streamlit may reconnect by itself meanwhile (and hide the notice): click the
        # notice's button in the page, whether it still shows or not.
        page.evaluate("document.querySelector('.sk-offline button').click()")
        wait_for_trial(page, 1)  # where the participant was
        assert page.locator(".sk-offline").is_hidden()
    finally:
        stop_process(server)
    page.close()


@pytest.mark.slow  # the server stays down longer than a trial's time limit: ~22 s
def test_an_outage_longer_than_the_time_limit_is_recorded_not_charged(tmp_path, browser):
    """The server is down (SIGKILL, then restarted) for longer than the trial's time limit
    while the trial is on screen: the trial comes back afresh, the answer is an answer (not
    a time-out, not a slow one), and its row says how long the connection was lost."""
    limit_s = 6
    page, restart = past_practice_then_killed(tmp_path, browser, "outage1", time_limit_s=limit_s)
    trial = shown_trial(page)
    storage = Storage(f"sqlite:///{tmp_path / 'study.sqlite'}", "synthetic")
    page.locator(".sk-offline").wait_for(state="visible", timeout=30_000)
    time.sleep(limit_s + 1)  # the limit would have run out meanwhile
    server = restart("server2.log")
    try:
        back = time.monotonic()
        page.wait_for_function(  # the page reconnects and reloads itself
            "!window.sketchlabBeforeOutage && document.querySelector('[id^=sk-timer-]')",
            timeout=60_000,
        )
        settle(page)
        assert shown_trial(page) == trial, "the interrupted trial is shown again"
        assert timer(page)["left"] > 0.5, "with its time limit starting afresh"
        page.locator(ANSWERS).first.click()
        wait_for_trial(page, trial + 1)
        answered_after_s = time.monotonic() - back
    finally:
        stop_process(server)
        page.close()
    row = storage.responses_of("outage1")[trial]
    assert row["response"] != "timeout", "an outage is never a time-out"
    assert row["rt_ms"] < 1000 * (answered_after_s + 1), "nor a slow answer"
    assert row["interrupted_ms"] >= 1000 * (limit_s + 1), "the record says what happened"
    storage.close()
