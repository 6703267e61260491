"""The with-vs-without-"none" contrast at a glance: where the test answers go, per level."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.caution import caution_outside
from analysis.plots.style import (
    CONDITION_COLORS,
    CONDITION_LABELS,
    conditions_in,
    footnote,
    paper_note,
    plain_text,
)
from sketchlab.contracts import CORRECT, NONE, TIMEOUT, WITH_NONE

GAP_COLUMNS = (
    "difference", "gap_low", "gap_high", "caution_share", "caution_boot_low", "caution_boot_high",
)  # fmt: skip
"""The comparison.csv columns the figure writes above each level (`compare.compare_none`)."""


@plain_text
def plot_none_contrast(table: pd.DataFrame) -> plt.Figure:
    """The 36% -> 76% contrast: per stroke level, one stacked bar per condition splitting the
    test trials into right / wrong class / "none" / timed out (`answer_tables.
    answer_composition`'s shares), with the paper's accuracies (`paper_accuracy`, when
    present) as diamonds and, above each pair, the gap with its image-aware 95% interval and
    the caution share with its interval, as estimated (never clipped to 0-100%; the
    GAP_COLUMNS, NaN or absent with one condition)."""
    conditions = conditions_in(table)
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    width = 0.8 / len(conditions)
    timeouts = bool(table[TIMEOUT].gt(0).any())
    has_paper = "paper_accuracy" in table and bool(table["paper_accuracy"].notna().any())
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(2.1 * len(levels) + 2.5, 4.9))
    for i, condition in enumerate(conditions):
        rows = table[table["condition"] == condition].set_index("n_strokes").reindex(levels)
        x = np.arange(len(levels)) - 0.4 + width * (i + 0.5)
        color = CONDITION_COLORS[condition]
        bottom = np.zeros(len(levels))
        segments = [
            (CORRECT, {"color": color}, f"right, {CONDITION_LABELS[condition]}"),
            ("wrong class", {"color": color, "alpha": 0.3},
             "wrong class (lighter shade)" if i == 0 else None),
            (NONE, {"color": "white", "edgecolor": "grey", "hatch": "///"}, '"none"'),
            (TIMEOUT, {"color": "#999", "edgecolor": "white"}, "timed out (no answer)"),
        ]  # fmt: skip
        for column, style, label in segments:
            if column == NONE and condition != WITH_NONE or column == TIMEOUT and not timeouts:
                continue
            values = rows[column].fillna(0).to_numpy()
            ax.bar(x, values, width * 0.92, bottom=bottom, label=label, **style)
            bottom += values
        for xi, value in zip(x, rows[CORRECT], strict=True):
            if np.isfinite(value):
                ax.text(xi, value / 2, f"{value:.0%}", ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")  # fmt: skip
        reported = np.isfinite(rows["paper_accuracy"].to_numpy(float)) if has_paper else []
        if np.any(reported):
            ax.scatter(x[reported], rows["paper_accuracy"][reported], marker="D", s=45,
                       color="black", zorder=5, label="paper's accuracy")  # fmt: skip
    for j, level in enumerate(levels):
        row = table[table["n_strokes"] == level].iloc[0]
        if "difference" in row and np.isfinite(row["difference"]):
            ax.text(j, 1.02, _gap_label(row), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(levels)), [f"{level} strokes" for level in levels])
    ax.set_ylim(0, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share of test trials")
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    order = sorted(
        unique, key=lambda label: (not label.startswith("right"), label == "paper's accuracy")
    )
    ax.legend([unique[label] for label in order], order, loc="upper left",
              bbox_to_anchor=(1.01, 1), frameon=False)  # fmt: skip
    ax.set_title('Where the answers go: with vs without "none"')
    fig.tight_layout()
    notes = ["Brackets: 95% intervals allowing for participants and images (the caution "
             "share's from the two-way bootstrap, as estimated, never clipped)."]  # fmt: skip
    footnote(fig, notes + ([paper_note()] if has_paper else []), y=0.0)
    return fig


def _gap_label(row: pd.Series) -> str:
    """'gap 47.0 pts [35.2, 59.3]' (one decimal: a bound of 0.4 must not read as 0) and the
    caution share with its interval, as estimated."""
    gap, low, high = (100 * row[c] for c in ("difference", "gap_low", "gap_high"))
    text = f"gap {gap:.1f} pts\n[{low:.1f}, {high:.1f}]"
    share = row["caution_share"]
    if np.isfinite(share):
        text += (
            f"\ncaution {share:.0%}\n[{row['caution_boot_low']:.0%}, "
            f"{row['caution_boot_high']:.0%}]"
        )
        if caution_outside(share, row["caution_boot_low"], row["caution_boot_high"]):
            text += "\nleaves 0-100%: misfit"
    return text
