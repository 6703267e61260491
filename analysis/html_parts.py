"""The report page's HTML pieces that its sections share (analysis/report_html.py and the trial
types' sections in analysis/trial_type_reports.py): tables, "value [low, high]" cells, figures
with their captions."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.figures import FIGURES

if TYPE_CHECKING:
    from analysis.results import ReportResults


def pct_ci(table: pd.DataFrame, value: str, low: str, high: str) -> list[str]:
    return [
        f"{v:.1%} [{lo:.1%}, {hi:.1%}]"
        for v, lo, hi in zip(table[value], table[low], table[high], strict=True)
    ]


def right_of_all(table: pd.DataFrame) -> pd.Series:
    """ "12 / 40" cells: right answers (`n_correct`) of all answers (`n_trials`)."""
    return table["n_correct"].astype(str) + " / " + table["n_trials"].astype(str)


def figures_named(results: ReportResults, names: list[str]) -> str:
    """These figures (FIGURES names), where drawn, with their captions: for a section whose
    parts show their own figures (the trial types')."""
    return "".join(
        figure_html(results.figures[name], FIGURES[name].caption)
        for name in names
        if name in results.figures
    )


def figure_html(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    name = html.escape(path.stem)
    return (
        f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)} <span class='file'>figures/{name}.png / .svg"
        "</span></figcaption></figure>"
    )


def html_table(frame: pd.DataFrame) -> str:
    table = frame.to_html(
        index=False, border=0, classes="tbl", float_format=lambda v: f"{v:.3g}", na_rep="—"
    )
    # Short cells (numbers, "p < 1e-16", "0.41 [0.23, 0.73]") stay on one line; long text wraps.
    table = re.sub(r"<td>([^<]{1,32})</td>", r"<td class='n'>\1</td>", table)
    return f"<div class='wide'>{table}</div>"
