"""What the report shows, computed from the data: every table, CSV and figure of `analyze`.

`compute_results` writes the CSVs into the report folder as it computes them and returns them
in a `ReportResults`; `analysis.figures.with_figures` draws the figures from it and
`analysis.report_html` turns it into index.html, both computing nothing. A new result is a
field and a few lines here, plus one section function there; a new figure is one entry of
`analysis.figures.FIGURES` that reads the fields here.
The statistics are described in docs/analysis.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis.accuracy import accuracy_table, cluster_bootstrap, test_trials
from analysis.answer_tables import answer_composition, confusion_table
from analysis.compare import compare_none
from analysis.exclusions import ExclusionResult, ExclusionRules
from analysis.glmm import EXACT_MAX_TRIALS, fit_glmm
from analysis.model_result import GlmmResult
from analysis.reaction_time import reaction_times
from analysis.responses import analysed_columns, options_per_condition, ordered_conditions
from analysis.trial_type_reports import compute_type_reports
from sketchlab.contracts import FOIL, SIMULATED_PREFIX, TEST
from sketchlab.reference import paper_numbers

BOOT_KEYS = ["condition", "class", "n_strokes"]


@dataclass(frozen=True)
class ClipResults:
    """CLIP's zero-shot accuracy on the sketches people saw (from `sketchlab score`)."""

    accuracy: pd.DataFrame
    """`human_vs_clip.clip_accuracy_by_level` of the joined scores (clip_accuracy.csv)."""
    circular: bool
    """Some scores come from the network the sketches were optimised against (the rule of
    `scoring.circularity`, applied when the scores are read)."""
    unscored_stimuli: list[str]
    """Stimulus ids people saw that have no score."""


@dataclass(frozen=True)
class ReportResults:
    """Everything index.html shows; the CSVs (and, after `with_figures`, the figures) named here
    are already written."""

    responses_path: Path
    participants_path: Path | None
    built: str
    """When the report was built (UTC)."""
    rules: ExclusionRules
    n_boot: int
    paper: dict
    """The paper's numbers (sketchlab/reference_numbers.json)."""
    n_rows: int
    """Rows of the responses table, before exclusions."""
    participant_ids: int
    simulated_ids: int
    """Participant ids that start with the simulator's marker (SIMULATED_PREFIX)."""
    simulated: bool | None
    """The --simulated/--real override; None: decided from the ids."""
    conditions: list[str]
    """Conditions in the responses, in CONDITIONS order."""
    n_options: dict[str, int]
    """Buttons shown per condition (chance = 1 / buttons)."""
    excluded: ExclusionResult
    n_test_trials: int
    """Included test trials: the ones accuracy counts."""
    classes: list[str]
    levels: list[int]
    per_class: pd.DataFrame
    """accuracy.csv (+ boot_low, boot_high once there are test trials)."""
    pooled: pd.DataFrame
    """accuracy_by_level.csv (+ boot_low, boot_high)."""
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    """comparison.csv: with vs without "none" per level; empty with one condition."""
    tested_conditions: list[str] = field(default_factory=list)
    """Conditions among the included test trials."""
    figures: dict[str, Path] = field(default_factory=dict)
    """Figure name (`analysis.figures.FIGURES`) -> PNG path (an SVG sits beside each)."""
    composition: pd.DataFrame = field(default_factory=pd.DataFrame)
    """answer_composition.csv: right / wrong / "none" / timed out per condition x level."""
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    """confusion.csv: answers per condition x level x true class x response, and shares."""
    reaction_times: pd.DataFrame = field(default_factory=pd.DataFrame)
    """reaction_times.csv: median answer time per condition x level (empty without rt_ms)."""
    model: GlmmResult | None = None
    clip: ClipResults | None = None
    alarms: list[str] = field(default_factory=list)
    """Losses allowed with --allow-exclusions (`exclusions.large_exclusions`)."""
    confidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    """confidence.csv: accuracy per condition x level (and all levels) x confidence rating;
    empty without ratings (`analysis.trial_type_reports`, as the three below)."""
    type2_auroc: pd.DataFrame = field(default_factory=pd.DataFrame)
    """type2_auroc.csv: type-2 AUROC (confidence tells right from wrong) per condition x level."""
    naming: pd.DataFrame = field(default_factory=pd.DataFrame)
    """naming.csv: free naming's accuracy per level beside forced choice; empty without typed
    answers."""
    naming_matches: dict[str, int] = field(default_factory=dict)
    """Typed answers per kind of match (exact, synonym, fuzzy, unmatched, coded)."""

    @property
    def has_tests(self) -> bool:
        return self.n_test_trials > 0

    @property
    def is_simulated(self) -> bool:
        """--simulated/--real when given, else: some participant ids carry the simulator's
        marker (the figures then carry a watermark)."""
        return self.simulated if self.simulated is not None else self.simulated_ids > 0


def compute_results(
    responses: pd.DataFrame,
    excluded: ExclusionResult,
    folder: Path,
    *,
    rules: ExclusionRules,
    responses_path: Path,
    participants_path: Path | None = None,
    scores: pd.DataFrame | None = None,
    simulated: bool | None = None,
    n_boot: int = 1000,
    model_exact_max_trials: int = EXACT_MAX_TRIALS,
    seed: int = 0,
    alarms: list[str] | None = None,
    lap: Callable[[str], None] = lambda step: None,
) -> ReportResults:
    """Compute every result of the report into `folder` (its CSVs) and return them.

    `responses` is the validated table, `excluded` its exclusions, `scores` the validated
    CLIP scores joined to the stimuli people saw (or None); `alarms` the large exclusions the
    caller allowed; `lap(step)` is called after each step, for the timings.
    """
    trials = excluded.trials
    paper = paper_numbers()
    # Narrow copies once: every later step reads these instead of the full table.
    scored = trials.loc[trials["trial_type"].isin((TEST, FOIL)), analysed_columns(trials)]
    tests = test_trials(scored)
    per_class = accuracy_table(tests)
    pooled = accuracy_table(tests, pooled=True)
    per_class.to_csv(folder / "accuracy.csv", index=False)
    pooled.to_csv(folder / "accuracy_by_level.csv", index=False)
    excluded.table.to_csv(folder / "exclusions.csv", index=False)
    lap("accuracy")
    n_options = options_per_condition(responses)
    ids = pd.Series(responses["participant_id"].unique()).astype(str)
    results = ReportResults(
        responses_path=responses_path,
        participants_path=participants_path,
        built=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        rules=rules,
        n_boot=n_boot,
        paper=paper,
        n_rows=len(responses),
        participant_ids=len(ids),
        simulated_ids=int(ids.str.startswith(SIMULATED_PREFIX).sum()),
        simulated=simulated,
        conditions=ordered_conditions(responses),
        n_options=n_options,
        excluded=excluded,
        n_test_trials=len(tests),
        classes=sorted(tests["class"].unique()) if not tests.empty else [],
        levels=sorted(int(v) for v in tests["n_strokes"].unique()) if not tests.empty else [],
        per_class=per_class,
        pooled=pooled,
        alarms=list(alarms or []),
    )
    results = replace(results, **compute_type_reports(trials, folder))
    lap("trial types")
    if tests.empty:
        return results

    boot = cluster_bootstrap(tests, n_boot=n_boot, seed=seed)
    boot.to_csv(folder / "accuracy_bootstrap.csv", index=False)
    per_class = per_class.merge(boot, on=BOOT_KEYS, how="left")
    pooled = pooled.merge(boot, on=BOOT_KEYS, how="left")
    lap("bootstrap")

    comparison = compare_none(scored, n_options, n_boot=n_boot, seed=seed)
    lap("comparison")

    model = fit_glmm(tests, exact_max_trials=model_exact_max_trials)
    if model.fitted:
        model.terms.to_csv(folder / "mixed_model.csv", index=False)
        if not model.random_effects.empty:
            model.random_effects.to_csv(folder / "mixed_model_random_effects.csv", index=False)
        comparison = _with_model_contrasts(comparison, model)
    if not comparison.empty:
        comparison.to_csv(folder / "comparison.csv", index=False)
    lap("mixed_model")

    confusion = confusion_table(tests)
    composition = answer_composition(tests, excluded.timed_out)
    times = reaction_times(tests)
    confusion.to_csv(folder / "confusion.csv", index=False)
    composition.to_csv(folder / "answer_composition.csv", index=False)
    if not times.empty:
        times.to_csv(folder / "reaction_times.csv", index=False)
    lap("answers")

    clip = None
    if scores is not None:
        clip = _clip_results(scores, folder)
        lap("clip")
    results = replace(
        results,
        per_class=per_class,
        pooled=pooled,
        comparison=comparison,
        tested_conditions=ordered_conditions(tests),
        composition=composition,
        confusion=confusion,
        reaction_times=times,
        model=model,
        clip=clip,
    )
    return results


def _with_model_contrasts(comparison: pd.DataFrame, model: GlmmResult) -> pd.DataFrame:
    """The mixed model's with-vs-without contrast at each level, next to the other intervals
    (odds ratio with "none" over without, Wald 95%, Holm-adjusted p)."""
    if comparison.empty or "levels" not in model.models:
        return comparison
    terms = model.terms[
        (model.terms["model"] == "levels") & model.terms["term"].str.endswith(":with_none")
    ]
    contrasts = pd.DataFrame(
        {
            "n_strokes": terms["term"].str.extract(r"^level(\d+):")[0].astype(int).to_numpy(),
            "model_odds_ratio": terms["odds_ratio"].to_numpy(),
            "model_or_low": terms["or_low"].to_numpy(),
            "model_or_high": terms["or_high"].to_numpy(),
            "model_p_holm": terms["p_holm"].to_numpy(),
            "model_note": terms["note"].to_numpy(),
        }
    )
    return comparison.merge(contrasts, on="n_strokes", how="left")


def _clip_results(scores: pd.DataFrame, folder: Path) -> ClipResults:
    from analysis import human_vs_clip

    clip = human_vs_clip.clip_accuracy_by_level(scores)
    clip.to_csv(folder / "clip_accuracy.csv", index=False)
    return ClipResults(
        accuracy=clip,
        circular=bool(clip["circular"].any()),
        unscored_stimuli=list(scores.attrs.get("unscored_stimuli", [])),
    )
