"""CLIP zero-shot accuracy per class and stroke level, from the scores `sketchlab score` writes.

No torch here (the scoring itself lives in the `scoring` package): the report reads the
scores table, keeps the sketches people saw and turns it into accuracy per model x prompt
set x class x level with Wilson intervals over sketches, to draw beside the human curves
(`plots.plot_human_vs_clip`; docs/analysis.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from analysis.accuracy import ALL_CLASSES, wilson_interval
from sketchlab.contracts import SCORE_REQUIRED
from sketchlab.errors import BadInput


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
    table["ci_low"], table["ci_high"] = wilson_interval(table["n_correct"], table["n_sketches"])
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
