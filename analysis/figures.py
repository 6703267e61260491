"""The report's figures: each is one `Figure` entry of FIGURES, declared once, here.

An entry says which report section shows the figure (a key of `report_html.SECTIONS`), which
tidy table it plots (`data`: a function of the computed `ReportResults`, selecting and
joining its tables; an empty table leaves the figure out, as CLIP's without --scores) and
which function draws that table (`draw`: table in, matplotlib figure out, every mark from a
row; `analysis/plots/`). Its name is its file: `draw_figures` writes figures/<name>.png and
.svg; the page shows each figure in its section in this registry's order, with its caption;
docs/analysis.md's figure table is made from it (`sketchlab.doc_tables`).

A new figure: a draw function in its own module of `analysis/plots/`, the table it needs as
a field of `ReportResults` (computed in `analysis/results.py`, statistics in their own
module), and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.human_vs_clip import human_vs_clip_table
from analysis.plots.accuracy import plot_accuracy_bars, plot_accuracy_vs_strokes
from analysis.plots.calibration import plot_calibration
from analysis.plots.confusion import plot_confusion
from analysis.plots.human_vs_clip import plot_human_vs_clip
from analysis.plots.naming import plot_naming
from analysis.plots.none_contrast import GAP_COLUMNS, plot_none_contrast
from analysis.plots.reaction_time import plot_reaction_times
from analysis.plots.style import save_figure
from sketchlab.registry import Registry

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

    from analysis.results import ReportResults


TYPE_SECTIONS = ("trial_types",)
"""The report section (`analysis.report_html.SECTIONS`) of the trial types' own analyses
(analysis/trial_type_reports.py): their figures are drawn even without forced choice."""


@dataclass(frozen=True)
class Figure:
    """One figure of the report (its registry name is its file name in figures/)."""

    section: str
    """The report section that shows it: a key of `analysis.report_html.SECTIONS`."""
    data: Callable[[ReportResults], pd.DataFrame]
    """The tidy table it plots, from the results; empty: the figure is left out."""
    draw: Callable[[pd.DataFrame], plt.Figure]
    """Draws that table (and nothing that is not in it); the caller saves and closes it."""
    caption: str
    """One sentence under the figure in the report, and in docs/analysis.md's table."""


def paper_accuracy(table: pd.DataFrame, paper: dict) -> pd.Series:
    """The paper's human category-recognition rate at each row's condition and level
    (reference_numbers.json; NaN where the paper has none)."""
    rates = paper["human_category_recognition"]
    return pd.Series(
        [
            rates.get(str(condition), {}).get(str(int(level)), np.nan)
            for condition, level in zip(table["condition"], table["n_strokes"], strict=True)
        ],
        index=table.index,
        dtype=float,
    )


def _none_contrast(results: ReportResults) -> pd.DataFrame:
    table = results.composition.assign(
        paper_accuracy=paper_accuracy(results.composition, results.paper)
    )
    if results.comparison.empty:
        return table
    return table.merge(results.comparison[["n_strokes", *GAP_COLUMNS]], on="n_strokes", how="left")


def _accuracy_lines(results: ReportResults) -> pd.DataFrame:
    pooled = results.pooled.assign(paper_accuracy=paper_accuracy(results.pooled, results.paper))
    return pd.concat([pooled, results.per_class], ignore_index=True)


def _accuracy_bars(results: ReportResults) -> pd.DataFrame:
    chance = {condition: 1 / n for condition, n in results.n_options.items()}
    return results.per_class.assign(chance=results.per_class["condition"].map(chance))


def _calibration(results: ReportResults) -> pd.DataFrame:
    if results.confidence.empty:
        return results.confidence
    chance = {condition: 1 / n for condition, n in results.n_options.items()}
    return results.confidence.assign(chance=results.confidence["condition"].map(chance).fillna(0.0))


def _human_vs_clip(results: ReportResults) -> pd.DataFrame:
    if results.clip is None:
        return pd.DataFrame()
    human = pd.concat([results.per_class, results.pooled], ignore_index=True)
    paper_top1 = results.paper["clip_vit_b32_zero_shot"]["top1"]
    return human_vs_clip_table(human, results.clip.accuracy, paper_top1)


FIGURES: Registry[Figure] = Registry(
    "figure",
    "figure",
    entries={
        "none_contrast": Figure(
            section="comparison",
            data=_none_contrast,
            draw=plot_none_contrast,
            caption='Where the test answers go at each level, with and without "none": right, '
            'wrong class, "none" and timed out, with the gap and the caution share above.',
        ),
        "accuracy_vs_strokes": Figure(
            section="accuracy",
            data=_accuracy_lines,
            draw=plot_accuracy_vs_strokes,
            caption="Accuracy against strokes, pooled and per class, with both intervals and "
            "the paper's rates.",
        ),
        "accuracy_bars": Figure(
            section="accuracy",
            data=_accuracy_bars,
            draw=plot_accuracy_bars,
            caption="Accuracy per class and level in each condition, with the chance line.",
        ),
        "calibration": Figure(
            section="trial_types",
            data=_calibration,
            draw=plot_calibration,
            caption="Accuracy at each confidence rating, per condition and stroke level, "
            "beside what an evenly spaced scale would give (chance at 1, all right at the top).",
        ),
        "naming": Figure(
            section="trial_types",
            data=lambda results: results.naming,
            draw=plot_naming,
            caption="Free naming's accuracy per stroke level beside the forced-choice "
            "conditions', each with its interval over participants and images.",
        ),
        "confusion": Figure(
            section="confusions",
            data=lambda results: results.confusion,
            draw=plot_confusion,
            caption="What people answered for each true class, as shares of its answers.",
        ),
        "reaction_times": Figure(
            section="answer_times",
            data=lambda results: results.reaction_times,
            draw=plot_reaction_times,
            caption="Median answer time of the test answers per level and condition, with "
            "its 95% interval over participants.",
        ),
        "human_vs_clip": Figure(
            section="human_vs_clip",
            data=_human_vs_clip,
            draw=plot_human_vs_clip,
            caption="Human accuracy beside CLIP's top-1 on the same sketches and on their "
            "photos (the ceiling).",
        ),
    },
)
"""Every figure of the report, by name (its file stem), in page order within a section."""


def with_figures(results: ReportResults, folder: Path) -> ReportResults:
    """`results` with its figures drawn into `folder`/figures. Without forced-choice test
    trials (yet), only the trial types' own figures (naming) are drawn."""
    (folder / "figures").mkdir(exist_ok=True)
    sections = None if results.has_tests else TYPE_SECTIONS
    return replace(results, figures=draw_figures(results, folder / "figures", sections))


def draw_figures(
    results: ReportResults, folder: Path, sections: Collection[str] | None = None
) -> dict[str, Path]:
    """Draw every registered figure (of `sections`, when given) whose table is not empty into
    `folder` (PNG + SVG, with the simulated-data watermark when the responses are simulated);
    name -> PNG path."""
    drawn = {}
    for name, figure in FIGURES.items():
        if sections is not None and figure.section not in sections:
            continue
        table = figure.data(results)
        if table.empty:
            continue
        drawn[name] = save_figure(figure.draw(table), folder / name, results.is_simulated)[0]
    return drawn
