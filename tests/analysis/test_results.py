"""`compute_results`: every table of the report, written as its CSV, and the figures drawn
from them (the figures' own checks: test_plots.py)."""

import pandas as pd

from analysis.exclusions import ExclusionRules, apply_exclusions
from analysis.figures import FIGURES, with_figures
from analysis.report_html import render_page
from analysis.responses import validate_responses
from analysis.results import compute_results
from analysis.sdt_observer import simulate_responses


def folder_of(results):
    return results.figures["accuracy_bars"].parent.parent


def test_every_table_is_written_as_its_csv(study_results):
    folder = folder_of(study_results)
    wilson = [c for c in study_results.per_class.columns if not c.startswith("boot_")]
    written = {
        "accuracy.csv": study_results.per_class[wilson],
        "accuracy_by_level.csv": study_results.pooled[wilson],
        "accuracy_bootstrap.csv": pd.concat([study_results.per_class, study_results.pooled])[
            ["condition", "class", "n_strokes", "boot_low", "boot_high"]
        ],
        "comparison.csv": study_results.comparison,
        "answer_composition.csv": study_results.composition,
        "confusion.csv": study_results.confusion,
        "reaction_times.csv": study_results.reaction_times,
        "clip_accuracy.csv": study_results.clip.accuracy,
    }
    for name, table in written.items():
        on_disk = pd.read_csv(folder / name)
        assert list(on_disk.columns) == list(table.columns), name
        assert len(on_disk) == len(table) > 0, name


def test_answer_times_reach_the_analysis(study_results):
    """rt_ms used to be dropped from the columns the analysis keeps."""
    times = study_results.reaction_times
    assert times["n_answers"].sum() == study_results.n_test_trials
    assert set(zip(times["condition"], times["n_strokes"], strict=True)) == {
        (condition, level) for condition in study_results.conditions
        for level in study_results.levels
    }  # fmt: skip
    assert times["median_rt_ms"].between(500, 5000).all()
    assert "reaction_times" in study_results.figures


def test_without_answer_times_scores_ratings_or_names_those_figures_are_left_out(tmp_path):
    trials = simulate_responses(400, 16, attention_per_participant=0, seed=3)
    responses = validate_responses(trials.drop(columns="rt_ms"))
    rules = ExclusionRules()
    results = with_figures(
        compute_results(
            responses,
            apply_exclusions(responses, rules),
            tmp_path,
            rules=rules,
            responses_path=tmp_path / "responses.csv",
            n_boot=20,
            model_exact_max_trials=0,
        ),
        tmp_path,
    )
    assert results.reaction_times.empty and not (tmp_path / "reaction_times.csv").exists()
    left_out = {"reaction_times", "human_vs_clip", "calibration", "naming"}
    assert set(results.figures) == set(FIGURES) - left_out
    assert results.confidence.empty and results.naming.empty
    assert not (tmp_path / "confidence.csv").exists() and not (tmp_path / "naming.csv").exists()
    assert sorted(p.stem for p in (tmp_path / "figures").glob("*.png")) == sorted(results.figures)
    page = render_page(results)
    assert "The responses have no answer times (<code>rt_ms</code>)." in page
    assert "<img alt='reaction_times'" not in page and "Human vs CLIP" not in page
    assert "Confidence ratings" not in page and "Free naming" not in page
