"""CLIP zero-shot accuracy next to human recognition accuracy, per class and stroke level.

Reads the scores table that `sketchlab score` writes (no torch here), turns it into
accuracy per model x prompt set x class x level with Wilson intervals over sketches, and
draws it beside the human curves with the paper's CLIP figures (ViT-B/32 top-1 at 16 and
32 strokes, pooled over classes) as reference points.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import balanced_accuracy_score
from statsmodels.stats.proportion import proportion_confint

from analysis.accuracy import ACCURACY_COLUMNS, ALL_CLASSES
from analysis.plots import CONDITION_COLORS, CONDITION_LABELS
from sketchlab.contracts import CONDITIONS, SCORE_REQUIRED
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path
from sketchlab.reference import paper_numbers


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BadInput(f"{path}: no such scores file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"stimulus_id": str, "class": str})
    except pd.errors.EmptyDataError:
        raise BadInput(
            f"{path} is empty; expected the scores table written by `sketchlab score`"
        ) from None
    except (ValueError, OSError) as error:
        raise BadInput(f"{path} is not a readable scores table: {error}") from None


def read_scores(path: str | Path, stimuli_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The validated scores table; with `stimuli_ids` (e.g. the responses' stimulus_id values),
    only the scored sketches people saw, and BadInput when none of them join.

    `attrs["unscored_stimuli"]` lists the given ids that have no score.
    """
    path = Path(path)
    scores = _read_table(path)
    missing = [c for c in SCORE_REQUIRED if c not in scores.columns]
    if missing:
        raise BadInput(
            f"{path} has no column {missing[0]!r}; is it a scores table from `sketchlab score`?"
        )
    if scores.empty:
        raise BadInput(f"{path} has a header but no rows")
    scores["stimulus_id"] = scores["stimulus_id"].astype(str)
    levels = pd.to_numeric(scores["n_strokes"], errors="coerce")
    if levels.isna().any():
        row = int(np.argmax(levels.isna()))
        raise BadInput(
            f"{path} row {row + 2}: column 'n_strokes' is {scores['n_strokes'].iloc[row]!r}, "
            "not a number"
        )
    scores["n_strokes"] = levels.astype(int)
    correct = pd.to_numeric(scores["correct_top1"], errors="coerce")
    if not correct.isin([0, 1]).all():
        row = int(np.argmax(~correct.isin([0, 1])))
        raise BadInput(
            f"{path} row {row + 2}: column 'correct_top1' is "
            f"{scores['correct_top1'].iloc[row]!r}, not 0 or 1"
        )
    scores["correct_top1"] = correct.astype(int)
    if "circular" not in scores.columns:
        scores["circular"] = 0
    scores["pretrained"] = scores["pretrained"].fillna("none").astype(str)
    if stimuli_ids is not None:
        wanted = {str(s) for s in stimuli_ids}
        joined = scores["stimulus_id"].isin(wanted)
        if not joined.any():
            example = min(wanted) if wanted else "(none)"
            raise BadInput(
                f"{path} does not join to the stimuli: no value of its column 'stimulus_id' "
                f"(e.g. {scores['stimulus_id'].iloc[0]!r}) matches the responses' stimulus_id "
                f"(e.g. {example!r})"
            )
        scores = scores[joined].reset_index(drop=True)
        scores.attrs["unscored_stimuli"] = sorted(wanted - set(scores["stimulus_id"]))
    return scores


def _wilson(n_correct: pd.Series, n: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    low, high = proportion_confint(n_correct.to_numpy(), n.to_numpy(), alpha=0.05, method="wilson")
    return np.asarray(low), np.asarray(high)


def clip_accuracy_by_level(scores: pd.DataFrame) -> pd.DataFrame:
    """CLIP top-1 per model x prompt set x class x stroke level, plus class='all' pooled rows.

    Columns: model, pretrained, prompt_set, circular, class, n_strokes, n_sketches, n_correct,
    top1, ci_low, ci_high (Wilson 95% over sketches), top3, mean_per_class_recall ('all' rows),
    none_rate_threshold, none_rate_distractor (NaN where the scores lack them).
    """
    keys = ["model", "pretrained", "prompt_set"]
    data = scores.copy()
    for column in ("correct_top3", "is_none_threshold", "is_none_distractor"):
        if column not in data.columns:
            data[column] = np.nan
    pooled = data.assign(**{"class": ALL_CLASSES})
    rows = []
    for frame in (data, pooled):
        grouped = frame.groupby([*keys, "class", "n_strokes"], sort=True)
        table = grouped.agg(
            circular=("circular", "max"),
            n_sketches=("correct_top1", "size"),
            n_correct=("correct_top1", "sum"),
            top3=("correct_top3", "mean"),
            none_rate_threshold=("is_none_threshold", "mean"),
            none_rate_distractor=("is_none_distractor", "mean"),
        ).reset_index()
        rows.append(table)
    table = pd.concat(rows, ignore_index=True)
    table["top1"] = table["n_correct"] / table["n_sketches"]
    table["ci_low"], table["ci_high"] = _wilson(table["n_correct"], table["n_sketches"])
    recall = {}
    if "pred_top1" in data.columns:
        for key, cell in data.groupby([*keys, "n_strokes"]):
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # predictions may include classes absent at this level
                recall[key] = balanced_accuracy_score(cell["class"], cell["pred_top1"])
    table["mean_per_class_recall"] = [
        recall.get((m, p, s, n), np.nan) if c == ALL_CLASSES else np.nan
        for m, p, s, c, n in zip(
            table["model"],
            table["pretrained"],
            table["prompt_set"],
            table["class"],
            table["n_strokes"],
        )
    ]
    columns = [
        *keys,
        "circular",
        "class",
        "n_strokes",
        "n_sketches",
        "n_correct",
        "top1",
        "ci_low",
        "ci_high",
        "top3",
        "mean_per_class_recall",
        "none_rate_threshold",
        "none_rate_distractor",
    ]
    return table[columns]


def _with_pooled_human(human: pd.DataFrame) -> pd.DataFrame:
    """Add class='all' rows (pooled counts, Wilson) when the per-class table lacks them."""
    missing = [c for c in ACCURACY_COLUMNS if c not in human.columns]
    if missing:
        raise BadInput(
            f"human accuracy table has no column {missing[0]!r} (needs "
            f"{', '.join(ACCURACY_COLUMNS)})"
        )
    human = human.copy()
    human["class"] = human["class"].astype(str)
    if (human["class"] == ALL_CLASSES).any():
        return human
    pooled = human.groupby(["condition", "n_strokes"], as_index=False)[
        ["n_trials", "n_correct"]
    ].sum()
    pooled["class"] = ALL_CLASSES
    pooled["accuracy"] = pooled["n_correct"] / pooled["n_trials"]
    pooled["ci_low"], pooled["ci_high"] = _wilson(pooled["n_correct"], pooled["n_trials"])
    return pd.concat([human, pooled[list(ACCURACY_COLUMNS)]], ignore_index=True)


def _clip_label(model: str, pretrained: str, prompt_set: str, circular: bool) -> str:
    label = f"CLIP {model}/{pretrained} · {prompt_set}"
    return f"{label} (circular: loss model)" if circular else label


def plot_human_vs_clip(
    human_accuracy: pd.DataFrame, clip_accuracy: pd.DataFrame, out_stem: str | Path
) -> list[Path]:
    """One panel per class (first: all classes pooled): human accuracy per condition (solid,
    Wilson bars) and CLIP top-1 per model x prompt set (dashed, Wilson bars over sketches)
    against stroke count on a log2 axis; the paper's ViT-B/32 top-1 figures are drawn as stars
    in the pooled panel. Writes `<out_stem>.png` and `.svg` atomically and returns both paths."""
    human = _with_pooled_human(human_accuracy)
    clip = clip_accuracy.copy()
    clip["class"] = clip["class"].astype(str)
    classes = sorted((set(human["class"]) | set(clip["class"])) - {ALL_CLASSES})
    panels = [ALL_CLASSES, *classes]
    conditions = [c for c in CONDITIONS if c in set(human["condition"])]
    conditions += sorted(set(human["condition"]) - set(conditions))
    series = (
        clip[["model", "pretrained", "prompt_set", "circular"]]
        .drop_duplicates()
        .sort_values(["model", "pretrained", "prompt_set"])
    )
    clip_colors = dict(
        zip(series.itertuples(index=False), sns.color_palette("dark", max(len(series), 1)).as_hex())
    )
    other_colors = iter(sns.color_palette("muted", 10).as_hex())
    condition_colors = {c: CONDITION_COLORS.get(c) or next(other_colors) for c in conditions}
    reference = paper_numbers()["clip_vit_b32_zero_shot"]["top1"]
    levels = sorted(set(human["n_strokes"]) | set(clip["n_strokes"]) | {int(n) for n in reference})

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
                yerr=np.clip(
                    [cell["accuracy"] - cell["ci_low"], cell["ci_high"] - cell["accuracy"]], 0, None
                ),
                color=condition_colors[condition],
                marker="o",
                capsize=3,
                label=f"people, {CONDITION_LABELS.get(condition, condition)}",
            )
        for key, color in clip_colors.items():
            model, pretrained, prompt_set, circular = key
            cell = clip[
                (clip["class"] == panel)
                & (clip["model"] == model)
                & (clip["pretrained"] == pretrained)
                & (clip["prompt_set"] == prompt_set)
            ].sort_values("n_strokes")
            if cell.empty:
                continue
            ax.errorbar(
                cell["n_strokes"] * shift[key],
                cell["top1"],
                yerr=np.clip(
                    [cell["top1"] - cell["ci_low"], cell["ci_high"] - cell["top1"]], 0, None
                ),
                color=color,
                marker="s",
                linestyle="--",
                capsize=3,
                label=_clip_label(model, pretrained, prompt_set, bool(circular)),
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
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(n) for n in levels])
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
    out_stem = Path(out_stem)
    paths = []
    for suffix in (".png", ".svg"):
        target = out_stem.with_name(out_stem.name + suffix)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=130, format=suffix[1:])
        paths.append(target)
    plt.close(fig)
    return paths
