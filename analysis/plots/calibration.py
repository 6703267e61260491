"""Confidence calibration: accuracy against the confidence rating, per condition and level."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.metacognition import ALL_LEVELS
from analysis.plots.style import level_palette, plain_text
from study.trial_types import conditions as all_conditions

EVEN_SCALE = "evenly spaced scale"


@plain_text
def plot_calibration(table: pd.DataFrame) -> plt.Figure:
    """Accuracy against the confidence rating, one panel per condition, one line per stroke
    level (all levels pooled: black, thick; marker area grows with the answers at a point).
    `table`: `metacognition.confidence_table` (confidence.csv) with a `chance` column (1 /
    buttons of the row's condition; 0 where answers are typed). The dotted line is what an
    evenly spaced scale would give: chance at rating 1, every answer right at the top rating
    (the highest rating in the table)."""
    present = set(table["condition"])
    conditions = [c for c in all_conditions() if c in present]
    scale = int(table["confidence"].max())
    levels = sorted(int(v) for v in table["n_strokes"] if v != ALL_LEVELS)
    colors = {**{str(k): v for k, v in level_palette(levels).items()}, ALL_LEVELS: "black"}
    points = np.arange(1, scale + 1)
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(
            1, len(conditions), figsize=(4.2 * len(conditions), 3.8), sharey=True, squeeze=False
        )
    for ax, condition in zip(axes[0], conditions, strict=True):
        shown = table[table["condition"] == condition]
        floor = float(shown["chance"].iloc[0])
        even = floor + (1 - floor) * (points - 1) / max(scale - 1, 1)
        ax.plot(points, even, ":", color="#777", label=EVEN_SCALE)
        for level, rows in shown.groupby("n_strokes", sort=False):
            pooled = level == ALL_LEVELS
            rows = rows.sort_values("confidence")
            size = 3 + 5 * np.sqrt(rows["n_trials"] / rows["n_trials"].max())
            style = {"color": colors[level], "alpha": 1 if pooled else 0.75}
            ax.plot(rows["confidence"], rows["accuracy"], "-", lw=2.4 if pooled else 1.2,
                    label="all levels" if pooled else f"{level} strokes", **style)  # fmt: skip
            ax.scatter(rows["confidence"], rows["accuracy"], s=size**2, **style)
        ax.set_title(condition.replace("_", " "))
        ax.set_xticks(points)
        ax.set_xlabel("confidence rating")
        ax.set_ylim(-0.03, 1.03)
    axes[0][0].set_ylabel("accuracy")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
