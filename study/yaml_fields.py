"""The building blocks of study.yaml's schema that the trial types share with `study.config`:
a strict section, ids and class-name lists. Their own module, so that a trial type declares
its fields without importing the config that reads the trial-type registry."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from sketchlab.contracts import class_name_problem, id_problem


def _valid_id(value: str) -> str:
    problem = id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Id = Annotated[str, AfterValidator(_valid_id)]
"""Ids that reach the database or a URL: study ids and completion codes."""


def class_names(value: list[str]) -> list[str]:
    """`value` if every entry is a valid class name (`sketchlab.contracts`) and none repeats."""
    for name in value:
        problem = class_name_problem(name)
        if problem:
            raise ValueError(problem)
    if len(set(value)) != len(value):
        raise ValueError("lists a class twice")
    return value


ClassNames = Annotated[list[str], AfterValidator(class_names)]
"""A list of distinct class names (options, foil classes)."""


class Strict(BaseModel):
    """A study.yaml section: unknown keys are errors, values cannot change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
