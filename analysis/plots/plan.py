"""`sketchlab plan`'s figure: what a number of participants buys (not a report figure)."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from analysis.plots.style import level_palette, log2_axis, plain_text, save_figure


@plain_text
def plot_plan(plan: pd.DataFrame, out_stem: Path, source: str) -> list[Path]:
    """Against the number of participants (log2 axis, with their cost in participant-hours),
    the expected 95% half-width of each condition's accuracy, of the with-vs-without gap, and
    the power to find the gap, one line per stroke level (`planning.PLAN_COLUMNS`). Writes
    `<out_stem>.png` and `.svg` and returns their paths."""
    levels = sorted(plan["n_strokes"].unique())
    sizes = sorted(plan["participants"].unique())
    colors = level_palette(levels)
    hours = plan.groupby("participants")["participant_minutes"].first().div(60).to_dict()
    panels = (
        ("half_width_without", 'accuracy without "none": ± (points)'),
        ("half_width_with", 'accuracy with "none": ± (points)'),
        ("half_width_gap", "gap: ± (points)"),
        ("power_gap", "power to find the gap"),
    )
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.8))
    for ax, (column, title) in zip(axes, panels, strict=True):
        scale = 1 if column == "power_gap" else 100
        for level in levels:
            rows = plan[plan["n_strokes"] == level].sort_values("participants")
            ax.plot(rows["participants"], scale * rows[column], marker="o", color=colors[level],
                    label=f"{level} strokes")  # fmt: skip
        log2_axis(ax, sizes)
        ax.set_xticks(sizes, [f"{n}\n{hours[n]:.1f} h" for n in sizes])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("participants (participant-hours)")
        if column == "power_gap":
            ax.set_ylim(0, 1.02)
            ax.axhline(0.8, linestyle="--", color="black", linewidth=1)
        else:
            ax.set_ylim(0, None)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.suptitle(f"What N participants buy (simulated from {source}; the report's interval)")
    fig.tight_layout()
    return save_figure(fig, out_stem, simulated=False)
