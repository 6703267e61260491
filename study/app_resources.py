"""What the study app opens once per server process and shares between sessions.

Defined in a module (not in the app script, which Streamlit re-executes on every page
run) so the cache wrapper is built once instead of on every run.
"""

from __future__ import annotations

import streamlit as st

from study.config import StudyConfig, load_study
from study.storage import Storage


@st.cache_resource(show_spinner=False)
def open_study(config_path: str, storage_url: str | None) -> tuple[StudyConfig, Storage]:
    """The study config and its database, shared by every session of this server."""
    config = load_study(config_path, storage=storage_url, verify_images=False)
    return config, Storage(config.storage, config.study_id, warm=True)
