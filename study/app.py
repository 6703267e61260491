"""The participant-facing recognition study (the Streamlit script `sketchlab study serve` runs).

The page is a thin view of `ParticipantFlow`, read from the database once per browser session
(a reload, a reconnect or a restarted server reads it afresh and resumes at the first
unanswered trial, in the same order). Answers are written in the button callback (before the
rerun), and the database ignores a second answer to the same trial, so a double click, a
stale tab or a slow rerun can neither lose nor duplicate one. The trial page itself is in
study/trial_page.py, the page style and browser-side helpers in study/browser.py.

Prolific ids come from the URL (`PROLIFIC_PID`, `STUDY_ID`, `SESSION_ID`); anything that is
not a plain 1-64 character id is refused, never echoed or stored.
`?PREVIEW=<preview_token>` runs the researcher's preview (real flow, never counted, in a
namespace of its own: study/flow.py). The study ends on the page of the participant's outcome
(study.yaml's `outcomes`). A database error shows a friendly page (study/page_errors.py); an
answer it kept from being stored is sent again on the next page run (study/pending_answers.py).
`?page=admin` shows the password-protected admin page (study/admin.py).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from sketchlab.contracts import IN_PROGRESS, PRACTICE, is_valid_id
from sketchlab.errors import BadInput
from study import admin, pending_answers
from study.app_resources import open_study
from study.assignment import active_since
from study.browser import page_chrome, report_device
from study.config import Exit, StudyConfig
from study.flow import ParticipantFlow, preview_participant_id
from study.page_errors import (
    ANSWER_PENDING,
    database_error_page,
    database_error_pending,
    friendly_database_errors,
)
from study.serve import CONFIG_ENV, STORAGE_ENV
from study.storage import Storage, iso, utc_now
from study.trial_page import feedback_page, trial_page
from study.trial_types import TRIAL_TYPES

URL_IDS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "PREVIEW")
PREVIEW_PREFIX = "preview-"


def url_ids(config: StudyConfig) -> dict[str, str] | None:
    """Prolific ids from the URL, or None if PROLIFIC_PID is missing or any id is malformed
    (over-long, repeated, markup, a trailing newline, anything outside A-Z a-z 0-9 _ -).

    With `PREVIEW` equal to the study's preview_token the session is a preview; a preview
    without PROLIFIC_PID gets a fresh `preview-...` id, put into the URL so a reload resumes.
    A wrong token is refused like any tampered link."""
    ids = {}
    for name in URL_IDS:
        values = st.query_params.get_all(name)
        if len(values) > 1:
            return None
        if values:
            if not is_valid_id(values[0]):
                return None
            ids[name] = values[0]
    if "PREVIEW" in ids:
        token = config.preview_token
        if token is None or not hmac.compare_digest(ids["PREVIEW"].encode(), token.encode()):
            return None
        if "PROLIFIC_PID" not in ids:
            ids["PROLIFIC_PID"] = PREVIEW_PREFIX + secrets.token_hex(6)
            st.query_params["PROLIFIC_PID"] = ids["PROLIFIC_PID"]
    return ids if "PROLIFIC_PID" in ids else None


def bad_link_page() -> None:
    st.title("This study link is incomplete")
    st.write(
        "The link you opened is missing your participant id or has been changed. "
        "Please go back to Prolific and open the study from there. "
        "If this keeps happening, message the researcher through Prolific."
    )


def open_flow(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> ParticipantFlow:
    """The participant's state read afresh from the database, kept for this session."""
    flow = ParticipantFlow.open(
        config,
        storage,
        ids["PROLIFIC_PID"],
        ids.get("SESSION_ID", ""),
        prolific_study_id=ids.get("STUDY_ID"),
        preview="PREVIEW" in ids,
    )
    st.session_state["flow"] = flow
    return flow


def session_flow(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> ParticipantFlow:
    """This session's flow: read from the database once per browser session (a reload, a
    reconnect to another replica or a database error reads afresh); afterwards this session's
    own answers keep it current, and the database refuses whatever another tab made stale.
    A participant idle past abandon_after_minutes is re-read, which times them out."""
    flow = st.session_state.get("flow")
    if flow is None or flow.url_id != ids["PROLIFIC_PID"] or idle_too_long(flow):
        flow = open_flow(config, storage, ids)
    return flow


def idle_too_long(flow: ParticipantFlow) -> bool:
    participant = flow.participant
    return (
        participant is not None
        and participant.status == IN_PROGRESS
        and participant.last_seen_at < iso(active_since(flow.config, utc_now()))
    )


# --- callbacks: every write happens here, before the rerun that draws the next page ------


@friendly_database_errors
def on_consent(config: StudyConfig, storage: Storage, ids: dict[str, str], accepted: bool) -> None:
    st.session_state.pop("confirm_decline", None)
    session_flow(config, storage, ids).consent(accepted)


def on_decline_asked(asked: bool) -> None:
    """ "I do not agree" first asks to confirm (declining is final); "Back" undoes that."""
    st.session_state["confirm_decline"] = asked


@friendly_database_errors
def on_instructions_done(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> None:
    session_flow(config, storage, ids).finish_instructions()


@friendly_database_errors
def on_device(flow: ParticipantFlow, size: dict[str, int]) -> None:
    """Store the screen and window size once per participant."""
    if flow.participant is not None and flow.participant.screen_width is None:
        flow.record_device(size)


# --- pages -------------------------------------------------------------------------------


SCROLL_TO_TOP = """<script>
window.scrollTo(0, 0);
document.querySelectorAll("[data-testid=stMain], [data-testid=stAppViewContainer]")
  .forEach(function (element) { element.scrollTop = 0; });
</script>"""


def consent_page(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> None:
    st.title(config.title)
    preview_note("PREVIEW" in ids)
    if st.session_state.get("confirm_decline"):
        # In place of the consent text, and scrolled to: on a phone the question is on
        # screen, not below a long consent text.
        st.html(SCROLL_TO_TOP, unsafe_allow_javascript=True)
        st.warning(
            "Are you sure you do not want to take part? The study then ends here and you "
            "cannot come back to it."
        )
        st.button(
            "Yes, I do not want to take part",
            key="consent-no-confirm",
            width="stretch",
            on_click=on_consent,
            args=(config, storage, ids, False),
        )
        st.button(
            "Back to the consent form",
            key="consent-back",
            type="primary",
            width="stretch",
            on_click=on_decline_asked,
            args=(False,),
        )
        return
    st.markdown(config.consent)
    st.button(
        "I agree to take part",
        key="consent-yes",
        type="primary",
        width="stretch",
        on_click=on_consent,
        args=(config, storage, ids, True),
    )
    st.button(  # secondary on purpose: a plain text button under the main one
        "I do not agree",
        key="consent-no",
        type="tertiary",
        on_click=on_decline_asked,
        args=(True,),
    )


def preview_note(preview: bool) -> None:
    if preview:
        st.info("Preview: this run goes through the real study but is never counted or exported.")


def instructions_page(flow: ParticipantFlow, storage: Storage, ids: dict[str, str]) -> None:
    config = flow.config
    report_device(lambda size: on_device(flow, size))
    st.title(config.title)
    st.markdown(config.instructions)
    timing = (
        "Take the time you need."
        if config.time_limit_s is None
        else f"You have up to {config.time_limit_s:g} seconds for each sketch."
    )
    n_practice = len(config.practice.stimuli)
    practice = (
        ""
        if not n_practice
        else " First comes a practice sketch."
        if n_practice == 1
        else f" First come {n_practice} practice sketches."
    )
    st.caption(" ".join([*how_to_answer(flow), timing + practice]))
    st.button(
        "Start",
        key="instructions-done",
        type="primary",
        width="stretch",
        shortcut="Enter",
        on_click=on_instructions_done,
        args=(config, storage, ids),
    )


def how_to_answer(flow: ParticipantFlow) -> list[str]:
    """How to answer the participant's trials (their first trial's page, its follow-ups),
    in the trial types' words."""
    if not flow.trials:
        return []
    first = flow.trials[0]
    names = (first.shown_by, *first.follow_ups)
    sentences = (TRIAL_TYPES[name].how_to_answer(flow.config, first) for name in names)
    return [sentence for sentence in sentences if sentence]


def outcome_page(config: StudyConfig, outcome: str, preview: bool = False) -> None:
    """How the study ended for this participant (`outcome`, one of study.yaml's outcomes):
    its title and text, then what to do on Prolific."""
    page = config.outcome(outcome)
    st.title(page.title)
    st.markdown(page.text)
    preview_note(preview)
    exit_panel(page)


def exit_panel(exit: Exit) -> None:
    """What to do next, from the outcome's exit alone (so it never contradicts itself): the
    completion code (copyable) to paste on Prolific, and with a redirect URL a button and an
    automatic redirect after 4 seconds; with neither, a plea to return the submission."""
    if exit.code is None and exit.redirect_url is None:
        st.write("Please return your submission on Prolific. You can close this tab.")
        return
    if exit.code is not None:
        st.write("Your completion code:")
        st.code(exit.code, language=None)
    url = exit.redirect_url
    if url:
        st.link_button("Return to Prolific", url, type="primary")
        st.caption("You will be taken back to Prolific in a few seconds.")
        target = json.dumps(url).replace("</", "<\\/")
        st.html(
            f"<script>setTimeout(function () {{ window.top.location.href = {target}; }}, 4000);"
            "</script>",
            unsafe_allow_javascript=True,
        )
    else:
        st.write("Please copy this code into Prolific. You can close this tab afterwards.")


def deliver_pending_answer(flow: ParticipantFlow) -> None:
    """Store an answer a database error left pending (study/pending_answers.py), and show
    its practice feedback if it has some."""
    delivered = pending_answers.deliver(flow)
    st.session_state.pop(ANSWER_PENDING, None)
    if delivered is not None and flow.feedback(delivered.trial_index) is not None:
        st.session_state["feedback_for"] = delivered.trial_index


def participant_page(config: StudyConfig, storage: Storage) -> None:
    ids = url_ids(config)
    if ids is None:
        bad_link_page()
        return
    try:
        flow = session_flow(config, storage, ids)
        deliver_pending_answer(flow)
    except SQLAlchemyError:
        row_id = ids["PROLIFIC_PID"]
        pending_answers.failed_again(
            storage, config.study_id, preview_participant_id(row_id) if "PREVIEW" in ids else row_id
        )
        raise
    stage = flow.stage
    feedback_for = st.session_state.get("feedback_for")
    if feedback_for is not None and flow.feedback(feedback_for) is not None:
        feedback_page(flow, feedback_for)
    elif stage == "consent":
        consent_page(config, storage, ids)
    elif stage == "instructions":
        instructions_page(flow, storage, ids)
    elif stage in (PRACTICE, "trials"):
        trial_page(flow)
    else:
        outcome_page(config, flow.outcome, flow.preview)


def main() -> None:
    config_path = os.environ.get(CONFIG_ENV)
    if not config_path:
        st.set_page_config(page_title="Study")
        st.error(
            f"No study is configured: start the app with `sketchlab study serve study.yaml` "
            f"(or set {CONFIG_ENV})."
        )
        return
    try:
        config, storage = open_study(config_path, os.environ.get(STORAGE_ENV) or None)
    except BadInput as error:  # `serve` checked the config: this is the database
        config, storage, failure = None, None, error
    st.set_page_config(
        page_title=config.title if config else "Study",
        layout="centered",
        initial_sidebar_state="collapsed",
        menu_items={},
    )
    page_chrome()
    if config is None:
        database_error_page(failure)
    elif database_error_pending():
        database_error_page()
    elif st.query_params.get("page") == "admin":
        admin.admin_page(config, storage)
    else:
        try:
            participant_page(config, storage)
        except SQLAlchemyError as error:
            database_error_page(error)


main()
