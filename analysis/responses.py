"""Read and validate the long responses table (one row per trial; `sketchlab.contracts`).

The study app exports it, the simulator writes it, and other tools can produce it: CSV
or Parquet with the same columns. Everything wrong that a user can fix becomes one
`BadInput` sentence naming the file, the row (CSV rows count the header as row 1) and the
column, so the report never starts on data it would misread: a trial recorded twice, an
answer that was not among the buttons shown, "none" where it was not offered, a `correct`
or `is_none` that contradicts the answer, fewer than two options. A "timeout" answer is
valid anywhere (the time ran out); the analysis counts it as no answer (`answer_category`).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from sketchlab.contracts import (
    CONDITIONS,
    CORRECT,
    FOIL,
    NONE,
    OPTION_SEPARATOR,
    RESPONSE_REQUIRED,
    TEST,
    TIMEOUT,
    WITH_NONE,
    WITHOUT_NONE,
    WRONG,
)
from sketchlab.errors import BadInput
from study.trial_type import CHECK, PRACTICE
from study.trial_types import added_columns, conditions, roles, row_types

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

ANALYSED_COLUMNS = (
    "participant_id", "condition", "trial_type", "stimulus_id", "image_id", "true_class",
    "n_strokes", "response", "correct", "is_none", "rt_ms",
)  # fmt: skip
"""The columns of the responses table the analyses after the exclusions read (accuracy, the
comparison, the models, answer times): `analysed_columns`."""

SET_ASIDE_COLUMNS = {
    "study_id": "names the study the export comes from; a report is of one study",
    "session_id": "read by the exclusions (duplicate sessions, completeness), before the analysis",
    "list_id": "the counterbalancing list a participant saw: part of the design, not an answer",
    "trial_index": "read by the validation (a trial recorded twice) and the exclusions",
    "options_shown": "read by the validation and, once, for the chance level "
    "(`options_per_condition`)",
    "started_at": "read by the exclusions (which duplicate session came first)",
    "answered_at": "read by the exclusions (which duplicate session came first)",
    "too_fast": "the app's flag (study/timing.py); the exclusions apply their floors to rt_ms",
    "interrupted_ms": "read by the exclusions (the interrupted-answer rule)",
    "save_failures": "how often storing the answer failed before it was stored: the answer and "
    "its rt_ms are the participant's, so nothing in the analysis depends on it",
}
"""Every other export column (`sketchlab.contracts.RESPONSE_COLUMNS`), with why the analyses
after the exclusions leave it out. A new export column goes in one of the two lists (a test
fails until it does), so none is dropped by accident."""


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

    _check_categories(frame, "condition", conditions(), source)
    _check_categories(frame, "trial_type", tuple(row_types()), source)

    strokes = pd.to_numeric(frame["n_strokes"], errors="coerce")
    not_numeric = (strokes.isna() & frame["n_strokes"].notna()).to_numpy()
    if not_numeric.any():
        row = _row_label(frame, not_numeric, source)
        value = frame["n_strokes"].to_numpy()[not_numeric][0]
        raise BadInput(f"{source}: {row} column 'n_strokes' is not a number ({value!r}).")
    measured = [name for name, role in roles().items() if role not in (PRACTICE, CHECK)]
    scored = frame["trial_type"].isin(measured).to_numpy()
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
    columns.update(_added_columns(frame, source))
    frame = frame.assign(**columns)
    _check_unique_trials(frame, source)
    _check_options(frame, source)
    _check_outcomes(frame, source)
    return frame


def _added_columns(frame: pd.DataFrame, source: str) -> dict[str, pd.Series]:
    """The trial types' integer columns (`study.trial_types.added_columns`) as whole numbers
    of at least their `minimum`, empty where a row has none (e.g. `confidence`: 1 or more)."""
    typed = {}
    for column in added_columns():
        if column.type != "integer" or column.name not in frame.columns:
            continue
        values = pd.to_numeric(frame[column.name], errors="coerce")
        low = column.minimum
        given = values.notna()
        bad = (~given & frame[column.name].notna()) | (given & ((values < low) | (values % 1 != 0)))
        if bad.any():
            raise BadInput(
                f"{source}: {_row_label(frame, bad.to_numpy(), source)} column "
                f"'{column.name}' must be a whole number >= {low} (or empty)."
            )
        typed[column.name] = values.astype("Int64")
    return typed


def _check_unique_trials(frame: pd.DataFrame, source: str) -> None:
    """A (participant, session, trial_index) recorded twice would be counted twice."""
    if "trial_index" not in frame.columns:
        return
    keys = [c for c in ("participant_id", "session_id", "trial_index") if c in frame.columns]
    group = frame.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    repeated = frame.duplicated(keys).to_numpy()
    if repeated.any():
        row = int(repeated.argmax())
        first = group == group[row]
        first[row:] = False
        who = ", ".join(f"{key} {_plain(frame[key].iloc[row])!r}" for key in keys[:-1])
        raise BadInput(
            f"{source}: {_row_label(frame, repeated, source)} field 'trial_index' repeats trial "
            f"{_plain(frame['trial_index'].iloc[row])} of {who} (first at "
            f"{_row_label(frame, first, source)}), so that trial would be counted twice."
        )


def _check_options(frame: pd.DataFrame, source: str) -> None:
    """Every answer was a button on screen: at least two buttons, "none" only where offered."""
    response = frame["response"]
    is_none = (response == NONE).to_numpy()
    without = (frame["condition"] == WITHOUT_NONE).to_numpy()
    refused = without & is_none
    if refused.any():
        raise BadInput(
            f"{source}: {_row_label(frame, refused, source)} field 'response' is 'none', but the "
            'without_none condition offers no "none" button.'
        )
    foil_without = without & (frame["trial_type"] == FOIL).to_numpy()
    if foil_without.any():
        raise BadInput(
            f"{source}: {_row_label(frame, foil_without, source)} field 'trial_type' is a foil in "
            "the without_none condition, where no button is right for a foil."
        )
    if "options_shown" not in frame.columns or frame["options_shown"].isna().all():
        _check_assumed_options(frame, source)
        return
    shown = frame["options_shown"]
    listed = [str(text).split(OPTION_SEPARATOR) for text in shown.cat.categories]
    code = shown.cat.codes.to_numpy()
    has = code >= 0
    count = np.array([len(options) for options in listed] + [0])[code]
    few = has & (count < 2)
    if few.any():
        value = _plain(shown[few].iloc[0])
        raise BadInput(
            f"{source}: {_row_label(frame, few, source)} field 'options_shown' ({value!r}) lists "
            "fewer than 2 options, so the trial was no choice."
        )
    offers_none = np.array([NONE in options for options in listed] + [False])[code]
    if (without & offers_none).any():
        raise BadInput(
            f"{source}: {_row_label(frame, without & offers_none, source)} field 'options_shown' "
            'offers "none" in the without_none condition.'
        )
    answers = response.cat.categories
    pair = code.astype(np.int64) * (len(answers) + 1) + response.cat.codes.to_numpy()
    pairs, inverse = np.unique(pair[has], return_inverse=True)
    allowed = np.array(
        [
            answers[p % (len(answers) + 1)] in (*listed[p // (len(answers) + 1)], TIMEOUT)
            for p in pairs
        ]
    )
    outside = np.zeros(len(frame), dtype=bool)
    outside[np.flatnonzero(has)[~allowed[inverse]]] = True
    if outside.any():
        row = outside.argmax()
        raise BadInput(
            f"{source}: {_row_label(frame, outside, source)} field 'response' "
            f"({_plain(response.iloc[row])!r}) is not among the options shown "
            f"({_plain(shown.iloc[row])!r})."
        )


def _check_assumed_options(frame: pd.DataFrame, source: str) -> None:
    """Without options_shown the buttons are taken to be the test classes (+ "none"): at
    least two, or there is no chance level."""
    for condition, buttons in _assumed_options(frame).items():
        if buttons < 2:
            rows = (frame["condition"] == condition).to_numpy()
            raise BadInput(
                f"{source}: {_row_label(frame, rows, source)} field 'options_shown' is missing, "
                f"and the test trials of {condition} have one class ('true_class'), so the "
                "buttons shown (taken to be the classes) are fewer than 2."
            )


def _check_outcomes(frame: pd.DataFrame, source: str) -> None:
    """`correct` and `is_none` must say what the answer says (attention checks may ask for
    any option, so only their timeouts are checked)."""
    response = frame["response"]
    timed_out = (response == TIMEOUT).to_numpy()
    said_none = (response == NONE).to_numpy()
    kind = frame["trial_type"]
    expected = np.where(
        (kind == FOIL).to_numpy(), said_none, _equal_text(response, frame["true_class"])
    )
    expected &= ~timed_out
    checks = [name for name, role in roles().items() if role == CHECK]
    checked = (~kind.isin(checks).to_numpy() | timed_out) & frame["correct"].notna().to_numpy()
    contradicts = checked & (frame["correct"].to_numpy() != expected)
    if contradicts.any():
        row = contradicts.argmax()
        raise BadInput(
            f"{source}: {_row_label(frame, contradicts, source)} field 'correct' is "
            f"{int(frame['correct'].iloc[row])}, but the answer {_plain(response.iloc[row])!r} to "
            f"a {_plain(kind.iloc[row])} trial of true class "
            f"{_plain(frame['true_class'].iloc[row])!r} is {_outcome(bool(expected[row]))}."
        )
    wrong_flag = frame["is_none"].to_numpy() != said_none
    if wrong_flag.any():
        row = wrong_flag.argmax()
        raise BadInput(
            f"{source}: {_row_label(frame, wrong_flag, source)} field 'is_none' is "
            f"{int(frame['is_none'].iloc[row])}, but the answer is "
            f"{_plain(response.iloc[row])!r}."
        )


def _outcome(right: bool) -> str:
    return "right (1)" if right else "not right (0)"


def _equal_text(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Elementwise a == b for two categorical text columns (a missing value equals nothing)."""
    union = a.cat.categories.union(b.cat.categories)
    codes_a = a.cat.set_categories(union).cat.codes.to_numpy()
    codes_b = b.cat.set_categories(union).cat.codes.to_numpy()
    return (codes_a == codes_b) & (codes_a >= 0)


def _plain(value: object) -> object:
    """A numpy scalar as the plain Python value (messages show 3, not np.int64(3))."""
    return value.item() if isinstance(value, np.generic) else value


def analysed_columns(trials: pd.DataFrame) -> list[str]:
    """The ANALYSED_COLUMNS `trials` has, in that order: the analyses take a narrow copy of
    these once, and every later step reads it instead of the full table."""
    return [column for column in ANALYSED_COLUMNS if column in trials.columns]


def answer_category(trials: pd.DataFrame) -> pd.Series:
    """correct / wrong / none / timeout per row (`sketchlab.contracts.ANSWER_CATEGORIES`)."""
    category = np.where(trials["correct"].to_numpy() == 1, CORRECT, WRONG).astype(object)
    category[(trials["is_none"].to_numpy() == 1) & (category == WRONG)] = NONE
    category[(trials["response"] == TIMEOUT).to_numpy()] = TIMEOUT
    return pd.Series(category, index=trials.index, name="answer")


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
    """Buttons shown per test trial in each forced-choice condition (the chance level is 1 /
    this).

    Read from `options_shown` (the most common count on test trials); without that column,
    assume every class was offered, plus "none" in the with_none condition.
    """
    tests = frame[frame["trial_type"] == TEST]
    counts = _assumed_options(frame)
    for condition in counts:
        rows = tests[tests["condition"] == condition]
        if "options_shown" in rows.columns and rows["options_shown"].notna().any():
            shown = rows["options_shown"].value_counts()
            buttons = pd.Series(
                shown.to_numpy(),
                index=pd.Index(shown.index.astype(str)).str.count(f"\\{OPTION_SEPARATOR}") + 1,
            )
            counts[condition] = int(buttons.groupby(level=0).sum().idxmax())
    return counts


def _assumed_options(frame: pd.DataFrame) -> dict[str, int]:
    """Buttons per condition when options_shown does not say: the test trials' classes, plus
    "none" in the with_none condition."""
    tests = frame[frame["trial_type"] == TEST]
    n_classes = max(int(tests["true_class"].nunique()), 1)
    return {
        condition: n_classes + (1 if condition == WITH_NONE else 0)
        for condition in ordered_conditions(frame)
    }
