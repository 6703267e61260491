"""The report's parts for the trial types that bring analyses of their own (study/trial_types/):
confidence ratings (analysis/metacognition.py) and free naming (analysis/naming_accuracy.py).

Each is one `TypeReport` of TYPE_REPORTS, under its trial type's name: `compute` writes its
CSVs into the report folder and returns its tables as fields of `analysis.results.
ReportResults` (empty when the data has none of its answers), and `section` renders those
fields as HTML ('' when they are empty). `analysis.results` computes every entry,
`analysis.report_html` shows their sections after the accuracy section; their figures are
entries of `analysis.figures.FIGURES` (section "trial_types") that plot those fields. The trial
types without an analysis of their own are counted by their role (study.trial_type.ROLES) and
need no entry here.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis import metacognition, naming_accuracy
from analysis.html_parts import figures_named, html_table, pct_ci, right_of_all
from sketchlab.registry import Registry
from study.trial_types import conditions
from study.trial_types.naming_match import UNMATCHED

if TYPE_CHECKING:
    from analysis.results import ReportResults


@dataclass(frozen=True)
class TypeReport:
    compute: Callable[[pd.DataFrame, Path], dict[str, object]]
    """(included trials, report folder) -> ReportResults fields; writes its CSVs."""
    section: Callable[[ReportResults], str]


# --- confidence ---------------------------------------------------------------------------


def _confidence(trials: pd.DataFrame, folder: Path) -> dict[str, object]:
    rated = metacognition.rated_trials(trials)
    if rated.empty:
        return {}
    table = metacognition.confidence_table(rated)
    type2 = metacognition.type2_table(rated)
    table.to_csv(folder / "confidence.csv", index=False)
    type2.to_csv(folder / "type2_auroc.csv", index=False)
    return {"confidence": table, "type2_auroc": type2}


def _condition_order(values: pd.Series) -> pd.Series:
    """Conditions in the report's order (forced choice first, then the types' own)."""
    if values.name != "condition":
        return values
    order = {condition: rank for rank, condition in enumerate(conditions())}
    return values.map(order)


def _confidence_section(results: ReportResults) -> str:
    if results.confidence.empty:
        return ""
    type2 = results.type2_auroc
    scale = int(results.confidence["confidence"].max())
    pooled = results.confidence[results.confidence["n_strokes"] == metacognition.ALL_LEVELS]
    pooled = pooled.sort_values(["condition", "confidence"], key=_condition_order)
    accuracy = pd.DataFrame(
        {
            "condition": pooled["condition"],
            "rating": pooled["confidence"],
            "right / answers": right_of_all(pooled),
            "accuracy (Wilson 95%)": pct_ci(pooled, "accuracy", "ci_low", "ci_high"),
        }
    )
    if type2.empty:
        sensitivity = (
            "<p>Too few participants gave both right and wrong answers to estimate type-2 "
            f"sensitivity (it needs at least {metacognition.MIN_PAIRS} right-wrong pairs).</p>"
        )
    else:
        shown = pd.DataFrame(
            {
                "condition": type2["condition"],
                "strokes": type2["n_strokes"],
                "type-2 AUROC (95% CI)": [
                    f"{a:.2f} [{lo:.2f}, {hi:.2f}]"
                    for a, lo, hi in zip(
                        type2["auroc"], type2["ci_low"], type2["ci_high"], strict=True
                    )
                ],
                "right-wrong pairs": type2["pairs"],
                "participants": type2["participants"],
                "images": type2["images"],
            }
        )
        sensitivity = html_table(shown)
    return (
        "<h2>Confidence ratings</h2>"
        f"<p>After each answer, participants rated how sure they were, from 1 (guessing) to "
        f"{scale} (certain). <b>Accuracy by confidence</b>: the share of right answers "
        "at each rating (confidence.csv). Ratings that mean something rise with accuracy.</p>"
        + html_table(accuracy)
        + "<p><b>Type-2 sensitivity</b> (metacognition: how well a person's confidence tells "
        "their right answers from their wrong ones). The <b>type-2 AUROC</b> is the chance "
        "that, of two answers by the same person, one right and one wrong, the right one got "
        "the higher rating (ties count half): 0.5 means their confidence says nothing about "
        "whether they were right, 1 that every right answer was rated above every wrong one. "
        "Pairs are taken within a person, so that people who use the scale differently do not "
        "pass for insight. The interval allows for participants and images, as the headline "
        "interval does (type2_auroc.csv; docs/analysis.md).</p>"
        + sensitivity
        + "<p><b>Calibration</b>: accuracy at each rating, per stroke level and condition. The "
        "dotted line is what an evenly spaced scale would give (chance at 1, every answer "
        "right at the top); points above it are underconfidence, below it overconfidence.</p>"
        + figures_named(results, ["calibration"])
    )


# --- naming -------------------------------------------------------------------------------


def _naming(trials: pd.DataFrame, folder: Path) -> dict[str, object]:
    if naming_accuracy.naming_rows(trials).empty:
        return {}
    table = naming_accuracy.accuracy_beside_forced_choice(trials)
    table.to_csv(folder / "naming.csv", index=False)
    return {"naming": table, "naming_matches": naming_accuracy.match_counts(trials)}


def _naming_section(results: ReportResults) -> str:
    table = results.naming
    if table.empty:
        return ""
    wide = table.assign(shown=pct_ci(table, "accuracy", "ci_low", "ci_high")).pivot(
        index="n_strokes", columns="condition", values="shown"
    )
    order = [c for c in ("naming", "without_none", "with_none") if c in wide.columns]
    wide = (
        wide[order]
        .reset_index()
        .rename(
            columns={
                "n_strokes": "strokes",
                "naming": "free naming",
                "without_none": 'forced choice without "none"',
                "with_none": 'forced choice with "none"',
            }
        )
    )
    matches = results.naming_matches
    counted = ", ".join(f"{kind} {n:,}" for kind, n in matches.items() if n)
    uncoded = matches.get(UNMATCHED, 0)
    warning = (
        f"<div class='warn'>{uncoded:,} typed answers matched no class and are not coded yet: "
        "they count as wrong, so the naming accuracy is a lower bound. Code them in the coding "
        "sheet <code>sketchlab study export</code> writes, read it back with <code>sketchlab "
        "study code study.yaml coded.csv</code>, then export and analyse again.</div>"
        if uncoded
        else ""
    )
    return (
        "<h2>Free naming beside forced choice</h2>"
        "<p>Participants in the naming condition typed what each sketch shows, without seeing "
        "the classes. An answer is right when it names the sketch's class: its name or a "
        "synonym from study.yaml, in any case, singular or plural, with a small typo, or coded "
        "so by the researcher. Accuracy per level, beside the forced-choice conditions, each "
        "with the headline interval (participants and images; naming.csv).</p>"
        + html_table(wide)
        + f"<p>How the typed answers were matched: {html.escape(counted)}.</p>"
        + warning
        + figures_named(results, ["naming"])
    )


TYPE_REPORTS: Registry[TypeReport] = Registry(
    "trial type report",
    "trial_type",
    entries={
        "confidence": TypeReport(_confidence, _confidence_section),
        "naming": TypeReport(_naming, _naming_section),
    },
)
"""The report parts of trial types with analyses of their own, by trial type name."""


def compute_type_reports(trials: pd.DataFrame, folder: Path) -> dict[str, object]:
    """Every entry's ReportResults fields (empty where the data has none of its answers)."""
    found: dict[str, object] = {}
    for report in TYPE_REPORTS.values():
        found.update(report.compute(trials, folder))
    return found


def render_type_reports(results: ReportResults) -> str:
    """Their sections, in registry order."""
    return "".join(report.section(results) for report in TYPE_REPORTS.values())
