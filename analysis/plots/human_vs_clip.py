"""Human accuracy beside CLIP's zero-shot top-1 on the same sketches (and on their photos)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.accuracy import ALL_CLASSES
from analysis.human_vs_clip import CLIP, PAPER_CLIP, PEOPLE
from analysis.plots.style import (
    CONDITION_COLORS,
    CONDITION_LABELS,
    conditions_in,
    plain_text,
    yerr,
)
from sketchlab.contracts import PHOTO, SCORE_SERIES


def _clip_label(model: str, pretrained: str, prompt_set: str, circular: bool) -> str:
    label = f"CLIP {model}/{pretrained} · {prompt_set}"
    return f"{label} (circular: loss model)" if circular else label


def _series_rows(rows: pd.DataFrame, panel: str, key: tuple) -> pd.DataFrame:
    """The rows of `panel` (a class) of one CLIP series, `key` = (model, pretrained,
    prompt_set, circular)."""
    model, pretrained, prompt_set, _ = key
    return rows[
        (rows["class"] == panel)
        & (rows["model"] == model)
        & (rows["pretrained"] == pretrained)
        & (rows["prompt_set"] == prompt_set)
    ]


def _draw_clip(
    ax: plt.Axes,
    panel: str,
    sketches: pd.DataFrame,
    photos: pd.DataFrame,
    clip_colors: dict[tuple, str],
    shift: dict,
    photo_x: float,
) -> None:
    """One panel's CLIP series: each model x prompt set's dashed curve over the sketches and,
    where it scored the photos, its ceiling (a dotted line and a point at `photo_x`)."""
    for key, color in clip_colors.items():
        model, pretrained, prompt_set, circular = key
        label = _clip_label(model, pretrained, prompt_set, bool(circular))
        cell = _series_rows(sketches, panel, key).sort_values("n_strokes")
        if not cell.empty:
            ax.errorbar(
                cell["n_strokes"] * shift[key],
                cell["accuracy"],
                yerr=yerr(cell["accuracy"], cell["ci_low"], cell["ci_high"]),
                color=color,
                marker="s",
                linestyle="--",
                capsize=3,
                label=label,
            )
        ceiling = _series_rows(photos, panel, key)
        if not ceiling.empty:
            ax.axhline(ceiling["accuracy"].iloc[0], color=color, linestyle=":", linewidth=1.2)
            ax.errorbar(
                [photo_x * shift[key]],
                ceiling["accuracy"],
                yerr=yerr(ceiling["accuracy"], ceiling["ci_low"], ceiling["ci_high"]),
                color=color,
                marker="^",
                markersize=8,
                markerfacecolor="white",
                linestyle=":",
                capsize=3,
                label=f"{label}, on the photos (ceiling)",
            )


@plain_text
def plot_human_vs_clip(table: pd.DataFrame) -> plt.Figure:
    """Human accuracy and CLIP top-1 against stroke count, one panel per class after a first
    panel of all classes pooled, with CLIP on the photos themselves as the ceiling.

    `table`: `human_vs_clip.human_vs_clip_table`. People's rows are drawn per condition as
    solid lines with Wilson bars; CLIP's as one dashed series per model x prompt set with
    Wilson bars over sketches; its photo rows (kind "photo") in the same colour at a "photo"
    position right of the stroke levels, with a dotted line across the panel: what CLIP
    makes of the photos the sketches were drawn from. The paper's rows are stars in the
    pooled panel.
    """
    human = table[table["who"] == PEOPLE]
    clip = table[table["who"] == CLIP]
    reference = table[table["who"] == PAPER_CLIP]
    photos = clip[clip["kind"] == PHOTO]
    sketches = clip.drop(photos.index)
    classes = sorted(set(table["class"]) - {ALL_CLASSES})
    panels = [ALL_CLASSES, *classes]
    conditions = conditions_in(human)
    series = (
        clip[[*SCORE_SERIES, "circular"]]
        .groupby(list(SCORE_SERIES), as_index=False)["circular"]
        .max()
        .sort_values(list(SCORE_SERIES))
    )
    clip_colors = dict(
        zip(
            series.itertuples(index=False),
            sns.color_palette("dark", len(series)).as_hex(),
            strict=True,
        )
    )
    levels = sorted(
        {int(n) for n in human["n_strokes"]}
        | {int(n) for n in sketches["n_strokes"]}
        | {int(n) for n in reference["n_strokes"]}
    )
    photo_x = 2 * max(levels)
    ticks = [*levels, photo_x] if len(photos) else levels
    tick_labels = [str(n) for n in levels] + (["photo"] if len(photos) else [])

    # Each series sits slightly left or right of its level so error bars do not hide each other.
    n_series = len(conditions) + len(clip_colors)
    dodge = iter(2.0 ** np.linspace(-0.08, 0.08, n_series) if n_series > 1 else [1.0])
    shift = {name: next(dodge) for name in [*conditions, *clip_colors]}

    n_cols = min(3, len(panels))
    n_rows = int(np.ceil(len(panels) / n_cols))
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(4.2 * n_cols, 3.4 * n_rows), squeeze=False, sharey=True
    )
    # the grid can have more axes than panels: the spare ones are hidden below
    for ax, panel in zip(axes.flat, panels, strict=False):
        for condition in conditions:
            cell = human[(human["class"] == panel) & (human["condition"] == condition)].sort_values(
                "n_strokes"
            )
            if cell.empty:
                continue
            ax.errorbar(
                cell["n_strokes"] * shift[condition],
                cell["accuracy"],
                yerr=yerr(cell["accuracy"], cell["ci_low"], cell["ci_high"]),
                color=CONDITION_COLORS[condition],
                marker="o",
                capsize=3,
                label=f"people, {CONDITION_LABELS[condition]}",
            )
        _draw_clip(ax, panel, sketches, photos, clip_colors, shift, photo_x)
        if panel == ALL_CLASSES and not reference.empty:
            ax.scatter(
                reference["n_strokes"].astype(int),
                reference["accuracy"],
                marker="*",
                s=160,
                color="black",
                zorder=5,
                label="paper: CLIP ViT-B/32 top-1",
            )
        if len(photos):
            ax.axvline(photo_x / 2**0.5, color="grey", linewidth=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, tick_labels)
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.set_title("all classes" if panel == ALL_CLASSES else panel)
        ax.set_xlabel("strokes")
        ax.set_ylabel("accuracy / CLIP top-1")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    handles = _legend_entries(axes)
    labels = list(handles)
    fig.legend(
        list(handles.values()),
        labels,
        loc="lower center",
        ncol=2,
        frameon=False,
        bbox_to_anchor=(0.5, 0),
    )
    legend_rows = int(np.ceil(len(labels) / 2))
    fig.tight_layout(rect=(0, 0.06 * legend_rows / n_rows, 1, 1))
    return fig


def _legend_entries(axes) -> dict[str, object]:
    """Label -> handle over all panels, each label once, in the order first drawn: one
    legend under the figure instead of one per panel."""
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    return handles
