"""`study export`: the responses long table (`sketchlab.contracts.RESPONSE_COLUMNS`) and the
participants table, written atomically so a crash never leaves a half file that looks done."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sketchlab.contracts import RESPONSE_COLUMNS
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path
from study.config import StudyConfig
from study.storage import Storage

DEVICE_COLUMNS = ("screen_width", "screen_height", "viewport_width", "viewport_height")
"""CSS pixels the participant's browser reported (empty if it never did)."""
PARTICIPANT_COLUMNS = (
    "participant_id", "study_id", "session_id", "condition", "list_id", "status",
    "consent_version", "consented_at", "instructions_done_at", "started_at", "completed_at",
    "last_seen_at", "attention_failures", "n_answered", "duration_s", *DEVICE_COLUMNS,
)  # fmt: skip


def participants_table(storage: Storage) -> pd.DataFrame:
    """One row per participant, with duration_s from consent to completion (or last seen)."""
    frame = storage.participants_frame()
    start = pd.to_datetime(frame["consented_at"], utc=True, format="ISO8601")
    end = pd.to_datetime(
        frame["completed_at"].fillna(frame["last_seen_at"]), utc=True, format="ISO8601"
    )
    frame["duration_s"] = (end - start).dt.total_seconds().round(3)
    for column in ("list_id", *DEVICE_COLUMNS):  # empty for those who declined or never
        frame[column] = frame[column].astype("Int64")  # reported a size: integers, not floats
    return frame[list(PARTICIPANT_COLUMNS)]


def no_participants(storage: Storage) -> str:
    """Why there is nothing to export: a typo in study_id or --storage, most likely."""
    others = [study for study in storage.study_ids() if study != storage.study_id]
    held = f"; it holds studies {', '.join(map(repr, others))}" if others else ""
    return (
        f"the database {storage.masked_url} has no participants of study "
        f"{storage.study_id!r} (field 'study_id' or 'storage', or --storage){held}"
    )


def responses_table(storage: Storage) -> pd.DataFrame:
    """The long table: one row per answered trial, RESPONSE_COLUMNS in order."""
    frame = storage.responses_frame()
    for column in ("list_id", "trial_index", "n_strokes", "correct", "is_none", "rt_ms"):
        frame[column] = frame[column].astype("int64")
    return frame[list(RESPONSE_COLUMNS)]


def checked_out_path(out: str | Path) -> Path:
    """`out` if it names a format we write (checked before any database is opened)."""
    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
        raise BadInput(f"--out {out} must end in .csv or .parquet")
    return out


def export(config: StudyConfig, storage: Storage, out: str | Path) -> tuple[Path, Path]:
    """Write `out` (.csv or .parquet) and `<out stem>.participants.csv` next to it."""
    out = checked_out_path(out)
    participants = participants_table(storage)
    if participants.empty:
        raise BadInput(no_participants(storage))
    responses = responses_table(storage)
    with atomic_path(out) as tmp:
        if out.suffix == ".csv":
            responses.to_csv(tmp, index=False)
        else:
            responses.to_parquet(tmp, index=False)
    participants_out = out.with_name(f"{out.stem}.participants.csv")
    with atomic_path(participants_out) as tmp:
        participants.to_csv(tmp, index=False)
    return out, participants_out
