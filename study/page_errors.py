"""Database errors as a participant sees them: a friendly page with a "Try again" button (and
a log line with the traceback for the researcher), never Streamlit's error box. An answer
that could not be stored waits in study/pending_answers.py and goes out again on the retry."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

DATABASE_ERROR = "database_error"
ANSWER_PENDING = "answer_pending"
log = logging.getLogger("sketchlab.study")


def note_database_error(error: Exception, where: str) -> None:
    """Log `error` (with its traceback) and show the friendly page on this session's next
    full run, which reads the database afresh."""
    log.error("database error in %s", where, exc_info=error)
    st.session_state[DATABASE_ERROR] = True
    st.session_state.pop("flow", None)


def friendly_database_errors(callback: Callable) -> Callable:
    """`callback` (a widget callback) with its database errors turned into the friendly
    page instead of Streamlit's error box."""

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            callback(*args, **kwargs)
        except SQLAlchemyError as error:
            note_database_error(error, callback.__name__)

    return guarded


def database_error_noted() -> bool:
    """True if a callback of this run hit a database error (the page must show it)."""
    return bool(st.session_state.get(DATABASE_ERROR))


def database_error_pending() -> bool:
    """True (once) if a callback of this run hit a database error."""
    return bool(st.session_state.pop(DATABASE_ERROR, False))


def database_error_page(error: Exception | None = None) -> None:
    """The friendly page; `error` (if given) is logged with its traceback. Its "Try again"
    reruns the page, which first stores an answer left pending."""
    if error is not None:
        log.error("database error", exc_info=error)
    st.session_state.pop("flow", None)
    st.title("Sorry, something went wrong on our side")
    if st.session_state.get(ANSWER_PENDING):
        saved = (
            "Your last answer is not saved yet: it is kept, and sent again when you press "
            "Try again. Your earlier answers are saved."
        )
    else:
        saved = "Your answers so far are saved."
    st.write(
        f"The study could not reach its database just now. {saved} "
        "Please wait a minute, then try again."
    )
    st.button("Try again", key="retry", type="primary")
