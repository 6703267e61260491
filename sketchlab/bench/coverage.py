"""`sketchlab bench coverage`: does the report's headline gap interval cover the population gap,
and is it no wider than it needs to be?

Each grid point is a study design (8, 16 or 32 test images in the study package's Latin square,
`study.synthetic` with four classes) and a population: participant SD 0.8, an image SD and a
by-image slope SD for the condition (logit scale), and population accuracies per condition and
level. Every replicate draws new participants and new images (`analysis.study_simulation`:
logistic crossed effects, the app's allocation, between-subjects conditions), and the truth is
the population gap over new people and new images (`marginal_rates`). The interval is the one
the report prints (`analysis.gap_interval.gap_intervals`), which models none of this: it only
uses the two-way cluster structure of the answers.

Per level it reports coverage (with its Monte Carlo standard error), the mean half-width, and
the ratio of that to 1.96 x the gap's spread across replicates (the half-width an interval
would have if it knew the spread). The grid is an L9 orthogonal array over images, participants,
image SD and slope SD (each pair of settings appears once) at the paper's accuracies (36 to
99.7%), plus three points with harder sketches (30% with "none" at 4 strokes).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analysis.gap_interval import gap_intervals
from analysis.study_simulation import simulate_study, study_design
from sketchlab.contracts import WITH_NONE, WITHOUT_NONE
from study.response_model import ResponseModel, calibrated_logit, marginal_rates, paper_rates

COVERAGE_GOAL = (0.93, 0.97)
WIDTH_GOAL = 1.15
"""Mean half-width at most this many times 1.96 x the gap's spread across replicates."""
PARTICIPANT_SD = 0.8
RATES = {
    "paper": {WITHOUT_NONE: paper_rates()[1], WITH_NONE: paper_rates()[0]},
    "hard": {
        WITHOUT_NONE: {4: 0.55, 8: 0.80, 16: 0.93, 32: 0.99},
        WITH_NONE: {4: 0.30, 8: 0.60, 16: 0.85, 32: 0.97},
    },
}
"""Population accuracies: the paper's (the response model's, study/response_model.py) and
harder sketches."""
FEWEST_WRONG = 5
"""Below this many expected wrong answers per condition the counts, not the method, set the
width (docs/analysis.md)."""
CLASSES = ("boat", "chair", "cup", "house")
DOCS_START, DOCS_END = "<!-- coverage-table:start -->", "<!-- coverage-table:end -->"


@dataclass(frozen=True)
class GridPoint:
    images: int
    participants: int
    image_sd: float
    slope_sd: float
    rates: str = "paper"


_SETTINGS = ((8, 16, 32), (80, 160, 320), (0.5, 0.8, 1.2), (0.0, 0.3, 0.6))
_L9 = ((0, 0, 0, 0), (0, 1, 1, 1), (0, 2, 2, 2), (1, 0, 1, 2), (1, 1, 2, 0), (1, 2, 0, 1),
       (2, 0, 2, 1), (2, 1, 0, 2), (2, 2, 1, 0))  # fmt: skip
GRID = tuple(
    GridPoint(*(values[i] for values, i in zip(_SETTINGS, row, strict=True))) for row in _L9
) + (
    GridPoint(8, 80, 1.2, 0.6, "hard"),
    GridPoint(16, 160, 0.8, 0.3, "hard"),
    GridPoint(32, 320, 0.5, 0.0, "hard"),
)
"""An L9 orthogonal array over (images, participants, image SD, slope SD) at the paper's
rates, and three points with harder sketches."""


def population(point: GridPoint) -> ResponseModel:
    """The logistic crossed-effects model whose population accuracies are `point`'s rates."""
    shape = ResponseModel({}, PARTICIPANT_SD, point.image_sd, point.slope_sd)
    logit = {
        condition: {level: calibrated_logit(rate, shape.total_sd(condition))
                    for level, rate in by_level.items()}
        for condition, by_level in RATES[point.rates].items()
    }  # fmt: skip
    return ResponseModel(logit, PARTICIPANT_SD, point.image_sd, point.slope_sd, point.rates)


def design_with(images: int, folder: Path):
    """The study package's design for `images` test images (four classes)."""
    from study.config import load_study
    from study.synthetic import write_synthetic_study

    study = write_synthetic_study(
        folder / f"images{images}", images_per_class=images // len(CLASSES), classes=CLASSES
    )
    return study_design(load_study(study, verify_images=False))


def coverage_at(point: GridPoint, replications: int, seed: int, design) -> list[dict]:
    """Per level: coverage of the population gap, mean half-width and its ratio to 1.96 x the
    spread of the gap across `replications` simulated studies."""
    model = population(point)
    rates = marginal_rates(model)
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(replications):
        study = simulate_study(design, point.participants, model, rng)
        runs.append(
            gap_intervals(
                study.correct, study.with_none, study.level, study.participant, study.image
            )
        )
    gaps = np.array([run.gap for run in runs])
    low = np.array([run.gap_low for run in runs])
    high = np.array([run.gap_high for run in runs])
    answers = np.mean([run.answers for run in runs], axis=0)
    rows = []
    for i, level in enumerate(runs[0].levels):
        truth = rates[WITHOUT_NONE][level] - rates[WITH_NONE][level]
        covered = float(np.mean((low[:, i] <= truth) & (truth <= high[:, i])))
        spread = float(np.std(gaps[:, i], ddof=1))
        half_width = float(np.mean(high[:, i] - low[:, i]) / 2)
        wrong = [
            answers[i, column] * (1 - rates[condition][level])
            for column, condition in enumerate((WITHOUT_NONE, WITH_NONE))
        ]
        rows.append(
            {
                **asdict(point),
                "n_strokes": int(level),
                "gap": truth,
                "coverage": covered,
                "coverage_se": float(np.sqrt(covered * (1 - covered) / replications)),
                "half_width": half_width,
                "spread_half_width": 1.96 * spread,
                "width_ratio": half_width / (1.96 * spread) if spread > 0 else float("nan"),
                "fewest_expected_wrong": float(min(wrong)),
                "replications": replications,
            }
        )
    return rows


def run_bench(
    replications: int = 1000,
    *,
    seed: int = 0,
    points: tuple[GridPoint, ...] = GRID,
    json_out: Path | None = None,
    docs: Path | None = None,
) -> dict:
    """Coverage and width of the headline interval at every grid point; the table is written
    between the coverage-table markers of `docs` (docs/analysis.md) when given."""
    started = time.perf_counter()
    result = {"bench": "coverage", "load_average": [round(v, 2) for v in os.getloadavg()]}
    rows = []
    with tempfile.TemporaryDirectory(prefix="sketchlab-coverage-") as folder:
        designs = {
            images: design_with(images, Path(folder)) for images in {p.images for p in points}
        }
        for number, point in enumerate(points):
            rows += coverage_at(point, replications, seed + number, designs[point.images])
    result.update(
        {
            "replications": replications,
            "coverage_goal": list(COVERAGE_GOAL),
            "width_goal": WIDTH_GOAL,
            "cells": len(rows),
            "cells_coverage_in_goal": sum(_covers(row) for row in rows),
            "cells_width_in_goal": sum(row["width_ratio"] <= WIDTH_GOAL for row in rows),
            "cells_with_counts_and_images": sum(_attainable(row) for row in rows),
            "of_those_in_both_goals": sum(
                _attainable(row) and _covers(row) and row["width_ratio"] <= WIDTH_GOAL
                for row in rows
            ),
            "coverage_range": [min(r["coverage"] for r in rows), max(r["coverage"] for r in rows)],
            "width_ratio_range": [
                min(r["width_ratio"] for r in rows),
                max(r["width_ratio"] for r in rows),
            ],
            "seconds": round(time.perf_counter() - started, 1),
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "rows": rows,
        }
    )
    if json_out is not None:
        from sketchlab.files import atomic_write

        with atomic_write(json_out) as handle:
            json.dump(result, handle, indent=2)
    if docs is not None:
        write_docs_table(docs, coverage_markdown(result))
    return result


def _covers(row: dict) -> bool:
    return COVERAGE_GOAL[0] <= row["coverage"] <= COVERAGE_GOAL[1]


def _attainable(row: dict) -> bool:
    """Both goals are within reach: at least FEWEST_WRONG wrong answers expected in each
    condition and more than 8 images (docs/analysis.md says why not otherwise)."""
    return row["fewest_expected_wrong"] >= FEWEST_WRONG and row["images"] > 8


def coverage_markdown(result: dict) -> str:
    """The coverage table as markdown: one row per grid point, one column pair per level."""
    levels = sorted({row["n_strokes"] for row in result["rows"]})
    head = (
        "| images | participants | image SD | slope SD | rates | "
        + " | ".join(f"{level} strokes: coverage, width" for level in levels)
        + " |\n|"
        + "---|" * (5 + len(levels))
    )
    lines = [head]
    points: dict[tuple, dict[int, dict]] = {}
    for row in result["rows"]:
        key = (row["images"], row["participants"], row["image_sd"], row["slope_sd"], row["rates"])
        points.setdefault(key, {})[row["n_strokes"]] = row
    for key, by_level in points.items():
        cells = []
        for level in levels:
            row = by_level[level]
            coverage = f"{100 * row['coverage']:.1f}%" + ("" if _covers(row) else " ✗")
            width = f"{row['width_ratio']:.2f}" + ("" if row["width_ratio"] <= WIDTH_GOAL else " ✗")
            small = (
                f" (<{FEWEST_WRONG} wrong)" if row["fewest_expected_wrong"] < FEWEST_WRONG else ""
            )
            cells.append(f"{coverage}, {width}{small}")
        images, participants, image_sd, slope_sd, rates = key
        lines.append(
            f"| {images} | {participants} | {image_sd:g} | {slope_sd:g} | {rates} | "
            + " | ".join(cells)
            + " |"
        )
    low, high = result["coverage_range"]
    lines.append(
        f"\n{result['replications']} replicates per point (Monte Carlo SE of a coverage of "
        f"95%: {100 * np.sqrt(0.95 * 0.05 / result['replications']):.1f} points); coverage "
        f"{100 * low:.1f}-{100 * high:.1f}%, {result['cells_coverage_in_goal']} of "
        f"{result['cells']} cells in 93-97%; width ratio {result['width_ratio_range'][0]:.2f}-"
        f"{result['width_ratio_range'][1]:.2f}, {result['cells_width_in_goal']} of "
        f"{result['cells']} at most {WIDTH_GOAL}; of the {result['cells_with_counts_and_images']} "
        f"cells with more than 8 images and at least {FEWEST_WRONG} wrong answers expected per "
        f"condition, {result['of_those_in_both_goals']} meet both goals. ✗: outside the goal; "
        f"(<{FEWEST_WRONG} wrong): fewer than {FEWEST_WRONG} wrong answers expected in a "
        "condition at that level. `sketchlab bench coverage` "
        f"took {result['seconds']:.0f} s at load average {result['load_average'][0]:.1f}-"
        f"{result['load_average_after'][0]:.1f} on 2 cores."
    )
    return "\n".join(lines)


def write_docs_table(path: Path, markdown: str) -> None:
    """Replace the text between the coverage-table markers of `path` with `markdown`."""
    from sketchlab.errors import BadInput
    from sketchlab.files import atomic_write

    text = Path(path).read_text(encoding="utf-8")
    pattern = re.compile(re.escape(DOCS_START) + ".*?" + re.escape(DOCS_END), re.S)
    if not pattern.search(text):
        raise BadInput(f"{path}: no '{DOCS_START}' ... '{DOCS_END}' markers to put the table in.")
    replaced = pattern.sub(lambda _: f"{DOCS_START}\n{markdown}\n{DOCS_END}", text)
    with atomic_write(path, encoding="utf-8") as handle:
        handle.write(replaced)
