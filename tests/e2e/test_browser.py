"""One participant takes the study in Chromium against a real `sketchlab study serve` process.

Waits follow Streamlit's own e2e suite: poll `/_stcore/health`, then after every action wait
for the page to change and for `[data-testid=stApp][data-test-script-state=notRunning]`.
Screenshots of the trial page (desktop and a 390 x 844 phone) go to test-artifacts/.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from study.config import load_study
from study.design import trials_for
from study.protocol import free_port, start_server, wait_for_health
from study.storage import Storage
from study.synthetic import COMPLETION_CODE, write_synthetic_study

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CONNECTED = "[data-testid=stApp][data-test-connection-state=CONNECTED]"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"


@pytest.fixture(scope="module")
def served_study(tmp_path_factory):
    """(base URL, config, storage) of a study served on a free loopback port."""
    folder = tmp_path_factory.mktemp("browser-study")
    port = free_port()
    # The "Prolific" completion redirect points back at this server's health page.
    config_path = write_synthetic_study(
        folder, redirect_url=f"http://127.0.0.1:{port}/_stcore/health?cc=C1234ABC"
    )
    storage_url = f"sqlite:///{folder / 'study.sqlite'}"
    server = start_server(config_path, storage_url, port, folder / "server.log")
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, server)
        config = load_study(config_path, storage=storage_url)
        yield base_url, config, Storage(config.storage, config.study_id)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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


def option_button(page, label: str):
    return page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}\b"))


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
            assert re.search(r'src="[^"]*/media/[0-9a-f]+\.png"', html)
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


def test_trial_page_fits_a_phone_and_survives_a_reload(served_study, browser):
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
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    buttons = page.locator("[data-testid=stButton] button")
    assert buttons.count() == 6
    image = page.locator("[data-testid=stImage] img").bounding_box()
    assert image["width"] > 200, "the sketch is large"
    assert all(buttons.nth(i).bounding_box()["x"] >= 0 for i in range(buttons.count()))
    option_button(page, "chair").click()
    page.get_by_text("Sketch 2 of", exact=False).first.wait_for(timeout=30_000)
    page.reload()  # a reload resumes at the next unanswered trial
    settle(page)
    page.get_by_text("Sketch 2 of", exact=False).first.wait_for(timeout=30_000)
    context.close()
    assert sorted(storage.responses_of("phone1")) == [0, 1]
