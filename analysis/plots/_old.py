"""Report figures: one function per plot, tidy tables in, PNG + SVG out.

Colours and orders are fixed so a condition, class or stroke level looks the same in every
figure: conditions in CONDITIONS order with CONDITION_COLORS, classes sorted, stroke levels
ascending on a log2 axis with a sequential palette. Each `plot_*` function returns the
paths it wrote (`<out_stem>.png`, `<out_stem>.svg`). Labels are data (class and model
names), so text is never parsed as mathtext: a `$` in a class name stays a `$`.

A new figure is one `plot_*` function here, called from `analysis.results` and shown by a
section of `analysis.report_html` (docs/analysis.md lists the figures).
"""

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.accuracy import ALL_CLASSES
from analysis.caution import caution_outside
from analysis.responses import answer_category
from sketchlab.contracts import (
    ANSWER_CATEGORIES,
    CONDITIONS,
    CORRECT,
    NONE,
    PHOTO,
    SCORE_SERIES,
    TEST,
    TIMEOUT,
    WITH_NONE,
    WITHOUT_NONE,
    WRONG,
)
from sketchlab.reference import paper_numbers

CONDITION_COLORS = {WITHOUT_NONE: "#1b6ca8", WITH_NONE: "#d1495b"}
CONDITION_LABELS = {WITHOUT_NONE: 'without "none" (forced choice)', WITH_NONE: 'with "none"'}
PNG_DPI = 130


def plain_text(plot):
    """Run a plot function with mathtext off, so labels drawn from data show as written."""

    @functools.wraps(plot)
    def without_mathtext(*args, **kwargs):
        with plt.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)

    return without_mathtext


def level_palette(levels) -> dict[int, tuple]:
    """Stroke level -> colour, light (few strokes) to dark (many), stable for a level set."""
    levels = sorted(int(level) for level in levels)
    return dict(zip(levels, sns.color_palette("crest", len(levels))))


SIMULATED_MARK = "SIMULATED DATA"


def save_figure(fig: plt.Figure, out_stem: Path, simulated: bool = False) -> list[Path]:
    """Write `<out_stem>.png` and `.svg` and close the figure; `simulated` stamps it with a
    watermark, so a figure of simulated answers cannot pass for a result once copied out of
    the report."""
    if simulated:
        width, height = fig.get_size_inches()
        fig.text(
            0.5, 0.5, SIMULATED_MARK, rotation=np.degrees(np.arctan2(height, width)),
            ha="center", va="center", color="#b00020", alpha=0.13, fontweight="bold",
            fontsize=max(28.0, 6.5 * min(width, 2.2 * height)), zorder=100,
        )  # fmt: skip
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_name(out_stem.name + suffix) for suffix in (".png", ".svg")]
    # One tight box for both files (bbox_inches="tight" would lay the figure out twice per file).
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.savefig(paths[0], dpi=PNG_DPI, bbox_inches=box)
    with plt.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, faster, editable
        fig.savefig(paths[1], bbox_inches=box)
    plt.close(fig)
    return paths


def _footnote(fig: plt.Figure, lines: list[str], y: float = 0.0) -> None:
    """Small grey lines under the figure (below y, in figure coordinates): what a number in
    it rests on, so the caveat travels with the figure."""
    fig.text(0.01, y, "\n".join(lines), fontsize=8, color="#555", ha="left", va="top")


def _paper_note() -> str:
    """The caveat on the paper's 76% (reference_numbers.json), for figures that draw it."""
    return paper_numbers()["figure_note"]


def _conditions(table: pd.DataFrame) -> list[str]:
    present = set(table["condition"])
    return [c for c in CONDITIONS if c in present]


def _yerr(value, low, high) -> np.ndarray:
    """Error-bar lengths below/above (never negative from rounding at 0% or 100%)."""
    value, low, high = (np.asarray(v, dtype=float) for v in (value, low, high))
    return np.clip(np.vstack([value - low, high - value]), 0, None)


def _log2_axis(ax: plt.Axes, levels) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels, [str(level) for level in levels])
    ax.minorticks_off()
    ax.set_xlim(min(levels) / 1.3, max(levels) * 1.3)


@plain_text
def plot_accuracy_vs_strokes(
    per_class: pd.DataFrame,
    pooled: pd.DataFrame,
    out_stem: Path,
    paper: dict | None = None,
    simulated: bool = False,
) -> list[Path]:
    """Accuracy against stroke count: one panel for all classes pooled, then one per class.

    Each point has two error bars: thick = participant-cluster bootstrap 95% (columns
    boot_low/boot_high), thin with caps = Wilson 95% (ci_low/ci_high); conditions are
    nudged apart on x so both stay readable. `paper` (reference_numbers.json's
    human_category_recognition) is drawn as open diamonds in the pooled panel.
    """
    table = pd.concat([pooled, per_class], ignore_index=True)
    classes = sorted(set(per_class["class"]))
    panels = [ALL_CLASSES, *classes]
    levels = sorted(int(level) for level in table["n_strokes"].unique())
    conditions = _conditions(table)
    n_cols = min(3, len(panels))
    n_rows = int(np.ceil(len(panels) / n_cols))
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=(4.3 * n_cols, 3.5 * n_rows), squeeze=False, sharey=True
        )
    nudge = {c: 2 ** (0.1 * (i - (len(conditions) - 1) / 2)) for i, c in enumerate(conditions)}
    wilson_shift = 2**0.035
    for ax, panel in zip(axes.flat, panels):
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
                yerr=_yerr(cell["accuracy"], cell["ci_low"], cell["ci_high"]),
                fmt="none",
                ecolor=color,
                elinewidth=1,
                capsize=3,
            )
        if panel == ALL_CLASSES and paper:
            for condition, values in paper.items():
                if condition not in CONDITION_COLORS:
                    continue
                points = sorted((int(k), v) for k, v in values.items() if int(k) in levels)
                if not points:
                    continue
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    linestyle=":",
                    marker="D",
                    markerfacecolor="white",
                    markersize=7,
                    color=CONDITION_COLORS[condition],
                    label=f"paper, {CONDITION_LABELS[condition]}",
                )
        _log2_axis(ax, levels)
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
    if paper:
        _footnote(fig, [_paper_note()], y=-0.04)
    return save_figure(fig, out_stem, simulated)


@plain_text
def plot_accuracy_bars(
    per_class: pd.DataFrame, chance: dict[str, float], out_stem: Path, simulated: bool = False
) -> list[Path]:
    """Grouped bars: class on x, one bar per stroke level, one panel per condition, Wilson 95%
    error bars and a dashed chance line at 1/(buttons shown) for that condition."""
    conditions = _conditions(per_class)
    classes = sorted(set(per_class["class"]))
    levels = sorted(int(level) for level in per_class["n_strokes"].unique())
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
    for ax, condition in zip(axes[0], conditions):
        cells = per_class[per_class["condition"] == condition].set_index(["class", "n_strokes"])
        for i, level in enumerate(levels):
            rows = cells.reindex([(c, level) for c in classes])
            x = np.arange(len(classes)) - 0.4 + width * (i + 0.5)
            ax.bar(x, rows["accuracy"], width=width * 0.95, color=colors[level], label=str(level))
            ax.errorbar(
                x,
                rows["accuracy"],
                yerr=_yerr(rows["accuracy"], rows["ci_low"], rows["ci_high"]),
                fmt="none",
                ecolor="black",
                elinewidth=0.8,
                capsize=2,
            )
        level_chance = chance.get(condition)
        if level_chance:
            ax.axhline(level_chance, linestyle="--", color="black", linewidth=1)
            ax.text(
                -0.48,
                level_chance + 0.012,
                f"chance {level_chance:.0%}",
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
    return save_figure(fig, out_stem, simulated)


def confusion_counts(tests: pd.DataFrame) -> pd.DataFrame:
    """Counts per condition x level x true class x response (test trials)."""
    counts = tests.groupby(
        ["condition", "n_strokes", "true_class", "response"], observed=True
    ).size()
    return counts.rename("n").reset_index()


@plain_text
def plot_confusion(counts: pd.DataFrame, out_stem: Path, simulated: bool = False) -> list[Path]:
    """Row-normalised confusion matrices (rows: true class, columns: answer), one row of
    panels per stroke level and one column per condition (the with-"none" panels get a
    "none" column). Sized so that, scaled to the report's width, the labels stay at reading
    size. `counts`: `confusion_counts` of the test trials."""
    conditions = _conditions(counts)
    levels = sorted(int(level) for level in counts["n_strokes"].unique())
    classes = sorted(set(counts["true_class"].astype(str)))
    answered = set(counts["response"].astype(str)) - {NONE}
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
            cell = counts[(counts["condition"] == condition) & (counts["n_strokes"] == level)]
            matrix = cell.pivot_table(
                index="true_class", columns="response", values="n", aggfunc="sum", observed=True
            )
            matrix = matrix.reindex(index=classes, columns=columns).fillna(0)
            rates = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0)
            _heatmap(ax, rates, annotate)
            ax.set_title(f"{CONDITION_LABELS[condition]}, {level} strokes", fontsize=11)
            ax.set_xlabel("answer" if r == len(levels) - 1 else "", fontsize=10)
            ax.set_ylabel("true class" if c == 0 else "", fontsize=10)
            ax.tick_params(labelsize=10)
    fig.suptitle("Confusion matrices (row = true class; share of its answers)", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1]))
    return save_figure(fig, out_stem, simulated)


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


def answer_composition(tests: pd.DataFrame, timed_out: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of right, wrong-class, "none" and timed-out answers per condition x level among
    the test trials shown (`timed_out`: the timed-out test trials, which are no answer)."""
    trials = (
        tests
        if timed_out is None or timed_out.empty
        else pd.concat([tests, timed_out[timed_out["trial_type"] == TEST]], ignore_index=True)
    )
    answers = pd.crosstab(
        [trials["condition"].astype(str), trials["n_strokes"].astype(int)],
        answer_category(trials),
    ).reindex(columns=list(ANSWER_CATEGORIES), fill_value=0)
    table = answers.div(answers.sum(axis=1), axis=0)
    table.insert(0, "n", answers.sum(axis=1))
    table = table.rename(columns={WRONG: "wrong class"}).reset_index()
    table.columns.name = None
    return table.rename(columns={"row_0": "condition", "row_1": "n_strokes"})[
        ["condition", "n_strokes", "n", CORRECT, "wrong class", NONE, TIMEOUT]
    ]


@plain_text
def plot_none_contrast(
    composition: pd.DataFrame,
    comparison: pd.DataFrame,
    out_stem: Path,
    paper: dict | None = None,
    simulated: bool = False,
) -> list[Path]:
    """The 36% -> 76% contrast at a glance: per stroke level, one stacked bar per condition
    splitting the test trials into right / wrong class / "none" / timed out
    (`answer_composition`), with the paper's accuracies as diamonds and, above each pair,
    the gap with its image-aware 95% interval and the caution share with its interval, as
    estimated (never clipped to 0-100%; `compare.compare_none`, may be empty)."""
    conditions = _conditions(composition)
    levels = sorted(composition["n_strokes"].unique())
    width = 0.8 / len(conditions)
    timeouts = bool(composition[TIMEOUT].gt(0).any())
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(2.1 * len(levels) + 2.5, 4.9))
    for i, condition in enumerate(conditions):
        rows = (
            composition[composition["condition"] == condition]
            .set_index("n_strokes")
            .reindex(levels)
        )
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
        for xi, value in zip(x, rows[CORRECT]):
            if np.isfinite(value):
                ax.text(xi, value / 2, f"{value:.0%}", ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")  # fmt: skip
        if paper and condition in paper:
            points = [
                (levels.index(int(k)), v) for k, v in paper[condition].items() if int(k) in levels
            ]
            ax.scatter([x[j] for j, _ in points], [v for _, v in points], marker="D", s=45,
                       color="black", zorder=5, label="paper's accuracy")  # fmt: skip
    for j, level in enumerate(levels):
        row = comparison[comparison["n_strokes"] == level] if not comparison.empty else comparison
        if not row.empty:
            ax.text(j, 1.02, _gap_label(row.iloc[0]), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(levels)), [f"{level} strokes" for level in levels])
    ax.set_ylim(0, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("share of test trials")
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    order = sorted(
        unique, key=lambda label: (not label.startswith("right"), label == "paper's accuracy")
    )
    ax.legend([unique[label] for label in order], order, loc="upper left",
              bbox_to_anchor=(1.01, 1), frameon=False)  # fmt: skip
    ax.set_title('Where the answers go: with vs without "none"')
    fig.tight_layout()
    notes = ["Brackets: 95% intervals allowing for participants and images (the caution "
             "share's from the two-way bootstrap, as estimated, never clipped)."]  # fmt: skip
    _footnote(fig, notes + ([_paper_note()] if paper else []), y=0.0)
    return save_figure(fig, out_stem, simulated)


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


def _clip_label(model: str, pretrained: str, prompt_set: str, circular: bool) -> str:
    label = f"CLIP {model}/{pretrained} · {prompt_set}"
    return f"{label} (circular: loss model)" if circular else label


@plain_text
def plot_human_vs_clip(
    human: pd.DataFrame, clip: pd.DataFrame, out_stem: Path, simulated: bool = False
) -> list[Path]:
    """Human accuracy and CLIP top-1 against stroke count, one panel per class after a first
    panel of all classes pooled, with CLIP on the photos themselves as the ceiling.

    `human`: accuracy rows (`accuracy.ACCURACY_COLUMNS`) per class and pooled (class "all"),
    drawn per condition as solid lines with Wilson bars. `clip`:
    `human_vs_clip.clip_accuracy_by_level`, one dashed series per model x prompt set with
    Wilson bars over sketches; its photo rows (kind "photo") are drawn in the same colour
    at a "photo" position right of the stroke levels, with a dotted line across the panel:
    what CLIP makes of the photos the sketches were drawn from. The paper's ViT-B/32 top-1
    figures are stars in the pooled panel.
    """
    human = human.assign(**{"class": human["class"].astype(str)})
    clip = clip.assign(**{"class": clip["class"].astype(str)})
    photos = clip[clip["kind"] == PHOTO] if "kind" in clip.columns else clip.iloc[:0]
    sketches = clip.drop(photos.index)
    classes = sorted((set(human["class"]) | set(clip["class"])) - {ALL_CLASSES})
    panels = [ALL_CLASSES, *classes]
    conditions = _conditions(human)
    series = (
        clip[[*SCORE_SERIES, "circular"]]
        .groupby(list(SCORE_SERIES), as_index=False)["circular"]
        .max()
        .sort_values(list(SCORE_SERIES))
    )
    clip_colors = dict(
        zip(series.itertuples(index=False), sns.color_palette("dark", max(len(series), 1)).as_hex())
    )
    reference = paper_numbers()["clip_vit_b32_zero_shot"]["top1"]
    levels = sorted(
        set(human["n_strokes"]) | set(sketches["n_strokes"]) | {int(n) for n in reference}
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
    for ax, panel in zip(axes.flat, panels):
        for condition in conditions:
            cell = human[(human["class"] == panel) & (human["condition"] == condition)].sort_values(
                "n_strokes"
            )
            if cell.empty:
                continue
            ax.errorbar(
                cell["n_strokes"] * shift[condition],
                cell["accuracy"],
                yerr=_yerr(cell["accuracy"], cell["ci_low"], cell["ci_high"]),
                color=CONDITION_COLORS[condition],
                marker="o",
                capsize=3,
                label=f"people, {CONDITION_LABELS[condition]}",
            )
        for key, color in clip_colors.items():
            model, pretrained, prompt_set, circular = key
            label = _clip_label(model, pretrained, prompt_set, bool(circular))
            in_series = (
                (clip["class"] == panel)
                & (clip["model"] == model)
                & (clip["pretrained"] == pretrained)
                & (clip["prompt_set"] == prompt_set)
            )
            cell = sketches[in_series[sketches.index]].sort_values("n_strokes")
            if not cell.empty:
                ax.errorbar(
                    cell["n_strokes"] * shift[key],
                    cell["top1"],
                    yerr=_yerr(cell["top1"], cell["ci_low"], cell["ci_high"]),
                    color=color,
                    marker="s",
                    linestyle="--",
                    capsize=3,
                    label=label,
                )
            ceiling = photos[in_series[photos.index]]
            if not ceiling.empty:
                ax.axhline(ceiling["top1"].iloc[0], color=color, linestyle=":", linewidth=1.2)
                ax.errorbar(
                    [photo_x * shift[key]],
                    ceiling["top1"],
                    yerr=_yerr(ceiling["top1"], ceiling["ci_low"], ceiling["ci_high"]),
                    color=color,
                    marker="^",
                    markersize=8,
                    markerfacecolor="white",
                    linestyle=":",
                    capsize=3,
                    label=f"{label}, on the photos (ceiling)",
                )
        if panel == ALL_CLASSES:
            ax.scatter(
                [int(n) for n in reference],
                list(reference.values()),
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
    handles, labels = {}, []
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    fig.legend(
        [handles[label] for label in labels],
        labels,
        loc="lower center",
        ncol=2,
        frameon=False,
        bbox_to_anchor=(0.5, 0),
    )
    legend_rows = int(np.ceil(len(labels) / 2))
    fig.tight_layout(rect=(0, 0.06 * legend_rows / n_rows, 1, 1))
    return save_figure(fig, out_stem, simulated)


@plain_text
def plot_plan(plan: pd.DataFrame, out_stem: Path, source: str) -> list[Path]:
    """`sketchlab plan`: against the number of participants (log2 axis, with their cost in
    participant-hours), the expected 95% half-width of each condition's accuracy, of the
    with-vs-without gap, and the power to find the gap, one line per stroke level
    (`planning.PLAN_COLUMNS`)."""
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
    for ax, (column, title) in zip(axes, panels):
        scale = 1 if column == "power_gap" else 100
        for level in levels:
            rows = plan[plan["n_strokes"] == level].sort_values("participants")
            ax.plot(rows["participants"], scale * rows[column], marker="o", color=colors[level],
                    label=f"{level} strokes")  # fmt: skip
        _log2_axis(ax, sizes)
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
