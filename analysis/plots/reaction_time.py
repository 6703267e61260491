"""Answer time against stroke count, one line per condition."""

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from analysis.plots.style import (
    CONDITION_COLORS,
    CONDITION_LABELS,
    conditions_in,
    log2_axis,
    plain_text,
    yerr,
)


@plain_text
def plot_reaction_times(table: pd.DataFrame) -> plt.Figure:
    """Median answer time in seconds against strokes (log2 axis), per condition, with the
    95% interval over participants as capped bars. `table`: `reaction_time.reaction_times`
    (its `median_rt_ms`, `ci_low`, `ci_high` in ms; bounds NaN below 6 participants)."""
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    conditions = conditions_in(table)
    nudge = {c: 2 ** (0.06 * (i - (len(conditions) - 1) / 2)) for i, c in enumerate(conditions)}
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(7.2, 3.6))
    for condition in conditions:
        cell = table[table["condition"] == condition].sort_values("n_strokes")
        seconds = cell["median_rt_ms"] / 1000
        ax.errorbar(
            cell["n_strokes"] * nudge[condition],
            seconds,
            yerr=yerr(seconds, cell["ci_low"] / 1000, cell["ci_high"] / 1000),
            color=CONDITION_COLORS[condition],
            marker="o",
            capsize=3,
            label=CONDITION_LABELS[condition],
        )
    log2_axis(ax, levels)
    ax.set_ylim(0, None)
    ax.set_xlabel("strokes")
    ax.set_ylabel("median answer time (s)")
    ax.set_title("Answer time by stroke count (median of participant medians, 95% interval)",
                 fontsize=10)  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig
