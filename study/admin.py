"""The admin page (`?page=admin`): completion and exclusion rates, median duration, the live
view of every condition x list cell with its warnings (study/monitor.py, the same as
`sketchlab study status`), and downloads of the data, behind one password.

The password comes from Streamlit secrets (`admin_password` in .streamlit/secrets.toml) or
the SKETCHLAB_ADMIN_PASSWORD environment variable and is compared in constant time
(`hmac.compare_digest`). Without a configured password the page stays off; without the
right password nothing about the study is shown. Every view reads the database afresh.
"""

from __future__ import annotations

import hmac
import os
import time

import pandas as pd
import streamlit as st

from study.config import StudyConfig
from study.monitor import study_status
from study.storage import Storage

PASSWORD_ENV = "SKETCHLAB_ADMIN_PASSWORD"
WRONG_PASSWORD_DELAY_S = 1.0
"""Slows down guessing: each wrong password costs this long."""


def configured_password() -> str | None:
    """`admin_password` from Streamlit secrets, else the environment; None if neither is set."""
    try:
        password = st.secrets.get("admin_password")
    except FileNotFoundError:  # no secrets.toml at all
        password = None
    return str(password) if password else os.environ.get(PASSWORD_ENV) or None


def _check_password() -> None:
    typed = st.session_state.pop("admin_password_typed", "") or ""
    expected = configured_password() or ""
    ok = bool(expected) and hmac.compare_digest(typed.encode(), expected.encode())
    st.session_state["admin_ok"] = ok
    st.session_state["admin_failed"] = not ok
    if not ok:
        time.sleep(WRONG_PASSWORD_DELAY_S)


def study_summary(config: StudyConfig, storage: Storage) -> dict:
    """Counts and rates for the admin page (plain numbers, easy to test)."""
    participants = storage.participants_frame()
    status = participants["status"].value_counts().to_dict() if len(participants) else {}
    consented = int(participants["condition"].notna().sum()) if len(participants) else 0
    completed = (
        participants[participants["status"] == "completed"] if len(participants) else participants
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
        "declined": int(status.get("declined", 0)),
        "in_progress": int(status.get("in_progress", 0)),
        "completed": int(status.get("completed", 0)),
        "failed_attention": int(status.get("failed_attention", 0)),
        "timed_out": int(status.get("timed_out", 0)),
        "completion_rate": status.get("completed", 0) / consented if consented else None,
        "exclusion_rate": status.get("failed_attention", 0) / consented if consented else None,
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


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def admin_page(config: StudyConfig, storage: Storage) -> None:
    st.title("Study admin")
    if configured_password() is None:
        st.warning(
            f"The admin page is off: set `admin_password` in .streamlit/secrets.toml "
            f"or the {PASSWORD_ENV} environment variable, then restart the server."
        )
        return
    if not st.session_state.get("admin_ok"):
        st.text_input(
            "Admin password", type="password", key="admin_password_typed", on_change=_check_password
        )
        if st.session_state.get("admin_failed"):
            st.error("Wrong password.")
        return

    st.caption(f"Study `{config.study_id}`")
    summary = study_summary(config, storage)
    first, second, third, fourth = st.columns(4)
    first.metric("Completed", summary["completed"])
    second.metric("In progress", summary["in_progress"])
    third.metric("Completion rate", _percent(summary["completion_rate"]))
    fourth.metric("Excluded (attention)", _percent(summary["exclusion_rate"]))
    median = summary["median_minutes"]
    st.write(
        f"{summary['consented']} consented, {summary['declined']} declined, "
        f"{summary['timed_out']} timed out, {summary['responses']} answers stored. "
        f"Median duration of completed sessions: "
        f"{'–' if median is None else f'{median:.1f} min'}."
    )
    live_status_section(config, storage)
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
