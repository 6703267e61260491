"""The one reader of stimuli.csv, shared by `study check`, `score` and the report.

`sketchlab generate` writes stimuli.csv (docs/generation.md); researchers may also write one
by hand with only the required columns. Either way it is checked here, against the rules of
`sketchlab.contracts`, before anything uses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sketchlab.contracts import (
    MAX_STROKES,
    STIMULI_REQUIRED,
    class_name_problem,
    id_problem,
)
from sketchlab.errors import BadInput


def read_stimuli(path: str | Path, *, check_files: bool = True) -> pd.DataFrame:
    """stimuli.csv as a table: text columns as str, `n_strokes` int, `final_loss` float (inf
    where absent), plus `png_file`, the absolute path of each PNG (relative paths resolve
    against the CSV's folder).

    Raises BadInput naming the file, the row (the header is row 1) and the field for: a
    missing file or column, no rows, an invalid or repeated stimulus_id, an invalid image_id
    or class name, a stroke count that is not a whole number in 1..1024, and (with
    `check_files`) a PNG that does not exist.
    """
    path = Path(path)
    table = _read_table(path)
    seen: dict[str, int] = {}
    strokes, png_files = [], []
    for index, row in enumerate(table.to_dict("records")):
        where = f"{path} row {index + 2}"
        strokes.append(_checked_row(row, where, index + 2, seen))
        png = (path.parent / row["png_path"]).resolve()
        if check_files and (not row["png_path"] or not png.is_file()):
            raise BadInput(f"{where}: field 'png_path' names {png}, which does not exist.")
        png_files.append(png)
    table["n_strokes"] = np.array(strokes, dtype=int)
    table["png_file"] = png_files
    losses = table["final_loss"] if "final_loss" in table.columns else pd.Series("", table.index)
    table["final_loss"] = pd.to_numeric(losses, errors="coerce").fillna(np.inf)
    return table


def _read_table(path: Path) -> pd.DataFrame:
    """The CSV as text with the required columns, their cells stripped: the checks on the
    whole file, before any row is looked at."""
    if not path.is_file():
        raise BadInput(f"{path} does not exist (stimuli.csv is written by `sketchlab generate`).")
    try:  # utf-8-sig: Excel's byte-order mark
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise BadInput(
            f"{path} is empty; expected the header {', '.join(STIMULI_REQUIRED)}."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadInput(f"{path} is not a readable CSV file ({error}).") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in STIMULI_REQUIRED if c not in table.columns]
    if missing:
        raise BadInput(
            f"{path} has no column '{missing[0]}' (needs {', '.join(STIMULI_REQUIRED)})."
        )
    if table.empty:
        raise BadInput(f"{path} has a header but no rows.")
    for column in ("stimulus_id", "image_id", "class", "n_strokes", "png_path"):
        table[column] = table[column].str.strip()
    return table


def _checked_row(row: dict, where: str, row_number: int, seen: dict[str, int]) -> int:
    """The stroke count of one row, after checking its ids (recording its stimulus_id in
    `seen`, id -> row number, so that a repeat names the first row), class and strokes."""
    for column in ("stimulus_id", "image_id"):
        problem = id_problem(row[column])
        if problem:
            raise BadInput(f"{where}: field '{column}' {problem}.")
    if row["stimulus_id"] in seen:
        raise BadInput(
            f"{where}: field 'stimulus_id' {row['stimulus_id']!r} is already used in row "
            f"{seen[row['stimulus_id']]}."
        )
    seen[row["stimulus_id"]] = row_number
    problem = class_name_problem(row["class"])
    if problem:
        raise BadInput(f"{where}: field 'class': {problem}.")
    try:
        n_strokes = int(row["n_strokes"])
    except ValueError:
        n_strokes = 0
    if not 1 <= n_strokes <= MAX_STROKES:
        raise BadInput(
            f"{where}: field 'n_strokes' {row['n_strokes']!r} must be a whole number of "
            f"strokes from 1 to {MAX_STROKES}."
        )
    return n_strokes
