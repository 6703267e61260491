"""The per-level summary of a scores table, and writing scores.csv with it (no torch here).

Per model x prompt set x stroke level: top-1, top-3, mean per-class recall (clip_benchmark's
`mean_per_class_recall`, sklearn's balanced accuracy) and the "none" analogues
(docs/scoring.md). The report's CLIP table uses `mean_per_class_recall` too.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from sketchlab.contracts import PHOTO, SCORE_SERIES
from sketchlab.files import atomic_write


def mean_per_class_recall(true_class: pd.Series, predicted: pd.Series) -> float:
    """Average over the true classes of the share predicted right (balanced accuracy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # predictions may name classes absent from true_class
        return float(balanced_accuracy_score(true_class, predicted))


def _rate(values: pd.Series) -> float:
    return float(values.mean()) if len(values) and values.notna().any() else float("nan")


def _committed_accuracy(group: pd.DataFrame, none_column: str) -> float:
    committed = group[group[none_column] == 0]
    return float(committed["correct_top1"].mean()) if len(committed) else float("nan")


def summarize_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model x prompt set x kind (sketch or photo) x stroke level (plus n_strokes='all'
    for the sketches): top-1, top-3, mean per-class recall, and for each "none" analogue
    its rate, the accuracy among committed answers and the with-"none" accuracy (correct and
    not "none", as people are scored). Photos are one level, n_strokes 0."""
    rows = []
    keys = [*SCORE_SERIES, "kind"] if "kind" in scores.columns else list(SCORE_SERIES)
    for key, group in scores.groupby(keys, sort=False):
        levels = [(str(n), g) for n, g in group.groupby("n_strokes")]
        if "kind" not in group.columns or not group["kind"].eq(PHOTO).all():
            levels.append(("all", group))
        for level, cell in levels:
            row = dict(zip(keys, key, strict=True))
            row.update(
                {
                    "n_strokes": level,
                    "n_sketches": len(cell),
                    "circular": int(cell["circular"].max()),
                    "top1": float(cell["correct_top1"].mean()),
                    "top3": _rate(cell["correct_top3"]),
                    "mean_per_class_recall": mean_per_class_recall(
                        cell["class"], cell["pred_top1"]
                    ),
                }
            )
            for analogue in ("threshold", "distractor"):
                flag = f"is_none_{analogue}"
                available = cell[flag].notna().all()
                row[f"none_rate_{analogue}"] = _rate(cell[flag]) if available else float("nan")
                row[f"top1_committed_{analogue}"] = (
                    _committed_accuracy(cell, flag) if available else float("nan")
                )
                row[f"top1_with_none_{analogue}"] = (
                    float(((cell["correct_top1"] == 1) & (cell[flag] == 0)).mean())
                    if available
                    else float("nan")
                )
            rows.append(row)
    return pd.DataFrame(rows)


def summary_paths(out: str | Path) -> tuple[Path, Path]:
    """scores.csv -> (scores.summary.csv, scores.summary.json)."""
    out = Path(out)
    return out.with_suffix(".summary.csv"), out.with_suffix(".summary.json")


def write_scores(
    scores: pd.DataFrame, out: str | Path, *, logit_scale: float
) -> tuple[pd.DataFrame, list[Path]]:
    """Write scores.csv and its summary (CSV + JSON with the run's settings), each atomically."""
    out = Path(out)
    summary = summarize_scores(scores)
    summary_csv, summary_json = summary_paths(out)
    with atomic_write(out) as handle:
        scores.to_csv(handle, index=False)
    with atomic_write(summary_csv) as handle:
        summary.to_csv(handle, index=False)
    first = scores.iloc[0]
    prompt_sets = {
        name: {
            "hash": group["prompt_hash"].iloc[0],
            "n_templates": int(group["n_templates"].iloc[0]),
        }
        for name, group in scores.groupby("prompt_set", sort=False)
    }
    document = {
        "scores": out.name,
        "model": first["model"],
        "pretrained": first["pretrained"],
        "weights_sha256": first["weights_sha256"],
        "circular": bool(scores["circular"].any()),
        "classes": [c[2:] for c in scores.columns if c.startswith("p_")],
        "logit_scale": logit_scale,
        "none_threshold": float(first["none_threshold"]),
        "distractor_hash": first["distractor_hash"],
        "prompt_sets": prompt_sets,
        "summary": json.loads(summary.to_json(orient="records")),
    }
    with atomic_write(summary_json) as handle:
        json.dump(document, handle, indent=2)
    return summary, [out, summary_csv, summary_json]
