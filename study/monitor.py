"""What a researcher watches while a study runs, for `sketchlab study status` and the admin
page alike: per condition x list cell, how many participants completed, are in progress,
timed out or failed the attention checks, their median duration and the answers of the last
10 minutes, plus warnings when a cell falls behind or the failure rate jumps.

Read-only: an in-progress participant not seen for `abandon_after_minutes` is shown as timed
out (as allocation counts them) without writing anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import pandas as pd

from sketchlab.contracts import (
    COMPLETED,
    DECLINED,
    FAILED_ATTENTION,
    IN_PROGRESS,
    SESSION_STATUSES,
    TIMED_OUT,
)
from study.assignment import active_since
from study.config import StudyConfig
from study.design import cells
from study.storage import Storage, iso, utc_now

WINDOW = timedelta(minutes=10)
"""'Recent': answers and ended sessions of the last 10 minutes."""
BEHIND_MIN = 3
BEHIND_SHARE = 0.25
"""A cell falls behind when its completed count trails the fullest cell's by at least
BEHIND_MIN participants and by at least BEHIND_SHARE of the fullest cell's count."""
JUMP_MIN_FAILURES = 3
JUMP = 0.20
"""The failure rate jumps when at least JUMP_MIN_FAILURES sessions failed (timed out or failed
the attention checks) in the window and the window's failure rate is at least JUMP (20
percentage points) above the rate of the sessions that ended before it."""
RECENT_ANSWERS_COLUMN = f"answers_last_{WINDOW.total_seconds() / 60:g}_min"


@dataclass(frozen=True)
class CellStatus:
    condition: str
    list_id: int
    completed: int
    in_progress: int
    timed_out: int
    failed_attention: int
    median_minutes: float | None
    """Median consent-to-completion time of this cell's completed sessions."""
    recent_answers: int


@dataclass(frozen=True)
class StudyStatus:
    study_id: str
    at: str
    window_minutes: float
    cells: list[CellStatus]
    declined: int
    median_minutes: float | None
    recent_answers: int
    recent_failure_rate: float | None
    earlier_failure_rate: float | None
    warnings: list[str]

    def table(self, with_totals: bool = False) -> pd.DataFrame:
        """One row per cell (and, `with_totals`, a last row "all"), for display."""
        rows = [asdict(cell) for cell in self.cells]
        if with_totals:
            rows.append(
                {
                    "condition": "all",
                    "list_id": None,
                    **self.totals(),
                    "median_minutes": self.median_minutes,
                    "recent_answers": self.recent_answers,
                }
            )
        return (
            pd.DataFrame(rows)
            .astype({"list_id": "Int64"})
            .rename(columns={"list_id": "list", "recent_answers": RECENT_ANSWERS_COLUMN})
        )

    def totals(self) -> dict[str, int]:
        """Participants per status over all cells."""
        return {name: sum(getattr(cell, name) for cell in self.cells) for name in SESSION_STATUSES}

    def as_dict(self) -> dict:
        return {**asdict(self), "totals": self.totals()}


def study_status(config: StudyConfig, storage: Storage, now: datetime | None = None) -> StudyStatus:
    """The live view of the study in `storage` at `now` (default: the current time)."""
    now = now or utc_now()
    everyone = storage.participants_frame()
    declined = int((everyone["status"] == DECLINED).sum())
    people = everyone[everyone["status"] != DECLINED].copy()
    abandoned = people["status"].eq(IN_PROGRESS) & (
        people["last_seen_at"] < iso(active_since(config, now))
    )
    people.loc[abandoned, "status"] = TIMED_OUT
    minutes = (_times(people["completed_at"]) - _times(people["consented_at"])).dt.total_seconds()
    people["minutes"] = minutes / 60
    people["ended"] = _ended(people, config)
    answers = storage.answers_since(now - WINDOW)

    rows = []
    for condition, list_id in cells(config):
        mine = people[(people["condition"] == condition) & (people["list_id"] == list_id)]
        counts = mine["status"].value_counts()
        done = mine.loc[mine["status"] == COMPLETED, "minutes"]
        rows.append(
            CellStatus(
                condition=condition,
                list_id=list_id,
                **{name: int(counts.get(name, 0)) for name in SESSION_STATUSES},
                median_minutes=_median(done),
                recent_answers=answers.get((condition, list_id), 0),
            )
        )
    recent, earlier = _failure_rates(people, now)
    return StudyStatus(
        study_id=config.study_id,
        at=iso(now),
        window_minutes=WINDOW.total_seconds() / 60,
        cells=rows,
        declined=declined,
        median_minutes=_median(people.loc[people["status"] == COMPLETED, "minutes"]),
        recent_answers=sum(answers.values()),
        recent_failure_rate=recent[1],
        earlier_failure_rate=earlier[1],
        warnings=_behind_warnings(rows) + _jump_warnings(recent, earlier),
    )


def _times(stamps: pd.Series) -> pd.Series:
    return pd.to_datetime(stamps, utc=True, format="ISO8601")


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return round(float(values.median()), 2) if len(values) else None


def _ended(people: pd.DataFrame, config: StudyConfig) -> pd.Series:
    """When each session ended: completion, the failing answer, or (timed out) the moment it
    counted as abandoned; NaT while in progress."""
    seen = _times(people["last_seen_at"])
    abandon = timedelta(minutes=config.abandon_after_minutes)
    status = people["status"]
    return (
        _times(people["completed_at"])
        .where(status == COMPLETED)
        .fillna(seen.where(status == FAILED_ATTENTION))
        .fillna((seen + abandon).where(status == TIMED_OUT))
    )


def _failure_rates(
    people: pd.DataFrame, now: datetime
) -> tuple[tuple[int, float | None], tuple[int, float | None]]:
    """(failures, failure rate) of the sessions that ended in the window, and before it."""
    ended = people.dropna(subset=["ended"])
    failed = ended["status"].isin((TIMED_OUT, FAILED_ATTENTION))
    in_window = ended["ended"] >= pd.Timestamp(now - WINDOW)

    def rate(mask: pd.Series) -> tuple[int, float | None]:
        n = int(mask.sum())
        return int((failed & mask).sum()), (float((failed & mask).sum()) / n if n else None)

    return rate(in_window), rate(~in_window)


def _behind_warnings(rows: list[CellStatus]) -> list[str]:
    leader = max((cell.completed for cell in rows), default=0)
    gap = max(BEHIND_MIN, BEHIND_SHARE * leader)
    return [
        f"cell {cell.condition} / list {cell.list_id} falls behind: {cell.completed} completed, "
        f"{leader - cell.completed} fewer than the fullest cell ({leader})"
        for cell in rows
        if leader - cell.completed >= gap
    ]


def _jump_warnings(
    recent: tuple[int, float | None], earlier: tuple[int, float | None]
) -> list[str]:
    failures, rate = recent
    baseline = earlier[1] or 0.0
    if failures < JUMP_MIN_FAILURES or rate is None or rate < baseline + JUMP:
        return []
    return [
        f"failure rate jumped: {rate:.0%} of the sessions that ended in the last "
        f"{WINDOW.total_seconds() / 60:g} minutes timed out or failed the attention checks "
        f"({failures}), against {baseline:.0%} before"
    ]
