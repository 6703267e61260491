"""The fixed effects of the report's two models, built from the data before any fit.

Both fits (lme4's glmer, `analysis.glmm`, and the population-averaged approximation,
`analysis.population_model`) take their design columns and the meaning of every term from
here, so a label always describes the column that was fitted: with only with-"none" answers
the intercept says 'with "none"'; a level that one condition lacks (or where every answer of
a condition was right or wrong: separation) has no contrast term, and the report says why
instead of letting R drop a column silently.

- trend: (Intercept), with_none, log2_strokes, with_none:log2_strokes, where log2_strokes is
  log2(strokes / fewest), so the intercept and `with_none` are at the fewest strokes;
- levels: level{L} (the log-odds of the reference condition at L: without "none" where it has
  answers) and level{L}:with_none (the with-vs-without contrast at L), on the answers of the
  condition x level cells that have variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NONE_LABEL = 'with vs without "none"'
SEPARATION = "not estimable: separation"
"""The note of a term whose cell had no variation (every answer right, or every one wrong)."""


@dataclass(frozen=True)
class ModelDesign:
    """One model's fixed effects: what is fitted and what could not be."""

    name: str
    columns: dict[str, np.ndarray]
    """Term -> design column over all rows of the model frame (only `rows` are fitted)."""
    rows: np.ndarray
    """Which rows of the model frame the model is fitted to."""
    meanings: dict[str, str]
    """Term -> what it means, in words, for every term (fitted or not)."""
    missing: dict[str, str]
    """Term -> why it is not estimable from these data (not fitted)."""
    random: str
    """The random-effects part of the formula."""

    @property
    def terms(self) -> list[str]:
        """Every term in display order, fitted or not."""
        return list(self.meanings)

    @property
    def formula(self) -> str:
        """The model as an R formula over the fitted terms (what a reader reruns)."""
        start = "1" if "(Intercept)" in self.columns else "0"
        fixed = [start] + [term for term in self.columns if term != "(Intercept)"]
        return f"correct ~ {' + '.join(fixed)} + {self.random}"


def condition_label(with_none: int) -> str:
    return 'with "none"' if with_none else 'without "none"'


def separated_cells(frame: pd.DataFrame) -> list[tuple[int, int, str]]:
    """(with_none, level, sentence) for every condition x level cell without variation."""
    cells = frame.groupby(["with_none", "level"])["correct"].agg(["mean", "size"])
    found = []
    for (with_none, level), cell in cells.iterrows():
        if cell["mean"] in (0.0, 1.0):
            outcome = "right" if cell["mean"] == 1 else "wrong"
            found.append(
                (
                    int(with_none),
                    int(level),
                    f"every one of the {int(cell['size'])} answers {condition_label(with_none)} "
                    f"at {level} strokes was {outcome} (separation), so the terms of that cell "
                    "have no finite estimate",
                )
            )
    return found


def random_effects(frame: pd.DataFrame) -> str:
    """Crossed participant and image intercepts, with a by-image condition slope when there
    are two conditions; no image effects with one image."""
    random = "(1 | participant)"
    if frame["image"].nunique() > 1:
        two = frame["with_none"].nunique() > 1
        random += " + (1 + with_none | image)" if two else " + (1 | image)"
    return random


def model_designs(frame: pd.DataFrame) -> dict[str, ModelDesign]:
    """The trend model, and (with more than one level) the per-level model, of
    `glmm.model_frame` rows (module docstring)."""
    designs = {"trend": _trend(frame)}
    if frame["level"].nunique() > 1:
        designs["levels"] = _levels(frame)
    return designs


def _trend(frame: pd.DataFrame) -> ModelDesign:
    with_none = frame["with_none"].to_numpy(float)
    strokes = frame["log2_strokes"].to_numpy(float)
    fewest = int(frame["level"].min())
    two_conditions = frame["with_none"].nunique() > 1
    reference = condition_label(0 if two_conditions else int(with_none[0]))
    columns = {"(Intercept)": np.ones(len(frame))}
    meanings = {"(Intercept)": f"odds of a right answer {reference}, at {fewest} strokes"}
    if two_conditions:
        columns["with_none"] = with_none
        meanings["with_none"] = f"{NONE_LABEL}, at {fewest} strokes (odds ratio)"
    if frame["level"].nunique() > 1:
        columns["log2_strokes"] = strokes
        meanings["log2_strokes"] = f"per doubling of the strokes, {reference} (odds ratio)"
        if two_conditions:
            columns["with_none:log2_strokes"] = with_none * strokes
            meanings["with_none:log2_strokes"] = (
                f"change of the {NONE_LABEL} odds ratio per doubling of the strokes (ratio of "
                "odds ratios)"
            )
    rows = np.ones(len(frame), dtype=bool)
    return ModelDesign("trend", columns, rows, meanings, {}, random_effects(frame))


def _levels(frame: pd.DataFrame) -> ModelDesign:
    level = frame["level"].to_numpy()
    with_none = frame["with_none"].to_numpy()
    present = set(zip(with_none.tolist(), level.tolist(), strict=True))
    separated = {(w, lv) for w, lv, _ in separated_cells(frame)}
    kept = present - separated
    two_conditions = len({w for w, _ in present}) > 1

    def why(cell: tuple[int, int]) -> str:
        if cell in separated:
            return SEPARATION
        return f"not estimable: no answers {condition_label(cell[0])} at {cell[1]} strokes"

    columns, meanings, missing, contrasts = {}, {}, {}, {}
    for value in sorted(set(level.tolist())):
        at = level == value
        fitted = [(w, value) for w in (0, 1) if (w, value) in kept]
        # The reference: without "none" where it has answers with variation, else with.
        base = fitted[0][0] if fitted else (0 if (0, value) in present else 1)
        name = f"level{value}"
        meanings[name] = f"odds of a right answer {condition_label(base)}, at {value} strokes"
        if fitted:
            columns[name] = at.astype(float)
        else:
            missing[name] = why((base, value))
        if two_conditions:
            contrast = f"{name}:with_none"
            contrasts[contrast] = f"{NONE_LABEL}, at {value} strokes (odds ratio)"
            if len(fitted) == 2:
                columns[contrast] = (at & (with_none == 1)).astype(float)
            else:
                lacking = next(c for c in ((0, value), (1, value)) if c not in kept)
                missing[contrast] = why(lacking)
    meanings.update(contrasts)
    columns = {term: columns[term] for term in meanings if term in columns}  # display order
    rows = np.array([cell in kept for cell in zip(with_none.tolist(), level.tolist(), strict=True)])
    return ModelDesign("levels", columns, rows, meanings, missing, random_effects(frame))
