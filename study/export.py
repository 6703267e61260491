"""`study export`: the responses long table (`sketchlab.contracts.RESPONSE_COLUMNS`, then the
trial types' columns: `study.trial_types.response_columns`) and the participants table, written
atomically so a crash never leaves a half file that looks done, with any file a trial type adds
(the naming condition's coding sheet); and the review table (`REVIEW_COLUMNS`) for approving or
rejecting participants on Prolific. Previews are in none of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sketchlab.contracts import (
    COMPLETED,
    DECLINED,
    DEVICE_COLUMNS,
    FAILED_ATTENTION,
    IN_PROGRESS,
    PARTICIPANT_COLUMNS,
    REVIEW_COLUMNS,
    TIMED_OUT,
    TIMEOUT,
)
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path
from study.config import StudyConfig
from study.storage import Storage
from study.trial_type import CHECK, FOIL, TARGET
from study.trial_types import TRIAL_TYPES, added_columns, response_columns, roles

EXCEPTIONALLY_FAST_SD = 3.0
"""Prolific's "exceptionally fast": a completed session more than this many standard
deviations below the mean duration of completed sessions."""
SAME_ANSWER_MIN_TRIALS = 5
"""Flag `same_answer` (straight-lining) only with at least this many test and foil answers."""
ACTIONS = {
    COMPLETED: "approve",
    FAILED_ATTENTION: "reject",
    DECLINED: "return",
    TIMED_OUT: "return",
    IN_PROGRESS: "wait",
}
"""The suggested action on Prolific per status; a flagged completed session is `review`."""


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


def review_table(config: StudyConfig, storage: Storage) -> pd.DataFrame:
    """One row per participant (REVIEW_COLUMNS), in arrival order: status, attention result
    (`passed`, `failed`, `incomplete`; empty for those who declined), duration, flags
    (`timeouts=N`, `too_fast=N`: answers flagged too fast (study/timing.py), `same_answer`: one
    answer to every test and foil sketch, `exceptionally_fast`) and the suggested action on
    Prolific (a flagged `approve` becomes `review`)."""
    participants = participants_table(storage)
    responses = storage.responses_frame()
    answers_of = dict(tuple(responses.groupby("participant_id")))
    fast = _exceptionally_fast(participants)
    n_checks = len(config.attention.checks)
    rows = []
    for person in participants.to_dict("records"):
        answers = answers_of.get(person["participant_id"], responses.iloc[0:0])
        flags = _flags(answers) + (
            ["exceptionally_fast"] if person["participant_id"] in fast else []
        )
        action = ACTIONS.get(person["status"], "review")
        rows.append(
            {
                **{name: person[name] for name in REVIEW_COLUMNS if name in person},
                "attention": _attention(person, answers, n_checks),
                "flags": ";".join(flags),
                "action": "review" if action == "approve" and flags else action,
            }
        )
    return pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))


def _attention(person: dict, answers: pd.DataFrame, n_checks: int) -> str:
    if person["status"] == DECLINED:
        return ""
    if person["status"] == FAILED_ATTENTION:
        return "failed"
    kinds = [name for name, role in roles().items() if role == CHECK]
    return "passed" if answers["trial_type"].isin(kinds).sum() >= n_checks else "incomplete"


def write_review(config: StudyConfig, storage: Storage, out: str | Path | None) -> str | Path:
    """The review table written atomically to `out` (.csv), or as aligned text if None."""
    review = review_table(config, storage)
    if review.empty:
        raise BadInput(no_participants(storage))
    if out is None:
        return review.astype(object).fillna("").to_string(index=False)
    out = checked_out_path(out, formats=(".csv",))
    with atomic_path(out) as tmp:
        review.to_csv(tmp, index=False)
    return out


def _flags(answers: pd.DataFrame) -> list[str]:
    flags = []
    timeouts = int((answers["response"] == TIMEOUT).sum())
    if timeouts:
        flags.append(f"timeouts={timeouts}")
    too_fast = int(answers["too_fast"].fillna(0).sum())
    if too_fast:
        flags.append(f"too_fast={too_fast}")
    measured = [name for name, role in roles().items() if role in (TARGET, FOIL)]
    main = answers[answers["trial_type"].isin(measured) & (answers["response"] != TIMEOUT)]
    if len(main) >= SAME_ANSWER_MIN_TRIALS and main["response"].nunique() == 1:
        flags.append("same_answer")
    return flags


def _exceptionally_fast(participants: pd.DataFrame) -> set[str]:
    """Completed participants more than EXCEPTIONALLY_FAST_SD SDs below the mean duration."""
    done = participants[participants["status"] == COMPLETED]
    if len(done) < 2:
        return set()
    durations = done["duration_s"].astype(float)
    cutoff = durations.mean() - EXCEPTIONALLY_FAST_SD * durations.std()
    return set(done.loc[durations < cutoff, "participant_id"])


def responses_table(storage: Storage) -> pd.DataFrame:
    """The long table: one row per answered trial, RESPONSE_COLUMNS in order, then the trial
    types' columns (whole numbers stay whole numbers; empty where a row has none)."""
    frame = storage.responses_frame()
    for column in ("list_id", "trial_index", "n_strokes", "correct", "is_none", "rt_ms"):
        frame[column] = frame[column].astype("int64")
    for column in added_columns():
        if column.type == "integer":
            frame[column.name] = frame[column.name].astype("Int64")
    return frame[list(response_columns())]


def checked_out_path(out: str | Path, formats: tuple[str, ...] = (".csv", ".parquet")) -> Path:
    """`out` if it names a format we write (checked before any database is opened)."""
    out = Path(out)
    if out.suffix not in formats:
        raise BadInput(f"--out {out} must end in {' or '.join(formats)}")
    return out


def export(config: StudyConfig, storage: Storage, out: str | Path) -> tuple[Path, ...]:
    """Write `out` (.csv or .parquet), `<out stem>.participants.csv` next to it, and the files
    the study's trial types add (e.g. `<out stem>.coding.csv`); returns their paths."""
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
    extra = [path for t in TRIAL_TYPES.values() for path in t.export_files(config, responses, out)]
    return (out, participants_out, *extra)
