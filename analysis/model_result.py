"""What a fit of the report's two logistic models gives (`GlmmResult`) and how its terms are
tabled: shared by glmer's exact fit (`analysis.glmm`) and the population-averaged one for
large data (`analysis.population_model`), so that neither fitter imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.model_design import SEPARATION, ModelDesign
from analysis.multiple_testing import holm

SEPARATED_LOGIT = 10.0
"""A term beyond +-10 log-odds (odds ratio 22,000) comes from a cell without variation."""
RANK_DEFICIENT = "not estimable: the data cannot tell it apart from the other terms"


@dataclass(frozen=True)
class GlmmResult:
    """What the report shows of the mixed models (or why there are none)."""

    fitted: bool
    """At least one of the models was fitted."""
    reason: str = ""
    """Why no model was fitted (empty when one was)."""
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
    """'model: message' for every warning or message lme4 gave."""
    separation: list[str] = field(default_factory=list)
    """One sentence per condition x level cell without variation."""
    failed: dict[str, str] = field(default_factory=dict)
    """Model -> why it was not fitted (the other model is kept)."""
    optimizers: dict[str, str] = field(default_factory=dict)
    """Model -> the optimiser that fitted it."""
    reproducible: bool = True
    """R ran with a fixed memory layout, so the same data give bit-identical fits."""
    n_trials: int = 0
    n_participants: int = 0
    n_images: int = 0
    seconds: float = 0.0
    """Wall-clock seconds of the fits (the slower of the two R processes)."""

    @property
    def models(self) -> list[str]:
        """The models that were fitted."""
        return [name for name in self.formulas if name not in self.failed]


def term_table(design: ModelDesign, fixed: pd.DataFrame) -> pd.DataFrame:
    """Every term of `design` in order, with the fitted estimate and SE (`fixed`: term,
    estimate, se) or a note on why there is none: not fitted (`design.missing`), dropped by
    the fit (rank-deficient), or beyond +-10 log-odds (separation)."""
    found = fixed.set_index("term")
    estimate, se, notes = [], [], []
    for term in design.terms:
        value = found["estimate"].get(term, np.nan)
        error = found["se"].get(term, np.nan)
        if term in design.missing:
            note = design.missing[term]
        elif term not in found.index:
            note = RANK_DEFICIENT
        elif not np.isfinite(value) or abs(value) > SEPARATED_LOGIT:
            note = SEPARATION
        else:
            note = ""
        notes.append(note)
        estimate.append(np.nan if note else float(value))
        se.append(np.nan if note else float(error))
    estimate, se = np.array(estimate), np.array(se)
    low, high = estimate - 1.96 * se, estimate + 1.96 * se
    with np.errstate(invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(estimate / se))
    return pd.DataFrame(
        {
            "model": design.name,
            "term": design.terms,
            "meaning": [design.meanings[term] for term in design.terms],
            "estimate": estimate,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "odds_ratio": np.exp(estimate),
            "or_low": np.exp(low),
            "or_high": np.exp(high),
            "p": p,
            "note": notes,
        }
    )


def holm_contrasts(terms: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values for the per-level with-vs-without contrasts (one family)."""
    terms["p_holm"] = np.nan
    family = (terms["model"] == "levels") & terms["term"].str.endswith(":with_none")
    terms.loc[family, "p_holm"] = holm(terms.loc[family, "p"])
    return terms
