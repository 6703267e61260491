"""Read and validate the long responses table (one row per trial; `sketchlab.contracts`).

The study app exports it, the simulator writes it, and other tools can produce it: CSV
or Parquet with the same columns. Everything wrong that a user can fix becomes one
`BadInput` sentence naming the file, the row (CSV rows count the header as row 1) and the
column, so the report never starts on data it would misread.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from sketchlab.contracts import (
    CONDITIONS,
    FOIL,
    NONE,
    RESPONSE_REQUIRED,
    TEST,
    TRIAL_TYPES,
    WITH_NONE,
)
from sketchlab.errors import BadInput

_TEXT_COLUMNS = (
    "participant_id",
    "study_id",
    "session_id",
    "list_id",
    "condition",
    "trial_type",
    "stimulus_id",
    "image_id",
    "true_class",
    "options_shown",
    "response",
)
"""Read as categoricals: few distinct values, fast groupby and comparisons."""

_TIME_COLUMNS = ("started_at", "answered_at")


def read_responses(path: str | Path) -> pd.DataFrame:
    """Read a responses CSV/Parquet file and return it validated and typed.

    `n_strokes` becomes float (NaN allowed only on practice/attention rows), `correct` and
    `is_none` become int 0/1 (`is_none` derived from `response` when the column is absent),
    `rt_ms` float milliseconds, text columns strings. Raises BadInput on anything else.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: the responses file does not exist.")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: the responses file is empty.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
            text = [column for column in _TEXT_COLUMNS if column in names]
            frame = pq.read_table(path, read_dictionary=text).to_pandas()
        else:
            header = pd.read_csv(path, nrows=0).columns
            dtypes = {column: "category" for column in _TEXT_COLUMNS if column in header}
            dtypes.update({column: str for column in _TIME_COLUMNS if column in header})
            frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise BadInput(f"{path}: the responses file is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadInput(f"{path}: cannot be read as a responses table ({first_line}).") from None
    return validate_responses(frame, source=str(path))


def _row_label(frame: pd.DataFrame, mask: np.ndarray, source: str) -> str:
    """'row N' of the first offending row (CSV numbering: header is row 1)."""
    position = int(np.flatnonzero(mask)[0])
    return f"row {position + 2}" if source.lower().endswith(".csv") else f"row {position + 1}"


def validate_responses(frame: pd.DataFrame, source: str = "responses") -> pd.DataFrame:
    """Check columns and values of a responses table; return a typed copy.

    `source` names the file in error messages.
    """
    frame = frame.reset_index(drop=True)
    missing = [column for column in RESPONSE_REQUIRED if column not in frame.columns]
    if missing:
        raise BadInput(
            f"{source}: missing column '{missing[0]}' (a responses table needs "
            f"{', '.join(RESPONSE_REQUIRED)})."
        )
    if frame.empty:
        raise BadInput(f"{source}: the responses table has a header but no trials.")

    frame = frame.assign(
        **{
            column: _as_text_category(frame[column])
            for column in _TEXT_COLUMNS
            if column in frame.columns
        }
    )

    for column in ("participant_id", "condition", "trial_type", "true_class", "response"):
        empty = frame[column].isna().to_numpy()
        if empty.any():
            raise BadInput(f"{source}: {_row_label(frame, empty, source)} has no '{column}'.")

    _check_categories(frame, "condition", CONDITIONS, source)
    _check_categories(frame, "trial_type", TRIAL_TYPES, source)

    strokes = pd.to_numeric(frame["n_strokes"], errors="coerce")
    not_numeric = (strokes.isna() & frame["n_strokes"].notna()).to_numpy()
    if not_numeric.any():
        row = _row_label(frame, not_numeric, source)
        value = frame["n_strokes"].to_numpy()[not_numeric][0]
        raise BadInput(f"{source}: {row} column 'n_strokes' is not a number ({value!r}).")
    scored = frame["trial_type"].isin((TEST, FOIL)).to_numpy()
    lacking = scored & strokes.isna().to_numpy()
    if lacking.any():
        raise BadInput(
            f"{source}: {_row_label(frame, lacking, source)} is a test trial with no 'n_strokes'."
        )
    bad_level = (strokes < 1).to_numpy() | (strokes.notna() & (strokes % 1 != 0)).to_numpy()
    if bad_level.any():
        raise BadInput(
            f"{source}: {_row_label(frame, bad_level, source)} column 'n_strokes' must be a "
            "whole number of strokes >= 1."
        )

    columns = {"n_strokes": strokes.astype(float), "correct": _binary(frame, "correct", source)}
    if "is_none" in frame.columns:
        columns["is_none"] = _binary(frame, "is_none", source)
    else:
        columns["is_none"] = (frame["response"] == NONE).astype(np.int8)
    if "rt_ms" in frame.columns:
        rt = pd.to_numeric(frame["rt_ms"], errors="coerce")
        bad_rt = (rt.isna() & frame["rt_ms"].notna()).to_numpy()
        if bad_rt.any():
            raise BadInput(
                f"{source}: {_row_label(frame, bad_rt, source)} column 'rt_ms' is not a number."
            )
        columns["rt_ms"] = rt.astype(float)
    return frame.assign(**columns)


def _as_text_category(values: pd.Series) -> pd.Series:
    """Text column as a pandas Categorical of str (fast groupby/compare on a million rows)."""
    category = values.astype("category")
    labels = category.cat.categories
    if labels.inferred_type not in ("string", "empty"):
        text = [str(label) for label in labels]
        if len(set(text)) < len(text):
            return values.where(values.isna(), values.astype(str)).astype("category")
        category = category.cat.rename_categories(text)
    return category


def _check_categories(frame: pd.DataFrame, column: str, allowed: tuple, source: str) -> None:
    unknown = ~frame[column].isin(allowed).to_numpy()
    if unknown.any():
        value = frame[column].to_numpy()[unknown][0]
        raise BadInput(
            f"{source}: {_row_label(frame, unknown, source)} column '{column}' has unknown value "
            f"{value!r} (expected one of {', '.join(allowed)})."
        )


def _binary(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """0/1 column; accepts 0/1, true/false (any case)."""
    values = frame[column]
    if values.dtype == bool:
        return values.astype(np.int8)
    if pd.api.types.is_numeric_dtype(values) and values.isin((0, 1)).all():
        return values.astype(np.int8)
    text = values.astype(str).str.strip().str.lower()
    mapped = text.map({"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0})
    bad = mapped.isna().to_numpy()
    if bad.any():
        raise BadInput(
            f"{source}: {_row_label(frame, bad, source)} column '{column}' must be 0 or 1."
        )
    return mapped.astype(np.int8)


def ordered_conditions(frame: pd.DataFrame) -> list[str]:
    """Conditions present, in the fixed order of CONDITIONS."""
    present = set(frame["condition"].unique())
    return [condition for condition in CONDITIONS if condition in present]


def options_per_condition(frame: pd.DataFrame) -> dict[str, int]:
    """Buttons shown per test trial in each condition (the chance level is 1 / this).

    Read from `options_shown` (the most common count on test trials); without that column,
    assume every class was offered, plus "none" in the with_none condition.
    """
    tests = frame[frame["trial_type"] == TEST]
    n_classes = max(int(tests["true_class"].nunique()), 1)
    counts = {}
    for condition in ordered_conditions(frame):
        rows = tests[tests["condition"] == condition]
        if "options_shown" in rows.columns and rows["options_shown"].notna().any():
            shown = rows["options_shown"].value_counts()
            buttons = pd.Series(
                shown.to_numpy(), index=pd.Index(shown.index.astype(str)).str.count(r"\|") + 1
            )
            counts[condition] = int(buttons.groupby(level=0).sum().idxmax())
        else:
            counts[condition] = n_classes + (1 if condition == WITH_NONE else 0)
    return counts
