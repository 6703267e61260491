"""The report's logistic mixed models, fitted by lme4's `glmer` in R (docs/analysis.md).

Two models of every included test trial (no subsample), each with crossed random effects
for participant and image and by-image condition slopes; their fixed effects, and what each
term means, come from `analysis.model_design`, built from the data before the fit:

- trend: `correct ~ with_none * log2(strokes / fewest) + (1 | participant) +
  (1 + with_none | image)`, so `with_none` is the with-vs-without difference at the fewest
  strokes and its interaction the change of that difference per doubling of strokes;
- levels: `correct ~ 0 + level + level:with_none + (same random effects)`, whose
  `level:with_none` terms are the with-vs-without contrast at each level.

Estimation: maximum likelihood with the Laplace approximation (`nAGQ = 1`); intervals are
Wald 95% (estimate ± 1.96 SE from the fit's covariance); no priors. Above `exact_max_trials`
trials glmer would take minutes, so the same two models are fitted as population-averaged
logistic regressions with two-way cluster-robust intervals (`analysis.population_model`),
and the result says so. A condition x level cell in which every answer is right (or wrong)
has no finite estimate (separation): it is found in the data before the fit, left out of the
per-level model, and its terms are reported as not estimable, never as numbers.

Each model is kept or dropped on its own (`GlmmResult.failed` says why one is missing), an
optimiser that stops with an error is followed by the next, and every lme4 warning or message
reaches the report as text. R runs as a separate `Rscript` process on `glmer.R` (CSV in, CSV
out): no compiled bridge to build against R's headers, a crash in R cannot take Python down,
and a reviewer can run the same script on the same CSV. Both models (and, for simulations,
many datasets) are fitted in one R session, in parallel processes.

Reproducibility: lme4's arithmetic depends in its last bits on where the process's memory
lands, and on a singular fit (flat likelihood) that moves the optimum and can flip the
finite-difference Hessian between usable and not (standard errors then differ by ~10%).
R therefore runs with address-space randomisation off (`setarch -R`, Linux), which makes
every run of the same data bit-identical; where the system refuses that, the result says so
(`GlmmResult.reproducible`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.accuracy import test_trials
from analysis.model_design import ModelDesign, model_designs, separated_cells
from analysis.model_result import GlmmResult, holm_contrasts, term_table
from analysis.population_model import fit_population_averaged
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
MAX_EVALUATIONS = 100_000
"""The optimiser's budget of likelihood evaluations per fit (lme4 warns when it runs out)."""
R_INSTALL = "Debian: apt-get install r-base-core r-cran-lme4"
R_MISSING = f"R is not installed ({R_INSTALL})."
LME4_MISSING = (
    "R's lme4 package is not installed (Debian: apt-get install r-cran-lme4; elsewhere, in R: "
    "install.packages('lme4'))."
)


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
    results, pending = {}, {}
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
            pending[number] = (frame, model_designs(frame))
    if pending:
        output = _run_r(pending, cores)
        for number, (frame, designs) in pending.items():
            results[number] = _result(frame, designs, output[output["dataset"] == number])
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


@functools.cache
def _fixed_layout() -> list[str]:
    """`setarch -R` where this system allows it (address-space randomisation off for R, so
    its floating-point sums, and with them the fit, are the same on every run), else []."""
    setarch = shutil.which("setarch")
    if setarch is None:
        return []
    allowed = subprocess.run([setarch, "-R", "true"], capture_output=True).returncode == 0
    return [setarch, "-R"] if allowed else []


def _run_r(pending: dict, cores: int | None) -> pd.DataFrame:
    """Fit every model of every pending dataset in one R session; the long output table."""
    cores = cores or min(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="sketchlab-glmer-") as folder:
        folder = Path(folder)
        tasks = []
        for number, (frame, designs) in pending.items():
            path = folder / f"trials{number}.csv"
            columns = {"correct": frame["correct"], "participant": frame["participant"],
                       "image": frame["image"], "with_none": frame["with_none"]}  # fmt: skip
            for name, design in designs.items():
                columns.update(_r_columns(design))
                columns[f"{name}_rows"] = design.rows.astype(np.int8)
                tasks.append(
                    {"dataset": number, "model": name, "file": str(path),
                     "subset": f"{name}_rows", "formula": _r_formula(design),
                     "derivs": int(int(design.rows.sum()) <= DERIVATIVES_MAX_TRIALS),
                     "max_evaluations": MAX_EVALUATIONS}
                )  # fmt: skip
            pd.DataFrame(columns).to_csv(path, index=False)
        pd.DataFrame(tasks).to_csv(folder / "models.csv", index=False)
        command = [
            *_fixed_layout(), "Rscript", "--vanilla", str(SCRIPT), str(folder / "models.csv"),
            str(folder / "out.csv"), str(cores),
        ]  # fmt: skip
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0 or not (folder / "out.csv").is_file():
            last = " ".join((finished.stderr.strip().splitlines() or ["no output"])[-3:])
            return pd.DataFrame(
                {"dataset": [t["dataset"] for t in tasks], "model": [t["model"] for t in tasks],
                 "kind": "error", "term": f"R failed: {last}", "estimate": np.nan,
                 "se": np.nan}
            )  # fmt: skip
        output = pd.read_csv(folder / "out.csv", keep_default_na=False, na_values=["NA"])
    output["term"] = output["term"].astype(str)
    return output


def _r_columns(design: ModelDesign) -> dict[str, np.ndarray]:
    """The design's fitted columns under names R accepts (model_1, model_2, ...)."""
    return {f"{design.name}_{k}": values for k, values in enumerate(design.columns.values(), 1)}


def _r_formula(design: ModelDesign) -> str:
    return f"correct ~ 0 + {' + '.join(_r_columns(design))} + {design.random}"


def _result(frame: pd.DataFrame, designs: dict[str, ModelDesign], output) -> GlmmResult:
    formulas = {name: design.formula for name, design in designs.items()}
    failed = {}
    for name in designs:
        errors = output[(output["model"] == name) & (output["kind"] == "error")]
        if not errors.empty:
            failed[name] = f"the fit failed ({errors['term'].iloc[0]})"
    fitted = [name for name in designs if name not in failed]
    if not fitted:
        reason = "; ".join(f"{name}: {why}" for name, why in failed.items())
        return GlmmResult(False, reason + ".", formulas=formulas, failed=failed)
    tables = []
    for name in fitted:
        mine = output[output["model"] == name]
        fixed = mine[mine["kind"] == "fixed"]
        names = dict(zip(_r_columns(designs[name]), designs[name].columns, strict=True))
        tables.append(term_table(designs[name], fixed.assign(term=fixed["term"].map(names))))
    terms = holm_contrasts(pd.concat(tables, ignore_index=True))
    random = output[(output["kind"] == "random") & output["model"].isin(fitted)]
    group, effect = _split_random(random["term"])

    def per_model(kind: str) -> dict[str, str]:
        rows = output[(output["kind"] == kind) & output["model"].isin(fitted)]
        return dict(zip(rows["model"], rows["term"], strict=True))

    said = output[(output["kind"] == "warning") & output["model"].isin(fitted)]
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
            for name in fitted
        },  # fmt: skip
        warnings=sorted(
            {f"{model}: {text}" for model, text in zip(said["model"], said["term"], strict=True)}
        ),
        separation=[sentence for _, _, sentence in separated_cells(frame)],
        failed=failed,
        optimizers=per_model("optimizer"),
        reproducible=bool(_fixed_layout()),
        n_trials=len(frame),
        n_participants=int(frame["participant"].nunique()),
        n_images=int(frame["image"].nunique()),
        seconds=float(output.loc[output["kind"] == "seconds", "estimate"].max()),
    )


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
