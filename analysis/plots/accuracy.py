"""Accuracy by stroke count: lines against strokes (pooled, then per class) and grouped bars.

Both draw one tidy table, rows of `accuracy.ACCURACY_COLUMNS` (the report's accuracy.csv and
accuracy_by_level.csv), and nothing that is not in it.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.accuracy import ALL_CLASSES
from analysis.plots.style import (
    CONDITION_COLORS,
    CONDITION_LABELS,
    conditions_in,
    footnote,
    level_palette,
    log2_axis,
    paper_note,
    plain_text,
    yerr,
)


@plain_text
def plot_accuracy_vs_strokes(table: pd.DataFrame) -> plt.Figure:
    """Accuracy against stroke count: one panel for all classes pooled (class "all"), then
    one per class.

    Each point has two error bars: thick = participant-cluster bootstrap 95% (columns
    boot_low/boot_high, when present), thin with caps = Wilson 95% (ci_low/ci_high);
    conditions are nudged apart on x so both stay readable. A `paper_accuracy` column (the
    paper's rate at that condition and level, NaN where it has none) is drawn as open
    diamonds in the pooled panel, with the caveat on its numbers under the figure.
    """
    classes = sorted(set(table["class"]) - {ALL_CLASSES})
    panels = [ALL_CLASSES, *classes]
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    conditions = conditions_in(table)
    paper = _paper_points(table)
    n_cols = min(3, len(panels))
    n_rows = int(np.ceil(len(panels) / n_cols))
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=(4.3 * n_cols, 3.5 * n_rows), squeeze=False, sharey=True
        )
    nudge = {c: 2 ** (0.1 * (i - (len(conditions) - 1) / 2)) for i, c in enumerate(conditions)}
    wilson_shift = 2**0.035
    # the grid can have more axes than panels: the spare ones are hidden below
    for ax, panel in zip(axes.flat, panels, strict=False):
        for condition in conditions:
            cell = table[(table["class"] == panel) & (table["condition"] == condition)].sort_values(
                "n_strokes"
            )
            if cell.empty:
                continue
            x = cell["n_strokes"].to_numpy() * nudge[condition]
            color = CONDITION_COLORS[condition]
            ax.plot(x, cell["accuracy"], marker="o", color=color, label=CONDITION_LABELS[condition])
            if "boot_low" in cell:
                ax.vlines(
                    x, cell["boot_low"], cell["boot_high"], color=color, linewidth=4, alpha=0.35
                )
            ax.errorbar(
                x * wilson_shift,
                cell["accuracy"],
                yerr=yerr(cell["accuracy"], cell["ci_low"], cell["ci_high"]),
                fmt="none",
                ecolor=color,
                elinewidth=1,
                capsize=3,
            )
        if panel == ALL_CLASSES:
            for condition in conditions_in(paper):
                points = paper[paper["condition"] == condition].sort_values("n_strokes")
                ax.plot(
                    points["n_strokes"],
                    points["paper_accuracy"],
                    linestyle=":",
                    marker="D",
                    markerfacecolor="white",
                    markersize=7,
                    color=CONDITION_COLORS[condition],
                    label=f"paper, {CONDITION_LABELS[condition]}",
                )
        log2_axis(ax, levels)
        ax.set_ylim(0, 1.03)
        ax.set_title("all classes" if panel == ALL_CLASSES else panel)
        ax.set_xlabel("strokes")
        ax.set_ylabel("accuracy")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles += [
        plt.Line2D([], [], color="grey", linewidth=4, alpha=0.35),
        plt.Line2D([], [], color="grey", linewidth=1, marker="_", markersize=8),
    ]
    labels += ["participant bootstrap 95%", "Wilson 95% (trials independent)"]
    fig.legend(
        handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.02)
    )
    fig.suptitle("Recognition accuracy by stroke count")
    fig.tight_layout(rect=(0, 0.05 + 0.03 / n_rows, 1, 1))
    if not paper.empty:
        footnote(fig, [paper_note()], y=-0.04)
    return fig


def _paper_points(table: pd.DataFrame) -> pd.DataFrame:
    """The pooled rows that carry a paper number (none without a `paper_accuracy` column)."""
    if "paper_accuracy" not in table:
        return table.iloc[:0]
    return table[(table["class"] == ALL_CLASSES) & table["paper_accuracy"].notna()]


@plain_text
def plot_accuracy_bars(table: pd.DataFrame) -> plt.Figure:
    """Grouped bars: class on x, one bar per stroke level, one panel per condition, Wilson
    95% error bars and a dashed chance line at the `chance` column (1 / buttons shown in that
    condition). `table`: the per-class accuracy rows."""
    conditions = conditions_in(table)
    classes = sorted(set(table["class"]))
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    colors = level_palette(levels)
    width = 0.8 / len(levels)
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(
            1,
            len(conditions),
            figsize=(max(5.0, 1.1 * len(classes) + 1.5) * len(conditions), 4.2),
            squeeze=False,
            sharey=True,
        )
    for ax, condition in zip(axes[0], conditions, strict=True):
        cells = table[table["condition"] == condition].set_index(["class", "n_strokes"])
        for i, level in enumerate(levels):
            rows = cells.reindex([(c, level) for c in classes])
            x = np.arange(len(classes)) - 0.4 + width * (i + 0.5)
            ax.bar(x, rows["accuracy"], width=width * 0.95, color=colors[level], label=str(level))
            ax.errorbar(
                x,
                rows["accuracy"],
                yerr=yerr(rows["accuracy"], rows["ci_low"], rows["ci_high"]),
                fmt="none",
                ecolor="black",
                elinewidth=0.8,
                capsize=2,
            )
        chance = cells["chance"].iloc[0] if "chance" in cells else None
        if chance:
            ax.axhline(chance, linestyle="--", color="black", linewidth=1)
            ax.text(
                -0.48,
                chance + 0.012,
                f"chance {chance:.0%}",
                ha="left",
                va="bottom",
                fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85},
                zorder=5,
            )
        n = cells["n_trials"]
        n_text = f"{n.min()}" if n.min() == n.max() else f"{n.min()}–{n.max()}"
        ax.set_title(f"{CONDITION_LABELS[condition]}\n(n = {n_text} trials per bar)", fontsize=10)
        ax.set_xticks(np.arange(len(classes)), classes, rotation=30 if len(classes) > 6 else 0)
        ax.set_ylim(0, 1.03)
        ax.set_ylabel("accuracy (Wilson 95%)")
        ax.grid(axis="x", visible=False)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="strokes")
    fig.tight_layout()
    return fig
