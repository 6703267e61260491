"""The trial pages and practice feedback. The trial fragment shows the current trial with the
page of the trial type that shows it (study/trial_types/): the choice page (one sketch, the
question, one button per option), the naming page (the sketch and a box to type its name), or
the page of a follow-up question the trial waits for (the confidence rating).

Timing comes from the database (`ParticipantFlow.shown_at`): the time limit, the countdown
and the response time run from the moment the trial was first drawn, so a reload, a second
tab or another app replica cannot restart a trial's clock (the countdown's animation runs over
the whole limit, started as far in as the trial has been on screen: it shows the time actually
left). A page that lost its connection while the trial was on screen gets it afresh
(`resume_after_interruption`), and an answer the database cannot take waits in
study/pending_answers.py while the error page shows.

The top of the trial (progress, question, sketch, countdown) is one HTML element whose
content names the trial index: every trial gets fresh DOM elements, so the countdown's CSS
animation always restarts, and its small script scrolls the page to the top, drops the
focus left on the button just clicked and hides the hover look of the button under the
pointer until the pointer moves (else it looks chosen already). The sketch is inlined as a
data: URI of a bare PNG (no file name or metadata), encoded once per file per server
process, so a rerun neither re-encodes it nor costs the browser a second request; widget
keys hold only positions (`answer-<trial>-<button>`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import datetime, timedelta
from functools import lru_cache

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from sketchlab.contracts import NONE, PRACTICE
from sketchlab.errors import BadInput
from study import pending_answers
from study.browser import interruption_report
from study.config import StudyConfig
from study.design import Trial
from study.flow import ParticipantFlow
from study.layout import answers_key, rating_key
from study.page_errors import ANSWER_PENDING, database_error_noted, note_database_error
from study.pending_answers import PendingAnswer
from study.storage import utc_now
from study.trial_types import TRIAL_TYPES

MAX_SHORTCUTS = 9
"""Number keys 1-9 answer; options beyond the ninth are clicked."""

ON_TRIAL_SHOWN = """<script>
(function () {
  var focused = document.activeElement;
  if (focused && focused !== document.body && focused.blur) focused.blur();
  window.scrollTo(0, 0);
  document.querySelectorAll("[data-testid=stMain], [data-testid=stAppViewContainer]")
    .forEach(function (element) { element.scrollTop = 0; });
  if (!window.sketchlabPointer) {
    window.sketchlabPointer = { from: null };
    document.addEventListener("pointermove", function (event) {
      var pointer = window.sketchlabPointer;
      if (pointer.from === null) { pointer.from = [event.clientX, event.clientY]; return; }
      if (Math.abs(event.clientX - pointer.from[0]) + Math.abs(event.clientY - pointer.from[1]) > 8)
        document.body.classList.remove("sk-fresh");
    });
  }
  window.sketchlabPointer.from = null;
  document.body.classList.add("sk-fresh");
})();
</script>"""


@lru_cache(maxsize=4096)
def sketch_data_uri(path: str) -> str:
    """The sketch as a bare PNG (no file name, text chunks or other metadata) in a data: URI,
    encoded once per file and kept for the life of the server process."""
    from PIL import Image

    with Image.open(path) as image:
        picture = image.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def option_label(config: StudyConfig, option: str) -> str:
    """A button's text, shown literally: class names are display text (accents, dots,
    apostrophes...), so Markdown punctuation in them is escaped rather than rendered."""
    return escape_markdown(config.none_label if option == NONE else option)


def escape_markdown(text: str) -> str:
    """`text` with every Markdown, emoji-shortcode and LaTeX character backslash-escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~:$<>&])", r"\\\1", text)


def key_range(options: tuple[str, ...]) -> str:
    """The number keys that answer, e.g. "1-5" (at most 1-9)."""
    return f"1-{min(len(options), MAX_SHORTCUTS)}"


# --- callbacks: the answer is written here, before the rerun that draws the next trial ---


def on_answer(
    flow: ParticipantFlow, trial_index: int, response: object, question: str | None = None
) -> None:
    """Answer (or reply to follow-up `question`) with the flow that drew the page, so a
    click answers exactly the trial that was on screen (a stale page's click is then ignored,
    and the database decides). If the database fails, the answer is kept
    (study/pending_answers.py) and the error page shows; its "Try again" sends the answer
    again, with this click's time."""
    answered_at = utc_now()
    try:
        resume_after_interruption(flow)
        if question is None:
            flow.answer(trial_index, response, answered_at)
        else:
            flow.reply(trial_index, question, response, answered_at)
    except SQLAlchemyError as error:
        pending = PendingAnswer(trial_index, response, answered_at, question=question)
        pending_answers.keep(flow, pending)
        st.session_state[ANSWER_PENDING] = True
        note_database_error(error, "on_answer")
        return
    if flow.feedback(trial_index) is not None:
        st.session_state["feedback_for"] = trial_index


def resume_after_interruption(flow: ParticipantFlow) -> None:
    """If this page reconnected after losing its connection while the trial was on screen,
    show the trial afresh and record the interruption (ParticipantFlow.interrupted): the
    outage never counts as answer time, nor towards the time limit."""
    report = interruption_report()
    if report is not None:
        flow.interrupted(*report)


def on_feedback_seen() -> None:
    st.session_state.pop("feedback_for", None)


# --- pages -------------------------------------------------------------------------------


def trial_page(flow: ParticipantFlow) -> None:
    """The current trial, as a fragment: an answer reruns only this part of the page (the
    answer is written in the button callback first), not the whole script."""
    st.fragment(trial_view, key="trial")(flow)


def trial_view(flow: ParticipantFlow) -> None:
    if (
        database_error_noted()
        or flow.stage not in (PRACTICE, "trials")
        or st.session_state.get("feedback_for") is not None
    ):
        st.rerun(scope="app")  # an error, practice feedback, the end, a failure: another page
    try:
        resume_after_interruption(flow)
        trial = flow.current_trial
        question = flow.current_step
        shown_at = flow.shown_at(trial.trial_index)
        if shown_at is None:  # another tab answered this trial meanwhile
            st.rerun(scope="app")
        limit = flow.config.time_limit_s
        left = None
        if limit is not None and question is None:
            left = limit - (utc_now() - shown_at).total_seconds()
        if left is not None and left <= 0:
            flow.expire(trial.trial_index)  # idempotent; the rerun draws the next trial
            st.rerun(scope="app")
    except SQLAlchemyError as error:
        note_database_error(error, "the trial page")
        st.rerun(scope="app")
    TRIAL_TYPES[question or trial.shown_by].page(flow, trial)
    if left is not None:
        deadline = shown_at + timedelta(seconds=limit)
        st.fragment(rerun_when_expired, run_every=left + 0.25)(deadline)


def choice_page(flow: ParticipantFlow, trial: Trial) -> None:
    """The sketch, the question and one button per option."""
    with st.container(key="trial"):
        st.html(trial_head(flow, trial, flow.seconds_left()), unsafe_allow_javascript=True)
        answer_buttons(flow, trial)


def naming_page(flow: ParticipantFlow, trial: Trial, naming) -> None:
    """The sketch, the question, a box to type the name in and "Continue" (or Enter). An
    empty box answers nothing."""
    key = f"name-{trial.trial_index}"
    question = naming.question(flow.config, trial)
    with st.container(key="trial"):
        st.html(
            trial_head(flow, trial, flow.seconds_left(), question) + FOCUS_NAME_BOX,
            unsafe_allow_javascript=True,
        )
        with st.form(key=f"naming-{trial.trial_index}", border=False, enter_to_submit=True):
            st.text_input(
                question,
                key=key,
                max_chars=64,
                placeholder="Type the name here",
                label_visibility="collapsed",
                autocomplete="off",
            )
            if st.session_state.get("name_missing") == trial.trial_index:
                st.caption("Please type a name first.")
            st.form_submit_button(
                "Continue",
                key=f"naming-submit-{trial.trial_index}",
                type="primary",
                width="stretch",
                on_click=on_name,
                args=(flow, trial.trial_index, key),
            )


def on_name(flow: ParticipantFlow, trial_index: int, key: str) -> None:
    typed = str(st.session_state.get(key) or "").strip()
    if not typed:
        st.session_state["name_missing"] = trial_index
        return
    st.session_state.pop("name_missing", None)
    try:
        on_answer(flow, trial_index, typed)
    except BadInput:  # not printable, or too long: ask again
        st.session_state["name_missing"] = trial_index


FOCUS_NAME_BOX = """<script>
(function () {
  // On a device with a keyboard, the name box has the focus on each naming trial (a phone's
  // on-screen keyboard would cover the sketch, so there the participant taps the box).
  if (!window.matchMedia("(hover: hover) and (pointer: fine)").matches) return;
  var tries = 0, timer = setInterval(function () {
    var box = document.querySelector(".st-key-trial input[type=text]");
    if (box || ++tries > 40) { clearInterval(timer); if (box) box.focus(); }
  }, 50);
})();
</script>"""


def rating_page(flow: ParticipantFlow, trial: Trial, confidence) -> None:
    """The follow-up rating: progress, the question, one button per point (numbered, so the
    number keys answer too; a held key answers once: study/browser.py's key guard)."""
    settings = flow.config.confidence
    label, fraction = progress_label(flow, trial)
    with st.container(key="rating"):
        st.html(
            f'<div class="sk-head" id="sk-rating-{trial.trial_index}">'
            + meter("sk-progress", label, f'style="width: {100 * fraction:.1f}%"')
            + f'<p class="sk-question">{html.escape(settings.question)}</p></div>'
            + ON_TRIAL_SHOWN,
            unsafe_allow_javascript=True,
        )
        with st.container(horizontal=True, key=rating_key(settings.scale)):
            for point in range(1, settings.scale + 1):
                st.button(
                    escape_markdown(settings.label(point)),
                    key=f"{confidence.name}-{trial.trial_index}-{point}",
                    width="stretch",
                    wrap=True,
                    shortcut=str(point) if point <= MAX_SHORTCUTS else None,
                    on_click=on_answer,
                    args=(flow, trial.trial_index, point, confidence.name),
                )


def progress_label(flow: ParticipantFlow, trial: Trial) -> tuple[str, float]:
    """The progress bar's text and how full it is."""
    n_practice = sum(t.trial_type == PRACTICE for t in flow.trials)
    if trial.trial_type == PRACTICE:
        return f"Practice {trial.trial_index + 1} of {n_practice}", 0.0
    done = trial.trial_index - n_practice
    total = flow.n_trials - n_practice
    return f"Sketch {done + 1} of {total}", done / total


def trial_head(
    flow: ParticipantFlow, trial: Trial, seconds_left: float | None, question: str | None = None
) -> str:
    """Progress, question, sketch and countdown as one HTML block (ids name the trial, so
    each trial's elements are new)."""
    config = flow.config
    label, fraction = progress_label(flow, trial)
    index = trial.trial_index
    parts = [
        f'<div class="sk-head" id="sk-trial-{index}">',
        meter("sk-progress", label, f'style="width: {100 * fraction:.1f}%"'),
        f'<p class="sk-question">{html.escape(question or trial.prompt or config.question)}</p>',
        f'<img class="sk-sketch" alt="sketch" src="{sketch_data_uri(str(trial.image_path))}">',
    ]
    if seconds_left is not None:  # the bar drains over the whole limit, started that far in
        elapsed = max(0.0, config.time_limit_s - seconds_left)
        parts.append(
            meter(
                "sk-timer",
                f"Time left ({config.time_limit_s:g} s)",
                f'id="sk-timer-{index}" style="animation-duration: {config.time_limit_s:.2f}s; '
                f'animation-delay: -{elapsed:.2f}s"',
            )
        )
    parts.append("</div>" + ON_TRIAL_SHOWN)
    return "".join(parts)


def meter(kind: str, label: str, bar_attributes: str) -> str:
    return (
        f'<div class="sk-meter {kind}"><span>{html.escape(label)}</span>'
        f'<div class="sk-bar"><div {bar_attributes}></div></div></div>'
    )


def answer_buttons(flow: ParticipantFlow, trial: Trial) -> None:
    """One button per option, numbered 1..n in screen order, in one wrapping row (two to four
    per line, by the option count and the screen: study/layout.py; always in number order);
    "None of these" is last, on its own line. One container, not columns, keeps a page to
    few messages."""
    with_none = NONE in trial.options  # (it is last) styled to take a line of its own
    key = answers_key(len(trial.options) - with_none, with_none)
    with st.container(horizontal=True, key=key):
        for position, option in enumerate(trial.options):
            st.button(
                option_label(flow.config, option),
                key=f"answer-{trial.trial_index}-{position}",
                width="stretch",
                wrap=True,  # a long class name wraps instead of being cut off
                shortcut=str(position + 1) if position < MAX_SHORTCUTS else None,
                on_click=on_answer,
                args=(flow, trial.trial_index, option),
            )


def rerun_when_expired(deadline: datetime) -> None:
    """Runs in the browser's timer when the time is up: the app rerun records the time-out
    and shows the next trial."""
    if utc_now() >= deadline:
        st.rerun(scope="app")


def feedback_page(flow: ParticipantFlow, trial_index: int) -> None:
    feedback = flow.feedback(trial_index)
    st.html(
        '<div class="sk-head">' + meter("sk-progress", "Practice", 'style="width: 0%"') + "</div>"
    )
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
