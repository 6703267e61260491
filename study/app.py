"""The participant-facing recognition study (the Streamlit script `sketchlab study serve` runs).

The page is a thin view of `ParticipantFlow`, which rebuilds the participant's state from
the database on every run: a reload, a second tab or a restarted server resumes at the first
unanswered trial. Answers are written in the button callback (before the rerun), and the
flow ignores a second answer to the same trial, so a double click or a slow rerun can neither
lose nor duplicate one.

Nothing on the page names the answer: the sketch is sent as re-encoded PNG bytes (served at
a content-hash URL, never a file name or stimulus id), and widget keys hold only trial and
button positions. Prolific ids come from the URL (`PROLIFIC_PID`, `STUDY_ID`, `SESSION_ID`);
anything that is not a plain 1-64 character id is refused, never echoed or stored.
`?PREVIEW=<preview_token>` runs the researcher's preview (real flow, never counted).
`?page=admin` shows the password-protected admin page (study/admin.py).
"""

from __future__ import annotations

import hmac
import html
import io
import json
import os
import re
import secrets
from datetime import datetime

import streamlit as st

from sketchlab.contracts import NONE, PRACTICE, is_valid_id
from study import admin
from study.config import Exit, StudyConfig, load_study
from study.design import Trial
from study.flow import ParticipantFlow
from study.serve import CONFIG_ENV, STORAGE_ENV
from study.storage import Storage, utc_now

URL_IDS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID", "PREVIEW")
PREVIEW_PREFIX = "preview-"
MAX_SHORTCUTS = 9

STYLE = """
<style>
  #MainMenu, footer, header[data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stElementToolbar"] { display: none !important; }
  .block-container { max-width: 720px; padding-top: 1.5rem; padding-bottom: 2rem; }
  [data-testid="stImage"] img {
    max-height: 48vh; object-fit: contain; background: #fff;
    border: 1px solid #e3e6ea; border-radius: 10px; padding: 8px;
  }
  [data-testid="stImageContainer"], [data-testid="stImage"] { margin: 0 auto; }
  .stButton button { min-height: 3rem; font-size: 1.05rem; }
  .st-key-answers > div { flex: 1 1 30%; min-width: 9rem; }
  .sketchlab-timer { height: 6px; background: #e3e6ea; border-radius: 3px; overflow: hidden; }
  .sketchlab-timer div {
    height: 100%; background: #2f5d8a; animation: sketchlab-drain linear forwards;
  }
  @keyframes sketchlab-drain { from { width: 100%; } to { width: 0%; } }
  .sketchlab-question {
    font-size: 1.2rem; font-weight: 600; text-align: center; margin: 0.25rem 0;
  }
  @media (max-width: 640px) {
    [data-testid="stImage"] img { max-height: 36vh; }
    .stButton button { min-height: 2.6rem; }
    .st-key-answers > div { flex-basis: 100%; }
  }
</style>
"""


@st.cache_resource(show_spinner=False)
def open_study(config_path: str, storage_url: str | None) -> tuple[StudyConfig, Storage]:
    """The study config and its database, shared by every session of this server."""
    config = load_study(config_path, storage=storage_url, verify_images=False)
    return config, Storage(config.storage, config.study_id)


@st.cache_data(show_spinner=False, max_entries=4096)
def sketch_png(path: str) -> bytes:
    """The sketch re-encoded as a bare PNG: no file name, text chunks or other metadata."""
    from PIL import Image

    with Image.open(path) as image:
        picture = image.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


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
    """The participant's state read afresh from the database (once per page draw)."""
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


def drawn_flow(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> ParticipantFlow:
    """The flow as it was when the page the participant clicked on was drawn, so a click
    answers exactly the trial that was on screen (a stale page's click is then ignored
    by the flow, and the database decides)."""
    flow = st.session_state.get("flow")
    if flow is None or flow.participant_id != ids["PROLIFIC_PID"]:
        flow = open_flow(config, storage, ids)
    return flow


# --- callbacks: every write happens here, before the rerun that draws the next page ------


def on_consent(config: StudyConfig, storage: Storage, ids: dict[str, str], accepted: bool) -> None:
    st.session_state.pop("confirm_decline", None)
    drawn_flow(config, storage, ids).consent(accepted)


def on_decline_asked(asked: bool) -> None:
    """ "I do not agree" first asks to confirm (declining is final); "Back" undoes that."""
    st.session_state["confirm_decline"] = asked


def on_instructions_done(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> None:
    drawn_flow(config, storage, ids).finish_instructions()


def on_answer(
    config: StudyConfig,
    storage: Storage,
    ids: dict[str, str],
    trial_index: int,
    response: str,
    shown_at: datetime,
) -> None:
    flow = drawn_flow(config, storage, ids)
    flow.answer(trial_index, response, shown_at, utc_now())
    if flow.feedback(trial_index) is not None:
        st.session_state["feedback_for"] = trial_index


def on_feedback_seen() -> None:
    st.session_state.pop("feedback_for", None)


# --- pages -------------------------------------------------------------------------------


def consent_page(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> None:
    st.title(config.title)
    preview_note("PREVIEW" in ids)
    st.markdown(config.consent)
    if st.session_state.get("confirm_decline"):
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


def instructions_page(config: StudyConfig, storage: Storage, ids: dict[str, str]) -> None:
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
    st.caption(
        "Answer by clicking a button, or on a keyboard by pressing the number shown on "
        f"it. {timing}{practice}"
    )
    st.button(
        "Start",
        key="instructions-done",
        type="primary",
        width="stretch",
        shortcut="Enter",
        on_click=on_instructions_done,
        args=(config, storage, ids),
    )


def feedback_page(flow: ParticipantFlow, trial_index: int) -> None:
    feedback = flow.feedback(trial_index)
    st.progress(0.0, text="Practice")
    if feedback.correct:
        st.success("Correct, well done.")
    else:
        st.info(f"The answer was **{option_label(flow.config, feedback.correct_response)}**.")
    st.write("The real study works the same way, without feedback.")
    st.button(
        "Continue",
        key=f"feedback-{trial_index}",
        type="primary",
        width="stretch",
        shortcut="Enter",
        on_click=on_feedback_seen,
    )


def option_label(config: StudyConfig, option: str) -> str:
    """A button's text, shown literally: class names are display text (accents, dots,
    apostrophes...), so Markdown punctuation in them is escaped rather than rendered."""
    return escape_markdown(config.none_label if option == NONE else option)


def escape_markdown(text: str) -> str:
    """`text` with every Markdown, emoji-shortcode and LaTeX character backslash-escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~:$<>&])", r"\\\1", text)


def trial_page(flow: ParticipantFlow, storage: Storage, ids: dict[str, str]) -> None:
    config = flow.config
    trial = flow.current_trial
    shown_key = f"shown-{trial.trial_index}"
    shown_at = st.session_state.setdefault(shown_key, utc_now())
    limit = config.time_limit_s
    if limit is not None and (utc_now() - shown_at).total_seconds() >= limit:
        flow.expire(trial.trial_index, shown_at)  # idempotent; redraws the next trial
        st.rerun()

    n_practice = sum(t.trial_type == PRACTICE for t in flow.trials)
    if trial.trial_type == PRACTICE:
        st.progress(0.0, text=f"Practice {trial.trial_index + 1} of {n_practice}")
    else:
        done = trial.trial_index - n_practice
        total = flow.n_trials - n_practice
        st.progress(done / total, text=f"Sketch {done + 1} of {total}")
    st.markdown(
        f'<p class="sketchlab-question">{html.escape(trial.prompt or config.question)}</p>',
        unsafe_allow_html=True,
    )
    st.image(sketch_png(str(trial.image_path)), width="stretch", output_format="PNG")
    if limit is not None:
        countdown(shown_at, limit)

    answer_buttons(config, trial, storage, ids, shown_at)


def answer_buttons(
    config: StudyConfig, trial: Trial, storage: Storage, ids: dict[str, str], shown_at: datetime
) -> None:
    """One button per option, numbered 1..n in screen order: the classes in one wrapping row
    (three per line on a wide screen, one per line on a phone, always in number order), then
    "None of these" on its own line. One container, not columns, keeps a page to few
    messages, which matters when many participants share the server."""
    position = 0

    def button(option: str) -> None:
        nonlocal position
        st.button(
            option_label(config, option),
            key=f"answer-{trial.trial_index}-{position}",
            width="stretch",
            shortcut=str(position + 1) if position < MAX_SHORTCUTS else None,
            on_click=on_answer,
            args=(config, storage, ids, trial.trial_index, option, shown_at),
        )
        position += 1

    with st.container(horizontal=True, key="answers"):
        for option in trial.options:
            if option != NONE:
                button(option)
    if NONE in trial.options:
        button(NONE)


def countdown(shown_at: datetime, limit: float) -> None:
    """A bar that empties over the seconds left (a CSS animation in the browser, so no server
    work while it runs), and one check when they are up: it reruns the page, which records
    the time-out and shows the next trial."""
    remaining = max(0.0, limit - (utc_now() - shown_at).total_seconds())
    st.html(
        f'<div class="sketchlab-timer" title="time left">'
        f'<div style="animation-duration: {remaining:.2f}s"></div></div>'
    )
    st.caption(f"Please answer within {limit:g} seconds.")
    st.fragment(rerun_when_expired, run_every=remaining + 0.25)(shown_at, limit)


def rerun_when_expired(shown_at: datetime, limit: float) -> None:
    if (utc_now() - shown_at).total_seconds() >= limit:
        st.rerun(scope="app")


def done_page(flow: ParticipantFlow) -> None:
    st.title("Thank you!")
    st.write("You have finished the study and all your answers are saved.")
    preview_note(flow.preview)
    exit_panel(flow.exit)


def exit_panel(exit: Exit | None) -> None:
    """The completion code (copyable) for Prolific and, with a redirect URL, a button and an
    automatic redirect after 4 seconds; without either, a plea to return the submission."""
    if exit is None or (exit.code is None and exit.redirect_url is None):
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


def ended_page(flow: ParticipantFlow) -> None:
    stage = flow.stage
    st.title("Thank you for your time")
    if stage == "declined":
        st.write("You chose not to take part, so the study ends here and no answers were recorded.")
        exit_panel(flow.exit)
    elif stage == "failed":
        st.markdown(flow.config.attention.failed_markdown)
        if flow.exit is not None:
            exit_panel(flow.exit)
    else:
        st.write(
            "This session has ended because it was inactive for too long. "
            "Please return your submission on Prolific."
        )


def full_page() -> None:
    st.title("This study is full")
    st.write(
        "Thank you for your interest. All places in this study have been taken, so it "
        "cannot start, and nothing about you was recorded. Please return your submission "
        "on Prolific."
    )


def participant_page(config: StudyConfig, storage: Storage) -> None:
    ids = url_ids(config)
    if ids is None:
        bad_link_page()
        return
    flow = open_flow(config, storage, ids)
    stage = flow.stage
    feedback_for = st.session_state.get("feedback_for")
    if feedback_for is not None and flow.feedback(feedback_for) is not None:
        feedback_page(flow, feedback_for)
    elif stage == "consent":
        consent_page(config, storage, ids)
    elif stage == "instructions":
        instructions_page(config, storage, ids)
    elif stage in (PRACTICE, "trials"):
        trial_page(flow, storage, ids)
    elif stage == "done":
        done_page(flow)
    elif stage == "full":
        full_page()
    else:
        ended_page(flow)


def main() -> None:
    config_path = os.environ.get(CONFIG_ENV)
    if not config_path:
        st.set_page_config(page_title="Study")
        st.error(
            f"No study is configured: start the app with `sketchlab study serve study.yaml` "
            f"(or set {CONFIG_ENV})."
        )
        return
    config, storage = open_study(config_path, os.environ.get(STORAGE_ENV) or None)
    st.set_page_config(
        page_title=config.title, layout="centered", initial_sidebar_state="collapsed", menu_items={}
    )
    st.html(STYLE)
    if st.query_params.get("page") == "admin":
        admin.admin_page(config, storage)
    else:
        participant_page(config, storage)


main()
