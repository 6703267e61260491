"""plan.json: `sketchlab plan --json`'s output, which `sketchlab preregister --plan` reads.

Every field of the planner's `Plan` is written as it is (its table as rows, its response
model with its assumptions), so whatever the planner computes reaches the preregistration
without being restated here; `design` records the study design it was planned for (cells,
test images, levels), so a plan cannot justify the sample of another design.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from sketchlab.errors import BadInput
from sketchlab.files import atomic_write

FORMAT = "sketchlab-plan/1"
WRITE_IT = "write it with `sketchlab plan STUDY --participants N --json plan.json`"


def design_summary(design) -> dict:
    """What makes two designs the same for planning (`analysis.study_simulation.StudyDesign`):
    the condition x list cells, the test images and the levels."""
    return {
        "cells": [[condition, int(list_id)] for condition, list_id in design.cells],
        "images": list(design.images),
        "levels": [int(level) for level in design.levels],
    }


def write_plan(plan, design, study_yaml: Path, path: Path) -> Path:
    """Write the planner's `Plan` for `design` (of `study_yaml`) to `path`, atomically."""
    record: dict = {"format": FORMAT, "study": str(study_yaml), "design": design_summary(design)}
    for field in dataclasses.fields(plan):
        value = getattr(plan, field.name)
        if isinstance(value, pd.DataFrame):
            record["columns"] = list(value.columns)
            record["rows"] = json.loads(value.to_json(orient="records"))
        elif dataclasses.is_dataclass(value):
            record[field.name] = dataclasses.asdict(value)
        else:
            record[field.name] = value
    with atomic_write(path, encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")
    return path


def read_plan(path: Path, design) -> dict:
    """plan.json, checked: readable, of this format, planned for `design`."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInput(f"{path}: cannot be read as plan.json ({error})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise BadInput(f"{path}: field 'format' is not {FORMAT} ({WRITE_IT})")
    for key in ("design", "rows", "columns"):
        if key not in record:
            raise BadInput(f"{path}: field '{key}' is missing ({WRITE_IT})")
    wanted = design_summary(design)
    for key, value in wanted.items():
        if record["design"].get(key) != value:
            raise BadInput(
                f"{path}: field 'design.{key}' differs from the study's, so this plan was made "
                f"for another design; rerun `sketchlab plan` on this study.yaml"
            )
    return record
