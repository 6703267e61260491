"""`sketchlab analyze`: the report folder (CSV tables, PNG + SVG figures, one index.html).

Three steps in three modules: read and validate the inputs and apply the exclusions (here),
compute every table and figure (`analysis.results`), render index.html
(`analysis.report_html`). Everything is validated before anything is written, then built in
a temporary folder next to `out` and renamed into place at the end, so a failed run never
leaves a half-written report and an existing report is replaced only by a complete one.
What the report contains is described in docs/analysis.md.
"""

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.exclusions import (
    ExclusionRules,
    apply_exclusions,
    find_participants_table,
    large_exclusions,
    read_participants,
)
from analysis.figures import with_figures
from analysis.glmm import EXACT_MAX_TRIALS
from analysis.report_html import render_page
from analysis.responses import read_responses
from analysis.results import compute_results
from sketchlab.contracts import TEST
from sketchlab.errors import BadInput


@dataclass(frozen=True)
class ReportOptions:
    rules: ExclusionRules = field(default_factory=ExclusionRules)
    participants_path: Path | None = None
    """Participants table (status per session); default: `<responses>.participants.csv`."""
    scores_path: Path | None = None
    simulated: bool | None = None
    """True/False override; None: simulated when participant ids start with 'sim-'."""
    n_boot: int = 1000
    model_exact_max_trials: int = EXACT_MAX_TRIALS
    """Above this many test trials the mixed models are fitted by the population-averaged
    approximation (`analysis.population_model`)."""
    seed: int = 0
    allow_exclusions: bool = False
    """Build the report even when the exclusions would remove more than 10% of the
    participants or a whole condition or level (it then says so at the top)."""


def build_report(
    responses_path: str | Path,
    out: str | Path,
    options: ReportOptions = ReportOptions(),
    warn: Callable[[str], None] = lambda text: None,
) -> dict[str, float]:
    """Analyse `responses_path` into the folder `out` (replaced on success).

    Returns the seconds each step took. Raises BadInput (before writing anything) on bad
    responses, participants or scores files, and when the exclusions would remove more than
    10% of the participants or a whole condition or level, unless `options.allow_exclusions`;
    then each such loss is passed to `warn` (and shown at the top of the report).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = now - clock
        clock = now

    responses_path, out = Path(responses_path), Path(out)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out}: --out must be a folder, and a file with that name exists.")
    responses = read_responses(responses_path)
    participants_path = options.participants_path or find_participants_table(responses_path)
    participants = read_participants(participants_path) if participants_path else None
    scores = None
    if options.scores_path is not None:
        scores = _read_scores(options.scores_path, responses, responses_path)
    lap("read")

    excluded = apply_exclusions(responses, options.rules, participants)
    alarms = large_exclusions(responses, excluded)
    if alarms and not options.allow_exclusions:
        raise BadInput(
            f"{responses_path}: the exclusions would remove " + "; ".join(alarms) + ". Check "
            "the data and the exclusion settings (--keep-incomplete, --max-attention-errors, "
            "--study), or pass --allow-exclusions to build the report anyway."
        )
    for alarm in alarms:
        warn(f"the exclusions removed {alarm}")
    lap("exclusions")

    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        os.chmod(building, 0o755)
        results = compute_results(
            responses,
            excluded,
            building,
            rules=options.rules,
            responses_path=responses_path,
            participants_path=participants_path,
            scores=scores,
            simulated=options.simulated,
            n_boot=options.n_boot,
            model_exact_max_trials=options.model_exact_max_trials,
            seed=options.seed,
            alarms=alarms,
            lap=lap,
        )
        results = with_figures(results, building)
        lap("figures")
        (building / "index.html").write_text(render_page(results), encoding="utf-8")
        lap("html")
        _replace_folder(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return timings


def _read_scores(path: Path, responses: pd.DataFrame, responses_path: Path) -> pd.DataFrame:
    """The CLIP scores of the sketches people saw (validated; BadInput when none join)."""
    from analysis import human_vs_clip

    if "stimulus_id" not in responses.columns:
        raise BadInput(
            f"{responses_path}: missing column 'stimulus_id', needed to join the CLIP scores."
        )
    stimuli = responses.loc[responses["trial_type"] == TEST, "stimulus_id"].dropna().unique()
    return human_vs_clip.read_scores(path, stimuli_ids=[str(s) for s in stimuli])


def _replace_folder(new: Path, out: Path) -> None:
    """Rename `new` to `out`, moving an existing `out` aside first and deleting it after."""
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)
