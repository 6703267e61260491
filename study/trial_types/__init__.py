"""The trial-type registry: every kind of trial a study can have, one module each
(study/trial_type.py says what a module declares). Storage (the responses table is built from
the declared columns), the design, the app, the simulator, validation, export, the exclusions
and the report read this registry, so a new trial type is its module, its entry here, its tests
and its doc section (docs/study.md, "Writing a trial type"), and nothing else.

Order matters: the main trials of `test`, `foil` and `naming` are shuffled together in this
order (so every participant keeps the order earlier versions gave them), and the types'
columns follow the core responses columns in this order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sketchlab.contracts import CONDITIONS, RESPONSE_COLUMNS, ResponseColumn
from sketchlab.registry import Registry
from study.trial_type import FollowUp, TrialType
from study.trial_types.attention import Attention
from study.trial_types.confidence import Confidence
from study.trial_types.foil import Foil
from study.trial_types.naming import Naming
from study.trial_types.practice import Practice
from study.trial_types.test import Test

TRIAL_TYPES: Registry[TrialType] = Registry(
    "trial type",
    "trial_type",
    entries={t.name: t for t in (Practice(), Test(), Foil(), Attention(), Confidence(), Naming())},
)


def row_types() -> list[str]:
    """The types whose trials are rows of the responses table (`trial_type` values)."""
    return [name for name, t in TRIAL_TYPES.items() if not t.follow_up]


def follow_ups() -> list[FollowUp]:
    return [t for t in TRIAL_TYPES.values() if t.follow_up]


def conditions() -> tuple[str, ...]:
    """Every condition a study may have: with and without "none", and the types' own."""
    extra = [c for t in TRIAL_TYPES.values() for c in t.conditions if c not in CONDITIONS]
    return (*CONDITIONS, *dict.fromkeys(extra))


def added_columns() -> tuple[ResponseColumn, ...]:
    """The responses columns the types add, in registry order."""
    columns: dict[str, ResponseColumn] = {}
    for trial_type in TRIAL_TYPES.values():
        for column in trial_type.columns:
            columns.setdefault(column.name, column)
    return tuple(columns.values())


def response_columns() -> tuple[str, ...]:
    """Every responses column, in the export's order: the core ones, then the types'."""
    return (*RESPONSE_COLUMNS, *(column.name for column in added_columns()))


def roles() -> dict[str, str]:
    """trial_type -> how the analysis counts its rows (study.trial_type.ROLES)."""
    return {name: TRIAL_TYPES[name].role for name in row_types()}


def failed(rows: Mapping):
    """Which answers count as failed attention checks: wrong answers to a type that
    `fails_when_wrong`, unless no type can judge them yet (`unknown`, e.g. an unmatched typed
    name). `rows` is one row (a dict: a bool) or a table (a DataFrame: an array); the app
    counts failures with it as answers come in, the analysis's exclusions afterwards."""
    kinds = np.asarray(rows["trial_type"], dtype=object)
    checks = [name for name, t in TRIAL_TYPES.items() if t.fails_when_wrong]
    wrong = np.isin(kinds, checks) & (np.asarray(rows["correct"], dtype=float) == 0)
    for trial_type in TRIAL_TYPES.values():
        wrong &= ~np.asarray(trial_type.unknown(rows), dtype=bool)
    return wrong
