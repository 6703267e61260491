"""The report's parts of the trial types with analyses of their own: confidence ratings
(accuracy by confidence, calibration, type-2 sensitivity) and free naming beside forced choice,
from a study simulated through the app's own flow and exported as a lab would."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.naming_accuracy import accuracy_beside_forced_choice, match_counts
from analysis.responses import read_responses
from study.synthetic import write_synthetic_study


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """120 simulated participants of a study with confidence ratings and a naming condition,
    exported (responses, participants table, coding sheet)."""
    import sys

    from sketchlab.cli import main

    folder = tmp_path_factory.mktemp("rated-named")
    path = write_synthetic_study(folder, confidence_scale=5, naming=True, images_per_class=4)
    for args in (
        ["study", "simulate", str(path), "-n", "120", "--seed", "4"],
        ["study", "export", str(path), "--out", str(folder / "responses.csv")],
    ):
        sys.argv = ["sketchlab", *args]
        with pytest.raises(SystemExit) as exited:
            main()
        assert not exited.value.code
    return folder, path


def test_naming_accuracy_per_level_beside_forced_choice(exported):
    folder, _ = exported
    responses = read_responses(folder / "responses.csv")
    table = accuracy_beside_forced_choice(responses)
    assert list(dict.fromkeys(table["condition"])) == ["naming", "without_none", "with_none"]
    named = responses[(responses["trial_type"] == "naming") & (responses["response"] != "timeout")]
    by_level = named.groupby("n_strokes")["correct"].mean()
    mine = table[table["condition"] == "naming"].set_index("n_strokes")
    assert mine["accuracy"].to_numpy() == pytest.approx(by_level.to_numpy())
    assert (mine["ci_low"] <= mine["accuracy"]).all() and (
        mine["accuracy"] <= mine["ci_high"]
    ).all()
    assert mine["unmatched"].sum() == (named["naming_match"] == "unmatched").sum() > 0
    counts = match_counts(responses)
    assert sum(counts.values()) == len(named) and counts["exact"] > counts["fuzzy"]


def test_the_report_explains_confidence_and_naming(exported, run_sketchlab, r_lme4):
    folder, path = exported
    report = folder / "report"
    code, _, err = run_sketchlab(
        "analyze", folder / "responses.csv", "--out", report, "--study", path,
        "--n-boot", "50", "--allow-exclusions",
    )  # fmt: skip
    assert code == 0, err
    page = (report / "index.html").read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    for words in (
        "Confidence ratings",
        "Accuracy by confidence",
        "Type-2 sensitivity",
        "metacognition: how well a person's confidence tells their right answers from their "
        "wrong ones",
        "0.5 means their confidence says nothing about whether they were right",
        "Calibration",
        "Free naming beside forced choice",
        "typed answers matched no class and are not coded yet",
    ):
        assert words in " ".join(text.split()), words
    assert "figures/calibration.png" in page and "figures/naming.png" in page
    type2 = pd.read_csv(report / "type2_auroc.csv")
    overall = type2[type2["n_strokes"] == "all"].set_index("condition")
    assert set(overall.index) == {"with_none", "without_none", "naming"}
    assert (overall["auroc"] > 0.6).all(), "simulated ratings track accuracy"
    assert (overall["ci_low"] < overall["auroc"]).all()
    confidence = pd.read_csv(report / "confidence.csv")
    pooled = confidence[confidence["n_strokes"] == "all"]
    for _, rows in pooled.groupby("condition"):
        assert rows.sort_values("confidence")["accuracy"].iloc[-1] > rows["accuracy"].iloc[0]
    naming = pd.read_csv(report / "naming.csv")
    assert set(naming["condition"]) == {"naming", "with_none", "without_none"}


def test_a_naming_only_study_gets_its_naming_analysis_and_figure(tmp_path, run_sketchlab):
    """No forced-choice condition at all: the report says so (not "nothing to analyse") and
    still shows naming accuracy and its figure."""
    path = write_synthetic_study(tmp_path, conditions=(), naming=True, images_per_class=3)
    for args in (
        ("study", "simulate", path, "-n", "24", "--seed", "2"),
        ("study", "export", path, "--out", tmp_path / "responses.csv"),
        ("analyze", tmp_path / "responses.csv", "--out", tmp_path / "report", "--study", path,
         "--n-boot", "20", "--allow-exclusions"),
    ):  # fmt: skip
        code, _, err = run_sketchlab(*args)
        assert code == 0, err
    page = (tmp_path / "report" / "index.html").read_text()
    assert "nothing to analyse yet" not in page
    assert "No forced-choice test trials remain" in page
    assert "Free naming beside forced choice" in page and "<img alt='naming'" in page
    assert (tmp_path / "report" / "figures" / "naming.png").is_file()
    naming = pd.read_csv(tmp_path / "report" / "naming.csv")
    assert set(naming["condition"]) == {"naming"}
