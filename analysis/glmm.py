"""The report's logistic mixed models, fitted by lme4's `glmer` in R (docs/analysis.md).

Two models of every included test trial (no subsample), each with crossed random effects
for participant and image and by-image condition slopes:

- trend: `correct ~ with_none * log2(strokes / fewest) + (1 | participant) +
  (1 + with_none | image)`, so `with_none` is the with-vs-without difference at the fewest
  strokes and its interaction the change of that difference per doubling of strokes;
- levels: `correct ~ 0 + level + level:with_none + (same random effects)`, whose
  `level:with_none` terms are the with-vs-without contrast at each level.

Estimation: maximum likelihood with the Laplace approximation (`nAGQ = 1`); intervals are
Wald 95% (estimate ± 1.96 SE from the fit's covariance); no priors. Above `exact_max_trials`
trials glmer would take minutes, so the same two models are fitted as population-averaged
logistic regressions with two-way cluster-robust intervals (`analysis.population_model`),
and the result says so. Cells in which every answer is right (or wrong) give terms without a
finite estimate (separation): they are found in the data before the fit and reported, never
shown as numbers.

R runs as a separate `Rscript` process on `glmer.R` (CSV in, CSV out): no compiled bridge
to build against R's headers, a crash in R cannot take Python down, and a reviewer can run
the same script on the same CSV. Both models (and, for simulations, many datasets) are
fitted in one R session, in parallel processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.accuracy import test_trials
from analysis.multiple_testing import holm
from sketchlab.bundled import package_file
from sketchlab.contracts import WITH_NONE
from sketchlab.errors import BadInput

SCRIPT = package_file("analysis", "glmer.R")
MIN_TRIALS = 40
MIN_PARTICIPANTS = 4
EXACT_MAX_TRIALS = 150_000
"""Above this many trials, the population-averaged approximation (glmer takes about a minute
per 100,000 trials on two cores)."""
DERIVATIVES_MAX_TRIALS = 20_000
"""Up to this many trials lme4 also checks convergence with finite-difference derivatives."""
SEPARATED_LOGIT = 10.0
"""A term beyond +-10 log-odds (odds ratio 22,000) comes from a cell without variation."""
R_INSTALL = "Debian: apt-get install r-base-core r-cran-lme4"
R_MISSING = f"R is not installed ({R_INSTALL})."
LME4_MISSING = (
    "R's lme4 package is not installed (Debian: apt-get install r-cran-lme4; elsewhere, in R: "
    "install.packages('lme4'))."
)
RANDOM_EFFECTS = "(1 | participant) + (1 + with_none | image)"
NONE_LABEL = 'with vs without "none"'


@dataclass(frozen=True)
class GlmmResult:
    """What the report shows of the mixed models (or why there are none)."""

    fitted: bool
    reason: str = ""
    """Why the models were not fitted (empty when they were)."""
    terms: pd.DataFrame = field(default_factory=pd.DataFrame)
    """model, term, meaning, estimate, se, ci_low, ci_high (log-odds, Wald 95%), odds_ratio,
    or_low, or_high, p, p_holm (the per-level contrasts, Holm-adjusted), note."""
    random_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    """model, group, effect, value: SDs (log-odds) and correlations of the random effects."""
    formulas: dict[str, str] = field(default_factory=dict)
    method: str = ""
    """Estimation and interval method, in words."""
    singular: dict[str, bool] = field(default_factory=dict)
    """Per model: a random-effect variance or correlation at its boundary (lme4 isSingular)."""
    warnings: list[str] = field(default_factory=list)
    separation: list[str] = field(default_factory=list)
    """One sentence per condition x level cell without variation."""
    n_trials: int = 0
    n_participants: int = 0
    n_images: int = 0
    seconds: float = 0.0
    """Wall-clock seconds of the fits (the slower of the two R processes)."""


def fit_glmm(
    trials: pd.DataFrame, *, exact_max_trials: int = EXACT_MAX_TRIALS, cores: int | None = None
) -> GlmmResult:
    """Fit both models to the included test trials of `trials` (module docstring)."""
    return fit_glmm_many([trials], exact_max_trials=exact_max_trials, cores=cores)[0]


def fit_glmm_many(
    datasets: list[pd.DataFrame],
    *,
    exact_max_trials: int = EXACT_MAX_TRIALS,
    cores: int | None = None,
) -> list[GlmmResult]:
    """`fit_glmm` for several responses tables in one R session (simulations, coverage)."""
    from analysis.population_model import fit_population_averaged

    frames, specs, results = {}, [], {}
    for number, trials in enumerate(datasets):
        frame = model_frame(trials)
        problem = _too_little(frame)
        if problem:
            results[number] = GlmmResult(False, problem)
        elif len(frame) > exact_max_trials:
            results[number] = fit_population_averaged(frame, exact_max_trials)
        elif shutil.which("Rscript") is None:
            results[number] = GlmmResult(False, R_MISSING)
        else:
            derivs = len(frame) <= DERIVATIVES_MAX_TRIALS
            for name, formula in _formulas(frame).items():
                specs.append((number, name, formula, int(derivs)))
            frames[number] = frame.assign(dataset=number)
    if frames:
        output = _run_r(pd.concat(frames.values(), ignore_index=True), specs, cores)
        for number, frame in frames.items():
            mine = [spec for spec in specs if spec[0] == number]
            results[number] = _result(frame, mine, output[output["dataset"] == number])
    return [results[number] for number in range(len(datasets))]


def require_r(needed_by: str, instead: str | None = None) -> None:
    """BadInput with the install line when glmer cannot run here (no Rscript on PATH, or R
    without lme4), for a command that cannot do without the mixed model (`needed_by` names
    it; `instead` how to do without). The report itself does without, and says why. Costs
    one short R process."""
    rscript = shutil.which("Rscript")
    problem = None
    if rscript is None:
        problem = R_MISSING
    elif subprocess.run(
        [rscript, "--vanilla", "-e", "library(lme4)"], capture_output=True
    ).returncode:
        problem = LME4_MISSING
    if problem:
        alternative = f"; or {instead}" if instead else ""
        raise BadInput(f"{needed_by} fits the mixed model in R, but {problem[:-1]}{alternative}.")


def model_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per included test trial, in the columns glmer.R reads."""
    tests = test_trials(trials)
    item = next(
        (c for c in ("image_id", "stimulus_id") if c in tests.columns and tests[c].notna().all()),
        None,
    )
    strokes = tests["n_strokes"].to_numpy(dtype=float)
    fewest = strokes.min() if len(strokes) else 1.0
    return pd.DataFrame(
        {
            "correct": tests["correct"].to_numpy(dtype=np.int8),
            "participant": pd.factorize(tests["participant_id"])[0],
            "image": pd.factorize(tests[item])[0] if item else 0,
            "with_none": (tests["condition"] == WITH_NONE).to_numpy(dtype=np.int8),
            "log2_strokes": np.log2(strokes / fewest),
            "level": strokes.astype(int),
        }
    )


def _too_little(frame: pd.DataFrame) -> str:
    people = frame["participant"].nunique()
    if len(frame) < MIN_TRIALS or people < MIN_PARTICIPANTS:
        return (
            f"too little data ({len(frame)} test trials from {people} participants; needs at "
            f"least {MIN_TRIALS} trials from {MIN_PARTICIPANTS})."
        )
    if frame["correct"].nunique() < 2:
        return "every included test answer has the same outcome, so there is nothing to model."
    return ""


def _formulas(frame: pd.DataFrame) -> dict[str, str]:
    """The models the data can identify: no condition terms with one condition, no stroke
    terms with one level, no image effects with one image."""
    two_conditions = frame["with_none"].nunique() > 1
    levels = frame["level"].nunique() > 1
    images = frame["image"].nunique() > 1
    random = "(1 | participant)"
    if images:
        random += " + (1 + with_none | image)" if two_conditions else " + (1 | image)"
    trend = " * ".join(
        term for term, present in (("with_none", two_conditions), ("log2_strokes", levels))
        if present
    )  # fmt: skip
    formulas = {"trend": f"correct ~ {trend or '1'} + {random}"}
    if levels:
        by_level = "0 + level" + (" + level:with_none" if two_conditions else "")
        formulas["levels"] = f"correct ~ {by_level} + {random}"
    return formulas


def _run_r(frame: pd.DataFrame, specs: list[tuple], cores: int | None) -> pd.DataFrame:
    cores = cores or min(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="sketchlab-glmer-") as folder:
        folder = Path(folder)
        frame.to_csv(folder / "trials.csv", index=False)
        pd.DataFrame(specs, columns=["dataset", "model", "formula", "derivs"]).to_csv(
            folder / "models.csv", index=False
        )
        command = [
            "Rscript", "--vanilla", str(SCRIPT), str(folder / "trials.csv"),
            str(folder / "models.csv"), str(folder / "out.csv"), str(cores),
        ]  # fmt: skip
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0 or not (folder / "out.csv").is_file():
            last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
            return pd.DataFrame(
                {"dataset": [s[0] for s in specs], "model": [s[1] for s in specs],
                 "kind": "error", "term": f"R failed: {last}", "estimate": np.nan,
                 "se": np.nan}
            )  # fmt: skip
        return pd.read_csv(folder / "out.csv", keep_default_na=False, na_values=["NA"])


def _result(frame: pd.DataFrame, specs: list[tuple], output: pd.DataFrame) -> GlmmResult:
    errors = output[output["kind"] == "error"]
    formulas = {name: formula for _, name, formula, _ in specs}
    if not errors.empty:
        return GlmmResult(False, f"the fit failed ({errors['term'].iloc[0]}).", formulas=formulas)
    fewest = int(frame["level"].min())
    separated = separated_cells(frame)
    terms = []
    for name in formulas:
        fixed = output[(output["model"] == name) & (output["kind"] == "fixed")]
        terms.append(term_table(name, fixed, fewest, separated))
    terms = holm_contrasts(pd.concat(terms, ignore_index=True))
    random = output[output["kind"] == "random"]
    group, effect = _split_random(random["term"])
    return GlmmResult(
        True,
        terms=terms,
        random_effects=pd.DataFrame(
            {
                "model": random["model"].to_numpy(),
                "group": group,
                "effect": effect,
                "value": random["estimate"].to_numpy(),
            }
        ),  # fmt: skip
        formulas=formulas,
        method="lme4::glmer, maximum likelihood with the Laplace approximation (nAGQ = 1); "
        "Wald 95% intervals (estimate ± 1.96 SE); no priors",
        singular={
            name: bool(
                output.loc[
                    (output["model"] == name) & (output["kind"] == "singular"), "estimate"
                ].max()
                > 0
            )
            for name in formulas
        },  # fmt: skip
        warnings=sorted(
            {" ".join(w.split()) for w in output.loc[output["kind"] == "warning", "term"]}
        ),
        separation=[sentence for _, _, sentence in separated],
        n_trials=len(frame),
        n_participants=int(frame["participant"].nunique()),
        n_images=int(frame["image"].nunique()),
        seconds=float(output.loc[output["kind"] == "seconds", "estimate"].max()),
    )


def separated_cells(frame: pd.DataFrame) -> list[tuple[int, int, str]]:
    """(with_none, level, sentence) for every condition x level cell without variation."""
    cells = frame.groupby(["with_none", "level"])["correct"].agg(["mean", "size"])
    found = []
    for (with_none, level), cell in cells.iterrows():
        if cell["mean"] in (0.0, 1.0):
            condition = 'with "none"' if with_none else 'without "none"'
            outcome = "right" if cell["mean"] == 1 else "wrong"
            found.append(
                (
                    int(with_none),
                    int(level),
                    f"every one of the {int(cell['size'])} answers {condition} at {level} "
                    f"strokes was {outcome} (separation), so the terms of that cell have no "
                    "finite estimate",
                )
            )
    return found


def term_table(model: str, fixed: pd.DataFrame, fewest: int, separated: list) -> pd.DataFrame:
    estimate = fixed["estimate"].to_numpy(dtype=float)
    se = fixed["se"].to_numpy(dtype=float)
    names = fixed["term"].tolist()
    touched = {level for _, level, _ in separated}
    notes = []
    for name, value, error in zip(names, estimate, se):
        level = _level_of(name)
        if (model == "levels" and level in touched) or abs(value) > SEPARATED_LOGIT:
            notes.append("not estimable: separation")
        else:
            notes.append("")
    blank = np.array([bool(note) for note in notes])
    estimate = np.where(blank, np.nan, estimate)
    se = np.where(blank, np.nan, se)
    low, high = estimate - 1.96 * se, estimate + 1.96 * se
    return pd.DataFrame(
        {
            "model": model,
            "term": names,
            "meaning": [_meaning(name, fewest) for name in names],
            "estimate": estimate,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "odds_ratio": np.exp(estimate),
            "or_low": np.exp(low),
            "or_high": np.exp(high),
            "p": 2 * stats.norm.sf(np.abs(estimate / se)),
            "note": notes,
        }
    )


def holm_contrasts(terms: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values for the per-level with-vs-without contrasts (one family)."""
    terms["p_holm"] = np.nan
    family = (terms["model"] == "levels") & terms["term"].str.endswith(":with_none")
    terms.loc[family, "p_holm"] = holm(terms.loc[family, "p"])
    return terms


def _level_of(name: str) -> int | None:
    head = name.split(":")[0]
    return int(head[len("level") :]) if head.startswith("level") else None


def _meaning(name: str, fewest: int) -> str:
    """What a term of either model means, in words (R's term name in, sentence out)."""
    level = _level_of(name)
    if level is not None:
        if name.endswith(":with_none"):
            return f"{NONE_LABEL}, at {level} strokes (odds ratio)"
        return f'odds of a right answer without "none", at {level} strokes'
    return {
        "(Intercept)": f'odds of a right answer without "none", at {fewest} strokes',
        "with_none": f"{NONE_LABEL}, at {fewest} strokes (odds ratio)",
        "log2_strokes": 'per doubling of the strokes, without "none" (odds ratio)',
        "with_none:log2_strokes": f"change of the {NONE_LABEL} odds ratio per doubling of "
        "the strokes (ratio of odds ratios)",
    }.get(name, name)


def _split_random(terms: pd.Series) -> tuple[list[str], list[str]]:
    """'image|(Intercept)|with_none' -> ('image', 'correlation (Intercept), with_none')."""
    groups, effects = [], []
    for term in terms:
        parts = term.split("|")
        groups.append(parts[0])
        if len(parts) == 3:
            effects.append(f"correlation of {parts[1]} and {parts[2]}")
        else:
            effects.append(f"SD of {parts[1]}")
    return groups, effects
