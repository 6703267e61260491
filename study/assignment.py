"""Balanced allocation of consenting participants to condition x list cells.

A new participant goes to the least-filled cell, counting completed participants plus
in-progress ones seen within `abandon_after_minutes` (abandoned sessions time out and
free their slot: the psiTurk / Pavlovia / Gorilla pattern). Ties go to the first cell in
`design.cells` order. The choice runs inside the storage's allocation lock, so concurrent
arrivals see each other's slots and nobody is allocated twice.
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
    design_cells: list[tuple[str, int]], counts: dict[tuple[str, int], int]
) -> tuple[str, int]:
    """The first cell (in design order) with the smallest count."""
    return min(design_cells, key=lambda cell: (counts.get(cell, 0), design_cells.index(cell)))


def assign(
    storage: Storage, config: StudyConfig, participant_id: str, session_id: str, now: datetime
) -> Participant:
    """The participant's cell: unchanged for a returning participant, least-filled for a new one."""
    validate_id(participant_id)
    if session_id:
        validate_id(session_id, "session id")
    existing = storage.get_participant(participant_id)
    if existing is not None:
        return existing
    design_cells = cells(config)
    return storage.allocate(
        participant_id,
        session_id,
        lambda counts: least_filled(design_cells, counts),
        now,
        active_since(config, now),
        config.consent_version,
    )
