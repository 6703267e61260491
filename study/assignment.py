"""Balanced allocation of consenting participants to condition x list cells.

A new participant goes to the least-filled cell, counting completed participants plus
in-progress ones seen within `abandon_after_minutes` (abandoned sessions time out and
free their slot: the psiTurk / Pavlovia / Gorilla pattern). Ties go to the first cell in
`design.cells` order. The choice runs inside the storage's allocation lock, so concurrent
arrivals see each other's slots and nobody is allocated twice. With `target_per_cell`, a
participant who arrives when every cell has reached it is not allocated (the study is
full). Previews are allocated among previews only: they never take a slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sketchlab.contracts import ID_CHARACTERS, MAX_ID_LENGTH, is_valid_id
from sketchlab.errors import BadInput
from study.config import StudyConfig
from study.design import cells
from study.storage import Participant, Storage


def validate_id(value: object, field: str = "participant id") -> str:
    """Return `value` if it is a valid id (`sketchlab.contracts`); anything else (HTML,
    over-long, empty, a trailing newline, not a string) is refused with BadInput, never
    stored."""
    if not is_valid_id(value):
        raise BadInput(f"the {field} must be 1-{MAX_ID_LENGTH} characters of {ID_CHARACTERS}")
    return value


def active_since(config: StudyConfig, now: datetime) -> datetime:
    """Sessions last seen before this moment count as abandoned."""
    return now - timedelta(minutes=config.abandon_after_minutes)


def least_filled(
    design_cells: list[tuple[str, int]], counts: dict[tuple[str, int], int], target: int | None
) -> tuple[str, int] | None:
    """The first cell (in design order) with the smallest count; None if every cell has
    reached `target`."""
    cell = min(design_cells, key=lambda cell: (counts.get(cell, 0), design_cells.index(cell)))
    return None if target is not None and counts.get(cell, 0) >= target else cell


def study_full(storage: Storage, config: StudyConfig, now: datetime) -> bool:
    """True when every cell has `target_per_cell` completed or active participants."""
    if config.target_per_cell is None:
        return False
    filled = storage.filled_cells(active_since(config, now))
    return least_filled(cells(config), filled, config.target_per_cell) is None


def assign(
    storage: Storage,
    config: StudyConfig,
    participant_id: str,
    session_id: str,
    now: datetime,
    *,
    prolific_study_id: str | None = None,
    preview: bool = False,
) -> Participant | None:
    """The participant's cell: unchanged for a returning participant, least-filled for a new
    one; None when the study is full (nothing is stored then). A preview's id is its
    namespaced row id (study/flow.py, `preview_participant_id`)."""
    if not preview:
        validate_id(participant_id)
    if session_id:
        validate_id(session_id, "session id")
    if prolific_study_id is not None:
        validate_id(prolific_study_id, "study id")
    existing = storage.get_participant(participant_id)
    if existing is not None:
        return existing
    design_cells = cells(config)
    target = None if preview else config.target_per_cell
    return storage.allocate(
        participant_id,
        session_id,
        lambda counts: least_filled(design_cells, counts, target),
        now,
        active_since(config, now),
        config.consent_version,
        prolific_study_id=prolific_study_id,
        preview=preview,
    )
