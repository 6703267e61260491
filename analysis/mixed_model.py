"""Mixed-effects logistic model: correct ~ stroke level x condition, random intercepts for
participant and image (crossed), fitted by variational Bayes with statsmodels'
`BinomialBayesMixedGLM` (shared reference study-and-analysis §4.3).

The fit is pure Python and slow (tens of seconds for a few thousand trials on a busy
2-core machine), so on large studies it runs on a random subsample of whole participants,
balanced over conditions, of at most `max_trials` test trials; the result says so. The
cell accuracies, intervals and the with/without comparison always use all the data.
When the model cannot be fitted (too little data, no variation, a singular or diverging
fit) the result carries the reason instead of raising, and the report prints it.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.accuracy import test_trials

MIN_TRIALS = 40
MIN_PARTICIPANTS = 4


@dataclass
class MixedModelResult:
    fitted: bool
    reason: str = ""
    """Why the model was not fitted (empty when it was)."""
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    """term, posterior_mean, posterior_sd (log-odds), odds_ratio, or_low, or_high (95%)."""
    random_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    """effect, sd (log-odds scale): participant and image random-intercept SDs."""
    formula: str = ""
    n_trials: int = 0
    n_participants: int = 0
    subsampled: bool = False


def fit_mixed_model(
    trials: pd.DataFrame, *, max_trials: int = 1000, seed: int = 0
) -> MixedModelResult:
    """Fit the model to the included test trials of `trials` (see module docstring)."""
    tests = test_trials(trials)
    if len(tests) < MIN_TRIALS or tests["participant_id"].nunique() < MIN_PARTICIPANTS:
        return MixedModelResult(
            False,
            f"too little data ({len(tests)} test trials from {tests['participant_id'].nunique()} "
            f"participants; needs at least {MIN_TRIALS} trials from {MIN_PARTICIPANTS}).",
        )
    subsampled = len(tests) > max_trials
    if subsampled:
        tests = _participant_subsample(tests, max_trials, seed)
    data = pd.DataFrame(
        {
            "correct": tests["correct"].to_numpy(dtype=float),
            "strokes": tests["n_strokes"].astype(int).astype(str).to_numpy(),
            "with_none": (tests["condition"] == "with_none").to_numpy(dtype=float),
            "participant": tests["participant_id"].astype(str).to_numpy(),
        }
    )
    item_column = next(
        (c for c in ("image_id", "stimulus_id") if c in tests.columns and tests[c].notna().all()),
        None,
    )
    if item_column:
        data["image"] = tests[item_column].astype(str).to_numpy()
    if data["correct"].nunique() < 2:
        return MixedModelResult(
            False, "every included test answer has the same outcome, so there is nothing to model."
        )

    levels = sorted(data["strokes"].unique(), key=int)
    terms = []
    if len(levels) > 1:
        terms.append(f"C(strokes, Treatment('{levels[0]}'), levels={levels!r})")
    if data["with_none"].nunique() > 1:
        terms.append("with_none")
    formula = "correct ~ " + (" * ".join(terms) if terms else "1")
    random = {"participant": "0 + C(participant)"}
    if item_column and data["image"].nunique() > 1:
        random["image"] = "0 + C(image)"

    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BinomialBayesMixedGLM.from_formula(formula, random, data, vcp_p=1.0, fe_p=2.0)
            mean, sd = _starting_values(model)
            result = model.fit_vb(mean=mean, sd=sd, minim_opts={"gtol": 1e-3, "maxiter": 300})
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as error:
        return MixedModelResult(
            False, f"the fit failed ({type(error).__name__}: {error}).", formula=formula
        )
    mean, sd = np.asarray(result.fe_mean), np.asarray(result.fe_sd)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))) or np.any(np.abs(mean) > 30):
        return MixedModelResult(
            False,
            "the fit did not converge to finite estimates (singular design).",
            formula=formula,
        )
    table = pd.DataFrame(
        {
            "term": [_readable(name, levels[0]) for name in model.exog_names],
            "posterior_mean": mean,
            "posterior_sd": sd,
            "odds_ratio": np.exp(mean),
            "or_low": np.exp(mean - 1.96 * sd),
            "or_high": np.exp(mean + 1.96 * sd),
        }
    )
    effects = pd.DataFrame({"effect": list(random), "sd": np.exp(np.asarray(result.vcp_mean))})
    return MixedModelResult(
        True,
        table=table,
        random_effects=effects,
        formula=f"{formula.replace(f', levels={levels!r}', '')}, random: {', '.join(random)}",
        n_trials=len(data),
        n_participants=int(data["participant"].nunique()),
        subsampled=subsampled,
    )


def _starting_values(model) -> tuple[np.ndarray, np.ndarray]:
    """Start the variational fit at a ridge logistic regression of the fixed effects (random
    effects at 0): same optimum, about half the iterations of the default start."""
    import statsmodels.api as sm

    glm = sm.GLM(model.endog, model.exog, family=sm.families.Binomial())
    fixed = glm.fit_regularized(alpha=0.01, L1_wt=0.0).params
    mean = np.concatenate([fixed, np.full(model.k_vcp, -1.0), np.zeros(model.k_vc)])
    sd = np.concatenate(
        [np.full(model.k_fep, 0.2), np.full(model.k_vcp, 0.2), np.full(model.k_vc, 0.5)]
    )
    return mean, sd


def _participant_subsample(tests: pd.DataFrame, max_trials: int, seed: int) -> pd.DataFrame:
    """Whole participants, drawn at random, equally many trials' worth per condition."""
    rng = np.random.default_rng(seed)
    per_person = tests.groupby("participant_id", observed=True).size()
    condition_of = tests.groupby("participant_id", observed=True)["condition"].first()
    conditions = condition_of.unique()
    chosen = []
    for condition in conditions:
        people = condition_of.index[condition_of == condition].to_numpy()
        people = rng.permutation(people)
        budget = max_trials // len(conditions)
        cumulative = np.cumsum(per_person.reindex(people).to_numpy())
        chosen.extend(people[: max(int(np.searchsorted(cumulative, budget, side="right")), 2)])
    return tests[tests["participant_id"].isin(chosen)]


def _readable(name: str, reference_level: str) -> str:
    """'C(strokes, Treatment('4'))[T.8]:with_none' -> '8 strokes (vs 4) x with "none"'."""
    parts = []
    for part in name.split(":"):
        if part.startswith("C(strokes"):
            parts.append(f"{part.split('[T.')[1].rstrip(']')} strokes (vs {reference_level})")
        elif part == "with_none":
            parts.append('with "none" (vs without)')
        else:
            parts.append(part)
    return " x ".join(parts)
