"""The report's figures draw their data: every registered figure draws marks from its table in
its section, and each figure's marks are the numbers of the results (bar heights, line points,
cells, labels), not just some picture."""

import dataclasses
import html

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle
from PIL import Image

from analysis.accuracy import ALL_CLASSES
from analysis.figures import FIGURES
from analysis.human_vs_clip import PAPER_CLIP
from analysis.plots.confusion import share_matrix
from analysis.plots.style import CONDITION_LABELS, conditions_in
from analysis.report_html import SECTIONS
from sketchlab.contracts import CORRECT, NONE, TEST, WITH_NONE
from sketchlab.reference import paper_numbers


def marks(ax: plt.Axes) -> int:
    """The data marks an axes draws: lines with a finite point, bars of some height, images,
    scatter points (axes, ticks, titles and legends are not marks)."""
    lines = sum(bool(np.isfinite(np.asarray(line.get_ydata(), float)).any()) for line in ax.lines)
    bars = sum(p.get_height() > 0 for p in ax.patches if isinstance(p, Rectangle))
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    return lines + bars + len(ax.images) + points


def errorbar_points(ax: plt.Axes, label: str) -> np.ndarray:
    """The y values of the error-bar series labelled `label` (the label sits on its container)."""
    (container,) = [c for c in ax.containers if c.get_label() == label]
    return np.asarray(container.lines[0].get_ydata(), dtype=float)


def drawn(name: str, results) -> tuple[pd.DataFrame, plt.Figure]:
    figure = FIGURES[name]
    table = figure.data(results)
    return table, figure.draw(table)


def check_draws_its_table(name: str, results) -> None:
    """What every registered figure must do: name a section of the page and a caption, get a
    table from the results, and draw marks in every panel it shows."""
    figure = FIGURES[name]
    assert figure.section in SECTIONS, f"{name}: no report section {figure.section!r}"
    assert figure.caption.endswith("."), name
    table, fig = drawn(name, results)
    try:
        assert not table.empty, f"{name}: empty table on a full study"
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert panels, f"{name}: no axes"
        assert all(marks(ax) > 0 for ax in panels), f"{name}: a panel draws nothing"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_registered_figure_draws_its_table(name, study_results):
    check_draws_its_table(name, study_results)


def test_a_blank_figure_fails_the_check(study_results, monkeypatch):
    def blank(table: pd.DataFrame) -> plt.Figure:
        fig, ax = plt.subplots()
        ax.set_title("a title and axes, but no data")
        return fig

    monkeypatch.setitem(FIGURES, "confusion", dataclasses.replace(FIGURES["confusion"], draw=blank))
    with pytest.raises(AssertionError, match="a panel draws nothing"):
        check_draws_its_table("confusion", study_results)


def test_every_registered_figure_is_written_and_shown_in_its_section(study_results):
    assert set(study_results.figures) == set(FIGURES)
    for name, figure in FIGURES.items():
        png = study_results.figures[name]
        assert png.name == f"{name}.png" and png.with_suffix(".svg").is_file()
        with Image.open(png) as image:
            pixels = np.asarray(image.convert("L"))
        assert (pixels < 128).mean() > 0.005, f"{name}: hardly any ink"
        section = SECTIONS[figure.section](study_results)
        assert f"<img alt='{name}'" in section and html.escape(figure.caption) in section


def test_the_accuracy_lines_are_the_accuracy_tables_and_the_papers_rates(study_results):
    table, fig = drawn("accuracy_vs_strokes", study_results)
    pooled = table[table["class"] == ALL_CLASSES].drop(columns="paper_accuracy")
    pd.testing.assert_frame_equal(pooled.reset_index(drop=True), study_results.pooled)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["all classes", *study_results.classes]
    for ax in panels:
        panel = ALL_CLASSES if ax.get_title() == "all classes" else ax.get_title()
        for condition in conditions_in(table):
            cell = table[(table["class"] == panel) & (table["condition"] == condition)]
            cell = cell.sort_values("n_strokes")
            (line,) = [line for line in ax.lines if line.get_label() == CONDITION_LABELS[condition]]
            np.testing.assert_allclose(line.get_ydata(), cell["accuracy"])
            ratio = np.asarray(line.get_xdata()) / cell["n_strokes"].to_numpy()
            assert np.ptp(ratio) < 1e-9 and abs(np.log2(ratio[0])) < 0.1  # nudged, in order
    paper = paper_numbers()["human_category_recognition"]
    for condition in conditions_in(table):
        (line,) = [line for line in panels[0].lines if line.get_label().startswith("paper, ")
                   and line.get_label().endswith(CONDITION_LABELS[condition])]  # fmt: skip
        rates = {int(level): rate for level, rate in paper[condition].items()}
        expected = [rates[level] for level in study_results.levels if level in rates]
        np.testing.assert_allclose(line.get_ydata(), expected)
    plt.close(fig)


def test_the_bars_are_the_per_class_accuracies_with_the_chance_line(study_results):
    table, fig = drawn("accuracy_bars", study_results)
    classes, levels = study_results.classes, study_results.levels
    for ax, condition in zip(fig.axes, conditions_in(table), strict=True):
        cells = table[table["condition"] == condition].set_index(["class", "n_strokes"])
        heights = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]
        expected = [cells.loc[(name, level), "accuracy"] for level in levels for name in classes]
        np.testing.assert_allclose(heights, expected)
        assert [label.get_text() for label in ax.get_xticklabels()] == classes
        (chance,) = [line for line in ax.lines if line.get_linestyle() == "--"]
        np.testing.assert_allclose(chance.get_ydata(), 1 / study_results.n_options[condition])
    plt.close(fig)


def test_each_confusion_cell_is_the_share_of_that_classs_answers(study_results):
    table, fig = drawn("confusion", study_results)
    shares = table.groupby(["condition", "n_strokes", "true_class"])["share"].sum()
    np.testing.assert_allclose(shares, 1.0)
    right = table[table["response"] == table["true_class"]].set_index(
        ["condition", "true_class", "n_strokes"]
    )["n"]
    per_class = study_results.per_class.set_index(["condition", "class", "n_strokes"])
    pd.testing.assert_series_equal(
        right.reindex(per_class.index, fill_value=0), per_class["n_correct"], check_names=False
    )
    classes = study_results.classes
    conditions = conditions_in(table)
    axes = np.asarray(fig.axes).reshape(len(study_results.levels), len(conditions))
    for level, row in zip(study_results.levels, axes, strict=True):
        for condition, ax in zip(conditions, row, strict=True):
            answers = classes + ([NONE] if condition == WITH_NONE else [])
            assert [label.get_text() for label in ax.get_xticklabels()] == answers
            cells = table[(table["condition"] == condition) & (table["n_strokes"] == level)]
            image = ax.images[0].get_array()
            for cell in cells.itertuples():
                at = classes.index(cell.true_class), answers.index(cell.response)
                assert image[at] == pytest.approx(cell.share)
            expected = share_matrix(table, condition, level, classes, answers)
            np.testing.assert_allclose(image, expected.fillna(0).to_numpy())
    plt.close(fig)


def test_the_contrast_stacks_each_conditions_answers_under_its_gap(study_results):
    table, fig = drawn("none_contrast", study_results)
    pooled = study_results.pooled.set_index(["condition", "n_strokes"])
    counted = table.set_index(["condition", "n_strokes"])
    np.testing.assert_allclose(
        counted[CORRECT] * counted["n"], pooled.loc[counted.index, "n_correct"]
    )
    (ax,) = fig.axes
    levels = study_results.levels
    for condition in conditions_in(table):
        (bars,) = [c for c in ax.containers if c.get_label().startswith("right, ")
                   and c.get_label().endswith(CONDITION_LABELS[condition])]  # fmt: skip
        expected = counted.loc[condition].reindex(levels)[CORRECT]
        np.testing.assert_allclose([bar.get_height() for bar in bars], expected)
    gaps = [text.get_text() for text in ax.texts if text.get_text().startswith("gap ")]
    comparison = study_results.comparison.set_index("n_strokes").loc[levels]
    assert [gap.splitlines()[0] for gap in gaps] == [
        f"gap {100 * difference:.1f} pts" for difference in comparison["difference"]
    ]
    diamonds = [c for c in ax.collections if c.get_label() == "paper's accuracy"]
    drawn_rates = np.concatenate([c.get_offsets()[:, 1] for c in diamonds])
    paper = paper_numbers()["human_category_recognition"]
    expected = [rate for rates in paper.values() for level, rate in rates.items()
                if int(level) in levels]  # fmt: skip
    np.testing.assert_allclose(sorted(drawn_rates), sorted(expected))
    plt.close(fig)


def test_people_clip_and_the_papers_clip_are_drawn_as_in_the_results(study_results):
    table, fig = drawn("human_vs_clip", study_results)
    clip = study_results.clip.accuracy
    pooled_clip = clip[(clip["class"] == ALL_CLASSES) & (clip["kind"] == "sketch")]
    ax = fig.axes[0]
    assert ax.get_title() == "all classes"
    for condition in conditions_in(study_results.pooled):
        points = errorbar_points(ax, f"people, {CONDITION_LABELS[condition]}")
        expected = study_results.pooled[study_results.pooled["condition"] == condition]
        np.testing.assert_allclose(points, expected.sort_values("n_strokes")["accuracy"])
    for (model, pretrained), rows in pooled_clip.groupby(["model", "pretrained"]):
        label = f"CLIP {model}/{pretrained} · sketch"
        points = errorbar_points(ax, label + (" (circular: loss model)" * (model == "RN101")))
        np.testing.assert_allclose(points, rows.sort_values("n_strokes")["top1"])
    (stars,) = [c for c in ax.collections if c.get_label() == "paper: CLIP ViT-B/32 top-1"]
    reference = table[table["who"] == PAPER_CLIP]
    np.testing.assert_allclose(stars.get_offsets()[:, 1], reference["accuracy"])
    np.testing.assert_allclose(
        reference["accuracy"], list(paper_numbers()["clip_vit_b32_zero_shot"]["top1"].values())
    )
    plt.close(fig)


def test_answer_times_are_the_median_of_each_participants_median(study_results):
    table, fig = drawn("reaction_times", study_results)
    trials = study_results.excluded.trials
    tests = trials[trials["trial_type"] == TEST]
    per_person = tests.groupby(["condition", "n_strokes", "participant_id"], observed=True)
    expected = per_person["rt_ms"].median().groupby(level=[0, 1], observed=True).median()
    by_cell = table.set_index(["condition", "n_strokes"])["median_rt_ms"]
    np.testing.assert_allclose(by_cell.loc[expected.index], expected)
    assert (table["ci_low"] <= table["median_rt_ms"]).all()
    assert (table["median_rt_ms"] <= table["ci_high"]).all()
    (ax,) = fig.axes
    for condition in conditions_in(table):
        points = errorbar_points(ax, CONDITION_LABELS[condition])
        cell = table[table["condition"] == condition].sort_values("n_strokes")
        np.testing.assert_allclose(points, cell["median_rt_ms"] / 1000)
    assert ax.get_ylabel() == "median answer time (s)"
    plt.close(fig)


def test_calibration_lines_are_accuracy_at_each_rating(study_results):
    table, fig = drawn("calibration", study_results)
    confidence = study_results.confidence
    assert set(confidence["condition"]) == {"without_none", "with_none", "naming"}
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["without none", "with none", "naming"]
    for ax in fig.axes:
        condition = ax.get_title().replace(" ", "_")
        cells = confidence[confidence["condition"] == condition]
        for level, rows in cells.groupby("n_strokes"):
            label = "all levels" if level == "all" else f"{level} strokes"
            (line,) = [line for line in ax.lines if line.get_label() == label]
            rows = rows.sort_values("confidence")
            np.testing.assert_allclose(line.get_xdata(), rows["confidence"])
            np.testing.assert_allclose(line.get_ydata(), rows["accuracy"])
        (even,) = [line for line in ax.lines if line.get_label() == "evenly spaced scale"]
        chance = 1 / study_results.n_options.get(condition, np.inf)
        assert even.get_ydata()[0] == pytest.approx(chance) and even.get_ydata()[-1] == 1
    plt.close(fig)


def test_naming_lines_are_naming_and_forced_choice_accuracy(study_results):
    table, fig = drawn("naming", study_results)
    trials = study_results.excluded.trials
    typed = trials[(trials["trial_type"] == "naming") & (trials["response"] != "timeout")]
    (ax,) = fig.axes
    points = errorbar_points(ax, "free naming")
    np.testing.assert_allclose(points, typed.groupby("n_strokes")["correct"].mean())
    for condition in conditions_in(study_results.pooled):
        expected = table[table["condition"] == condition].sort_values("n_strokes")
        np.testing.assert_allclose(
            errorbar_points(ax, CONDITION_LABELS[condition]), expected["accuracy"]
        )
    plt.close(fig)
