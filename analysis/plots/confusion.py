"""Confusion matrices: what people answered for each true class, per condition and level."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.plots.style import CONDITION_LABELS, conditions_in, plain_text
from sketchlab.contracts import NONE, WITH_NONE


@plain_text
def plot_confusion(table: pd.DataFrame) -> plt.Figure:
    """Row-normalised confusion matrices (rows: true class, columns: answer), one row of
    panels per stroke level and one column per condition (the with-"none" panels get a
    "none" column). Sized so that, scaled to the report's width, the labels stay at reading
    size. `table`: `answer_tables.confusion_table` (its `share` is what each cell shows)."""
    conditions = conditions_in(table)
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    classes = sorted(set(table["true_class"].astype(str)))
    answered = set(table["response"].astype(str)) - {NONE}
    answers = classes + sorted(answered - set(classes))
    longest = max(len(label) for label in [*answers, NONE])
    panel = 0.5 * (len(answers) + 1) + 0.09 * longest + 1.0
    fig, axes = plt.subplots(
        len(levels),
        len(conditions),
        figsize=(
            panel * len(conditions),
            (0.5 * len(classes) + 0.06 * longest + 1.1) * len(levels),
        ),
        squeeze=False,
    )
    annotate = len(answers) <= 10
    for r, level in enumerate(levels):
        for c, condition in enumerate(conditions):
            ax = axes[r, c]
            columns = answers + ([NONE] if condition == WITH_NONE else [])
            _heatmap(ax, share_matrix(table, condition, level, classes, columns), annotate)
            ax.set_title(f"{CONDITION_LABELS[condition]}, {level} strokes", fontsize=11)
            ax.set_xlabel("answer" if r == len(levels) - 1 else "", fontsize=10)
            ax.set_ylabel("true class" if c == 0 else "", fontsize=10)
            ax.tick_params(labelsize=10)
    fig.suptitle("Confusion matrices (row = true class; share of its answers)", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1]))
    return fig


def share_matrix(
    table: pd.DataFrame, condition: str, level: int, classes: list[str], answers: list[str]
) -> pd.DataFrame:
    """One panel's shares, true class x answer: 0 for an answer nobody gave, NaN for a class
    with no answers at that level."""
    cell = table[(table["condition"] == condition) & (table["n_strokes"] == level)]
    shares = cell.pivot_table(
        index="true_class", columns="response", values="share", aggfunc="sum", observed=True
    ).reindex(index=classes, columns=answers)
    answered = shares.notna().any(axis=1)
    shares.loc[answered] = shares.loc[answered].fillna(0.0)
    return shares


def _heatmap(ax: plt.Axes, rates: pd.DataFrame, annotate: bool) -> None:
    """Shares in [0, 1] as a Blues image with percentage labels (seaborn's heatmap redraws
    the whole figure per panel to pick label colours, too slow for a grid of panels)."""
    values = rates.to_numpy(dtype=float)
    ax.imshow(np.nan_to_num(values), cmap="Blues", vmin=0, vmax=1, aspect="equal")
    if annotate:
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(
                    j,
                    i,
                    f"{value:.0%}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if value > 0.55 else "#222",
                )
    crowded = values.shape[1] > 6 or max(len(str(c)) for c in rates.columns) > 8
    ax.set_xticks(
        range(values.shape[1]),
        rates.columns,
        rotation=45 if crowded else 0,
        ha="right" if crowded else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(values.shape[0]), rates.index)
    ax.tick_params(length=0)
    ax.grid(False)
