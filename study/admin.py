"""The admin page (`?page=admin`): completion and exclusion rates, median duration, the live
view of every condition x list cell with its warnings (study/monitor.py, the same as
`sketchlab study status`), every participant for approving or rejecting on Prolific, and
downloads of the data, behind one password.

The password comes from Streamlit secrets (`admin_password` in .streamlit/secrets.toml) or
the SKETCHLAB_ADMIN_PASSWORD environment variable; shorter than 12 characters it is refused
and the page stays off, as it does without one. Logins are throttled per client in the
database (study/login.py: a growing delay after each wrong password, shared by every replica
and kept across restarts; each failure logged with the client's address). Without the right
password nothing about the study is shown. Every view reads the database afresh.
"""

from __future__ import annotations

import math
import os

import pandas as pd
import streamlit as st

from sketchlab.contracts import (
    COMPLETED,
    FAILED_ATTENTION,
    IN_PROGRESS,
    PARTICIPANT_STATUSES,
    TIMED_OUT,
)
from study.config import StudyConfig
from study.export import review_table
from study.login import LoginThrottle, log_to_stderr, password_problem
from study.monitor import study_status
from study.storage import Storage

PASSWORD_ENV = "SKETCHLAB_ADMIN_PASSWORD"


def configured_password() -> str | None:
    """`admin_password` from Streamlit secrets, else the environment; None if neither is set."""
    try:
        password = st.secrets.get("admin_password")
    except FileNotFoundError:  # no secrets.toml at all
        password = None
    return str(password) if password else os.environ.get(PASSWORD_ENV) or None


def client_address() -> str:
    """Who is trying to log in: the address the server's HTTP layer saw, which is the
    connection's peer, or what a proxy named in SKETCHLAB_TRUSTED_PROXIES forwarded (never an
    `X-Forwarded-For` from anyone else; study/serve.py). Streamlit reports a loopback peer
    (this machine) as none: "loopback"."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        address = None
    return address if isinstance(address, str) and address else "loopback"


def _check_password(storage: Storage) -> None:
    log_to_stderr()
    typed = st.session_state.pop("admin_password_typed", "") or ""
    result = LoginThrottle(storage).attempt(typed, configured_password() or "", client_address())
    st.session_state["admin_ok"] = result.ok
    st.session_state["admin_login"] = result


def study_summary(config: StudyConfig, storage: Storage) -> dict:
    """Counts and rates for the admin page (plain numbers, easy to test)."""
    participants = storage.participants_frame()
    status = participants["status"].value_counts().to_dict() if len(participants) else {}
    consented = int(participants["condition"].notna().sum()) if len(participants) else 0
    # Rates are of sessions that have ended: people still answering are neither yet.
    ended = consented - int(status.get(IN_PROGRESS, 0))
    completed = (
        participants[participants["status"] == COMPLETED] if len(participants) else participants
    )
    minutes = (
        (
            (
                pd.to_datetime(completed["completed_at"])
                - pd.to_datetime(completed["consented_at"])
            ).dt.total_seconds()
            / 60
        )
        if len(completed)
        else pd.Series(dtype=float)
    )
    return {
        "participants": len(participants),
        "consented": consented,
        **{name: int(status.get(name, 0)) for name in PARTICIPANT_STATUSES},
        "ended": ended,
        "completion_rate": status.get(COMPLETED, 0) / ended if ended else None,
        "exclusion_rate": status.get(FAILED_ATTENTION, 0) / ended if ended else None,
        "median_minutes": float(minutes.median()) if len(minutes) else None,
        "responses": storage.count_responses(),
    }


def live_status_section(config: StudyConfig, storage: Storage) -> None:
    """Per cell: completed, in progress, timed out, failed attention, median duration and
    recent answers, with the monitor's warnings (study/monitor.py, as `sketchlab study
    status` shows them)."""
    live = study_status(config, storage)
    st.subheader("Participants per cell")
    for warning in live.warnings:
        st.warning(warning)
    st.dataframe(live.table(), hide_index=True, width="stretch")
    st.caption(
        f"{live.recent_answers} answers in the last {live.window_minutes:g} minutes. "
        f"Sessions that ended timed out or failed the attention checks: "
        f"{_percent(live.recent_failure_rate)} in the last {live.window_minutes:g} minutes, "
        f"{_percent(live.earlier_failure_rate)} before."
    )


def _seconds(value: float) -> str:
    whole = max(1, math.ceil(value))
    return f"{whole} second" + ("s" if whole != 1 else "")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def admin_page(config: StudyConfig, storage: Storage) -> None:
    st.title("Study admin")
    password = configured_password()
    if password is None:
        st.warning(
            f"The admin page is off: set `admin_password` in .streamlit/secrets.toml "
            f"or the {PASSWORD_ENV} environment variable, then restart the server."
        )
        return
    problem = password_problem(password)
    if problem:
        st.error(
            f"The admin page is off: {problem} (`admin_password` in .streamlit/secrets.toml "
            f"or {PASSWORD_ENV}), then restart the server."
        )
        return
    if not st.session_state.get("admin_ok"):
        st.text_input(
            "Admin password",
            type="password",
            key="admin_password_typed",
            on_change=_check_password,
            args=(storage,),
        )
        login = st.session_state.get("admin_login")
        if login is not None and login.wait_s > 0:
            st.error(
                "Too many wrong passwords from your address: try again in "
                f"{_seconds(login.wait_s)}."
            )
        elif login is not None:
            st.error(f"Wrong password. You can try again in {_seconds(login.next_delay_s)}.")
        return

    st.caption(f"Study `{config.study_id}`")
    summary = study_summary(config, storage)
    first, second, third, fourth = st.columns(4)
    first.metric("Completed", summary[COMPLETED])
    second.metric("In progress", summary[IN_PROGRESS])
    third.metric("Completion rate", _percent(summary["completion_rate"]))
    fourth.metric("Excluded (attention)", _percent(summary["exclusion_rate"]))
    median = summary["median_minutes"]
    st.write(
        f"{summary['consented']} consented, {summary['declined']} declined, "
        f"{summary[TIMED_OUT]} timed out, {summary['responses']} answers stored. "
        f"Rates are of the {summary['ended']} sessions that have ended. "
        f"Median duration of completed sessions: "
        f"{'–' if median is None else f'{median:.1f} min'}."
    )
    live_status_section(config, storage)
    participants_section(config, storage)
    st.subheader("Data")
    st.download_button(
        "Download responses (CSV)",
        storage.responses_frame().to_csv(index=False).encode(),
        file_name=f"{config.study_id}-responses.csv",
        mime="text/csv",
        key="download-responses",
    )
    st.download_button(
        "Download participants (CSV)",
        storage.participants_frame().to_csv(index=False).encode(),
        file_name=f"{config.study_id}-participants.csv",
        mime="text/csv",
        key="download-participants",
    )
    st.button("Refresh", key="admin-refresh")


def participants_section(config: StudyConfig, storage: Storage) -> None:
    """Every participant with status, attention result, duration, flags and the suggested
    action on Prolific (the same table as `sketchlab study export --participants`)."""
    st.subheader("Participants for Prolific")
    review = review_table(config, storage)
    st.dataframe(review, hide_index=True, width="stretch", key="participants-review")
    st.download_button(
        "Download this list (CSV)",
        review.to_csv(index=False).encode(),
        file_name=f"{config.study_id}-review.csv",
        mime="text/csv",
        key="download-review",
    )
