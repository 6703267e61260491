"""Human vs CLIP: reading scores tables, CLIP accuracy per level, and the comparison figure."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from statsmodels.stats.proportion import proportion_confint

from analysis.accuracy import ACCURACY_COLUMNS, ALL_CLASSES
from analysis.human_vs_clip import clip_accuracy_by_level, human_vs_clip_table, read_scores
from analysis.plots.human_vs_clip import plot_human_vs_clip
from analysis.plots.style import save_figure
from sketchlab.errors import BadInput
from sketchlab.reference import paper_numbers


def scores_table() -> pd.DataFrame:
    """Two classes x two levels, two sketches per cell, one model and prompt set."""
    return pd.DataFrame(
        {
            "stimulus_id": [f"s{i}" for i in range(8)],
            "class": ["cat"] * 4 + ["dog"] * 4,
            "n_strokes": [4, 4, 32, 32] * 2,
            "model": "ViT-B-32",
            "pretrained": "laion2b_s34b_b79k",
            "prompt_set": "sketch",
            "circular": 0,
            "pred_top1": ["dog", "cat", "cat", "cat", "dog", "cat", "dog", "dog"],
            "correct_top1": [0, 1, 1, 1, 1, 0, 1, 1],
            "correct_top3": np.nan,
            "is_none_threshold": [1, 0, 0, 0, 1, 1, 0, 0],
            "is_none_distractor": [0, 0, 0, 0, 1, 0, 0, 0],
        }
    )


@pytest.fixture
def scores_csv(tmp_path):
    path = tmp_path / "scores.csv"
    scores_table().to_csv(path, index=False)
    return path


def test_read_scores_keeps_only_the_sketches_people_saw(scores_csv):
    scores = read_scores(scores_csv, stimuli_ids=["s0", "s1", "s7", "s99"])
    assert scores["stimulus_id"].tolist() == ["s0", "s1", "s7"]
    assert scores.attrs["unscored_stimuli"] == ["s99"]
    assert len(read_scores(scores_csv)) == 8


def test_read_scores_reads_parquet(tmp_path):
    path = tmp_path / "scores.parquet"
    scores_table().to_parquet(path)
    assert len(read_scores(path)) == 8


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.drop(columns="correct_top1"), "has no column 'correct_top1'"),
        (lambda t: t.drop(columns="stimulus_id"), "has no column 'stimulus_id'"),
        (lambda t: t.assign(n_strokes=["x"] + [4] * 7), "row 2: column 'n_strokes' is 'x'"),
        (lambda t: t.assign(correct_top1=[2] + [1] * 7), "row 2: column 'correct_top1'"),
        (lambda t: t.iloc[:0], "has a header but no rows"),
    ],
)
def test_bad_scores_tables_name_file_and_column(tmp_path, edit, message):
    path = tmp_path / "scores.csv"
    edit(scores_table()).to_csv(path, index=False)
    with pytest.raises(BadInput, match=message) as error:
        read_scores(path)
    assert str(path) in str(error.value)


def test_scores_that_do_not_join_to_the_responses_are_bad_input(scores_csv):
    with pytest.raises(
        BadInput, match="does not join to the stimuli.*column 'stimulus_id'"
    ) as error:
        read_scores(scores_csv, stimuli_ids=["other-1", "other-2"])
    assert str(scores_csv) in str(error.value)


def test_empty_or_missing_scores_file_is_bad_input(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BadInput, match="empty.csv is empty"):
        read_scores(empty)
    with pytest.raises(BadInput, match="no such scores file"):
        read_scores(tmp_path / "absent.csv")


def test_clip_accuracy_by_level_matches_hand_counts_and_wilson():
    table = clip_accuracy_by_level(scores_table()).set_index(["class", "n_strokes"])
    assert table.loc[("cat", 4), "n_correct"] == 1 and table.loc[("cat", 4), "n_sketches"] == 2
    assert table.loc[("dog", 32), "top1"] == 1.0
    assert table.loc[("all", 4), "n_correct"] == 2 and table.loc[("all", 4), "n_sketches"] == 4
    low, high = proportion_confint(2, 4, method="wilson")
    assert table.loc[("all", 4), "ci_low"] == pytest.approx(low)
    assert table.loc[("all", 4), "ci_high"] == pytest.approx(high)
    assert table.loc[("all", 4), "none_rate_threshold"] == pytest.approx(3 / 4)
    assert table.loc[("cat", 4), "none_rate_distractor"] == pytest.approx(0.0)
    # level 4: cat recall 1/2 (s1), dog recall 1/2 (s4) -> 0.5; per-class rows carry no recall
    assert table.loc[("all", 4), "mean_per_class_recall"] == pytest.approx(0.5)
    assert np.isnan(table.loc[("cat", 4), "mean_per_class_recall"])


def human_accuracy(classes=("cat", "dog")) -> pd.DataFrame:
    """Accuracy rows per class and pooled (class "all"), as the report passes them."""
    rows = []
    for condition, base in (("with_none", 0.3), ("without_none", 0.7)):
        for level, bonus in ((4, 0.0), (8, 0.1), (16, 0.2), (32, 0.25)):
            n, k = 40, int(40 * (base + bonus))
            low, high = proportion_confint(k, n, method="wilson")
            for name in classes:
                rows.append((condition, name, level, n, k, k / n, low, high))
            low, high = proportion_confint(k * len(classes), n * len(classes), method="wilson")
            rows.append(
                (
                    condition,
                    ALL_CLASSES,
                    level,
                    n * len(classes),
                    k * len(classes),
                    k / n,
                    low,
                    high,
                )
            )
    return pd.DataFrame(rows, columns=ACCURACY_COLUMNS)


def draw(human: pd.DataFrame, clip: pd.DataFrame, out_stem) -> list:
    """The report's human-vs-CLIP figure of these tables, written as PNG and SVG."""
    paper_top1 = paper_numbers()["clip_vit_b32_zero_shot"]["top1"]
    figure = plot_human_vs_clip(human_vs_clip_table(human, clip, paper_top1))
    return save_figure(figure, out_stem)


def test_plot_human_vs_clip_writes_png_and_svg(tmp_path):
    clip = clip_accuracy_by_level(scores_table())
    paths = draw(human_accuracy(), clip, tmp_path / "figures" / "human_vs_clip")
    assert [p.name for p in paths] == ["human_vs_clip.png", "human_vs_clip.svg"]
    with Image.open(paths[0]) as image:
        assert image.width > 800 and image.height > 300
    svg = paths[1].read_text()
    for label in (
        "paper: CLIP ViT-B/32 top-1",
        "people, with",
        "(forced choice)",
        "CLIP ViT-B-32/laion2b_s34b_b79k · sketch",
        "all classes",
        "cat",
        "dog",
    ):
        assert label in svg
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "human_vs_clip.png",
        "human_vs_clip.svg",
    ]


def test_class_names_with_dollars_are_drawn_as_written(tmp_path):
    """A `$` pair would switch matplotlib to mathtext: `$5 or $6` drawn in italics without
    its dollars, and `$\\oops$` failing to parse. Labels come from the data, so they never
    are."""
    classes = ("$5 or $6", "$\\oops$ cat")
    scores = scores_table().replace({"class": {"cat": classes[0], "dog": classes[1]}})
    paths = draw(human_accuracy(classes), clip_accuracy_by_level(scores), tmp_path / "figure")
    svg = paths[1].read_text()
    assert "$5 or $6" in svg and "$\\oops$ cat" in svg
