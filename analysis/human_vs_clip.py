"""CLIP zero-shot accuracy per class and stroke level, from the scores `sketchlab score` writes.

No torch here (the scoring itself lives in the `scoring` package): the report reads the
scores table, keeps the sketches people saw and turns it into accuracy per model x prompt
set x class x level with Wilson intervals over sketches, to draw beside the human curves
(`human_vs_clip_table`, drawn by `analysis.plots.human_vs_clip`; docs/analysis.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.accuracy import ALL_CLASSES, wilson_interval
from scoring.circularity import circular_rows
from scoring.summaries import mean_per_class_recall
from sketchlab.contracts import PHOTO, SCORE_KINDS, SCORE_REQUIRED, SCORE_SERIES, SKETCH
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
    """The validated scores table, `kind` filled in (sketch where the column is absent).

    With `stimuli_ids` (e.g. the responses' stimulus_id values), only the scored sketches
    people saw and the photos they were drawn from (`score --photos`), and BadInput when no
    sketch joins. `attrs["unscored_stimuli"]` lists the given ids that have no score.
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
    scores["kind"] = scores["kind"].fillna(SKETCH) if "kind" in scores.columns else SKETCH
    _check_values(path, scores, "kind", scores["kind"].isin(SCORE_KINDS), "sketch or photo")
    photo = (scores["kind"] == PHOTO).to_numpy().copy()
    scores["stimulus_id"] = scores["stimulus_id"].astype(str).where(~photo, "")
    levels = pd.to_numeric(scores["n_strokes"], errors="coerce")
    _check_values(path, scores, "n_strokes", levels.notna(), "a number")
    scores["n_strokes"] = levels.astype(int)
    correct = pd.to_numeric(scores["correct_top1"], errors="coerce")
    _check_values(path, scores, "correct_top1", correct.isin([0, 1]), "0 or 1")
    scores["correct_top1"] = correct.astype(int)
    scores["pretrained"] = scores["pretrained"].fillna("none").astype(str)
    scores["circular"] = circular_rows(scores).astype(int)
    if stimuli_ids is None:
        return scores
    wanted = {str(s) for s in stimuli_ids}
    joined = ~photo & scores["stimulus_id"].isin(wanted).to_numpy()
    if not joined.any():
        example = min(wanted) if wanted else "(none)"
        sketch_ids = scores.loc[~photo, "stimulus_id"]
        theirs = f"e.g. {sketch_ids.iloc[0]!r}" if len(sketch_ids) else "it has only photo rows"
        raise BadInput(
            f"{path} does not join to the stimuli: no value of its column 'stimulus_id' "
            f"({theirs}) matches the responses' stimulus_id (e.g. {example!r})"
        )
    if "image_id" in scores.columns:  # the photos of the sketches people saw
        photo &= scores["image_id"].isin(set(scores.loc[joined, "image_id"])).to_numpy()
    unscored = sorted(wanted - set(scores.loc[joined, "stimulus_id"]))
    scores = scores[joined | photo].reset_index(drop=True)
    scores.attrs["unscored_stimuli"] = unscored
    return scores


def _check_values(path: Path, scores: pd.DataFrame, column: str, ok: pd.Series, what: str) -> None:
    """BadInput naming the first row whose `column` is not `what` (plain value, CSV row)."""
    if ok.all():
        return
    row = int(np.argmax(~ok.to_numpy()))
    raise BadInput(
        f"{path} row {row + 2}: column {column!r} is {scores[column].tolist()[row]!r}, not {what}"
    )


def clip_accuracy_by_level(scores: pd.DataFrame) -> pd.DataFrame:
    """CLIP top-1 per model x prompt set x kind x class x stroke level, plus class='all' rows.

    Columns: model, pretrained, prompt_set, kind (sketches first, then the photos, n_strokes
    0), circular, class, n_strokes, n_sketches (images: photos on photo rows), n_correct,
    top1, ci_low, ci_high (Wilson 95% over images), top3, mean_per_class_recall ('all' rows),
    none_rate_threshold, none_rate_distractor (NaN where the scores lack them).
    """
    keys = [*SCORE_SERIES, "kind"]
    data = scores.copy()
    if "kind" not in data.columns:
        data["kind"] = SKETCH
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
            recall[key] = mean_per_class_recall(cell["class"], cell["pred_top1"])
    table["mean_per_class_recall"] = [
        recall.get((*key, n), np.nan) if c == ALL_CLASSES else np.nan
        for key, c, n in zip(
            table[keys].itertuples(index=False, name=None),
            table["class"],
            table["n_strokes"],
            strict=True,
        )
    ]
    kind_order = table["kind"].map({kind: i for i, kind in enumerate(SCORE_KINDS)})
    table = table.iloc[np.argsort(kind_order.to_numpy(), kind="stable")].reset_index(drop=True)
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


PEOPLE, CLIP, PAPER_CLIP = "people", "CLIP", "paper"
"""`who` in `human_vs_clip_table`: the study's participants, a CLIP scorer, the paper's CLIP."""


def human_vs_clip_table(
    human: pd.DataFrame, clip: pd.DataFrame, paper_top1: dict[str, float]
) -> pd.DataFrame:
    """One tidy table of everything the human-vs-CLIP figure draws, a row per point: `who`
    (PEOPLE, CLIP or PAPER_CLIP), class, n_strokes, accuracy (people's accuracy or CLIP's
    top-1), ci_low, ci_high; people rows keep their `condition`, CLIP rows their series
    (SCORE_SERIES), `circular` and `kind` (photo rows: CLIP on the photos, the ceiling).

    `human`: accuracy rows per class and pooled; `clip`: `clip_accuracy_by_level`;
    `paper_top1`: the paper's ViT-B/32 top-1 by stroke level (pooled, no interval)."""
    interval = ["class", "n_strokes", "accuracy", "ci_low", "ci_high"]
    people = human[["condition", *interval]].assign(who=PEOPLE)
    scorers = clip.rename(columns={"top1": "accuracy"})[
        [*SCORE_SERIES, "circular", "kind", *interval]
    ].assign(who=CLIP)
    reference = pd.DataFrame(
        {
            "who": PAPER_CLIP,
            "class": ALL_CLASSES,
            "n_strokes": [int(level) for level in paper_top1],
            "accuracy": list(paper_top1.values()),
        }
    )
    table = pd.concat([people, scorers, reference], ignore_index=True)
    table["class"] = table["class"].astype(str)
    return table[["who", *interval, "condition", *SCORE_SERIES, "circular", "kind"]]
