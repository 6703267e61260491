"""Free naming beside forced choice: accuracy against strokes, one line per condition."""

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from analysis.plots.style import CONDITION_COLORS, CONDITION_LABELS, log2_axis, plain_text, yerr
from study.trial_types.naming import NAMING

COLORS = {**CONDITION_COLORS, NAMING: "#3c8d2f"}
LABELS = {**CONDITION_LABELS, NAMING: "free naming"}


@plain_text
def plot_naming(table: pd.DataFrame) -> plt.Figure:
    """Accuracy against strokes (log2 axis), free naming beside the forced-choice conditions,
    each with its interval (participants and images) as capped bars. `table`:
    `naming_accuracy.accuracy_beside_forced_choice` (naming.csv)."""
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for condition, rows in table.groupby("condition", sort=False):
        rows = rows.sort_values("n_strokes")
        ax.errorbar(
            rows["n_strokes"],
            rows["accuracy"],
            yerr=yerr(rows["accuracy"], rows["ci_low"], rows["ci_high"]),
            fmt="-o",
            capsize=3,
            color=COLORS.get(condition, "grey"),
            label=LABELS.get(condition, condition),
        )
    log2_axis(ax, levels)
    ax.set_xlabel("strokes")
    ax.set_ylabel("accuracy (95% CI, participants and images)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
