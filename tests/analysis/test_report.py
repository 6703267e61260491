"""The report folder: tables, figures, a self-contained index.html, odd studies."""

import re

import pandas as pd
import pytest

from analysis.accuracy import ACCURACY_COLUMNS
from analysis.exclusions import ExclusionRules
from analysis.figures import FIGURES
from analysis.report import ReportOptions, build_report
from analysis.sdt_observer import simulate_responses
from tests.analysis.clip_scores import clip_scores_for
from tests.analysis.rated_named import named, with_ratings

FAST = {"n_boot": 200}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    trials = simulate_responses(3_000, 120, foils_per_participant=2, seed=5)
    trials = with_ratings(pd.concat([trials, named(24, seed=6)], ignore_index=True), seed=7)
    trials.to_csv(folder / "responses.csv", index=False)
    clip_scores_for(trials).to_csv(folder / "scores.csv", index=False)
    out = folder / "report"
    build_report(
        folder / "responses.csv", out, ReportOptions(scores_path=folder / "scores.csv", **FAST)
    )
    return out


def test_report_has_tables_and_figures(report):
    accuracy = pd.read_csv(report / "accuracy.csv")
    assert list(accuracy.columns) == ACCURACY_COLUMNS
    assert len(accuracy) == 2 * 5 * 4
    by_level = pd.read_csv(report / "accuracy_by_level.csv")
    assert list(by_level.columns) == ACCURACY_COLUMNS and set(by_level["class"]) == {"all"}
    assert by_level["n_trials"].sum() == accuracy["n_trials"].sum()
    assert set(pd.read_csv(report / "exclusions.csv")["rule"]) >= {
        "failed attention checks",
        "too fast (participant)",
    }
    comparison = pd.read_csv(report / "comparison.csv")
    assert list(comparison["n_strokes"]) == [4, 8, 16, 32] and comparison["n_foils"].gt(0).all()
    written = {path.name for path in (report / "figures").iterdir()}
    assert written == {f"{name}{suffix}" for name in FIGURES for suffix in (".png", ".svg")}


def test_index_html_is_self_contained(report):
    page = (report / "index.html").read_text()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert references and all(ref.startswith("data:image/png;base64,") for ref in references)
    assert "<link" not in page and "@import" not in page
    shown = re.findall(r"<img alt='([^']*)'", page)
    assert shown == [name for name in _page_order() if name in shown] and set(shown) == set(FIGURES)


def test_methods_in_brief_state_every_exclusion_setting(report, tmp_path):
    methods = (report / "index.html").read_text().split("<h2>Methods in brief</h2>")[1]
    assert "interrupted by a reload or an outage dropped" in methods
    kept = tmp_path / "kept"
    build_report(
        report.parent / "responses.csv",
        kept,
        ReportOptions(rules=ExclusionRules(interrupted=False), **FAST),
    )
    assert "interrupted by a reload or an outage kept" in (kept / "index.html").read_text()


def _page_order() -> list[str]:
    """Figure names in the order the page shows them: by section, then by registry order."""
    from analysis.report_html import SECTIONS

    sections = list(SECTIONS)
    return sorted(FIGURES, key=lambda name: sections.index(FIGURES[name].section))


def test_clip_on_the_photos_is_shown_as_the_ceiling(report):
    clip = pd.read_csv(report / "clip_accuracy.csv")
    photos = clip[(clip["kind"] == "photo") & (clip["class"] == "all")]
    assert sorted(photos["model"]) == ["RN101", "ViT-B-32"] and (photos["n_strokes"] == 0).all()
    sketches = clip[(clip["kind"] == "sketch") & (clip["class"] == "all")]
    assert sorted(set(sketches["n_strokes"])) == [4, 8, 16, 32]
    responses = pd.read_csv(report.parent / "responses.csv")
    seen = responses.loc[responses["trial_type"] == "test", "image_id"].nunique()
    assert set(photos["n_sketches"]) == {seen}  # the photo of an image nobody saw is left out
    page = (report / "index.html").read_text()
    assert "The ceiling: CLIP on the photos" in page
    assert "ViT-B-32/laion2b_s34b_b79k · sketch: " in page
    svg = (report / "figures" / "human_vs_clip.svg").read_text()
    assert "on the photos (ceiling)" in svg and ">photo<" in svg


def test_index_html_says_what_is_simulated_and_flags_circular_scores(report, r_lme4):
    page = (report / "index.html").read_text()
    assert "Simulated responses" in page
    assert "Circular score" in page and "RN101" in page
    assert "Mixed-effects logistic model" in page and "Not fitted" not in page
    assert (report / "mixed_model.csv").is_file()
    n_tests = pd.read_csv(report / "accuracy.csv")["n_trials"].sum()
    assert f"Fitted on all {n_tests:,} included test trials (no subsample)" in page
    for stated in ("Laplace", "Wald 95%", "no priors", "at 4 strokes only"):
        assert stated in page, stated
    assert "36.0%" in page and "76.0%" in page  # the paper's numbers as references
    assert "caution" in page


def test_one_condition_study_in_progress(tmp_path):
    trials = simulate_responses(
        900,
        60,
        conditions=("with_none",),
        classes=("cat", "cow", "dog"),
        levels=(4, 8, 16),
        attention_per_participant=0,
        seed=6,
    )
    last_five = trials["participant_id"].isin(trials["participant_id"].unique()[-5:])
    unfinished = last_five & (trials["trial_index"] > 8)
    trials = trials[~unfinished]
    trials.to_csv(tmp_path / "responses.csv", index=False)
    options = ReportOptions(simulated=False, allow_exclusions=True, **FAST)
    warned = []
    build_report(tmp_path / "responses.csv", tmp_path / "report", options, warn=warned.append)
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Only one condition" in page and "Simulated responses" not in page
    removed = ("7 of 60 participants (12%, more than 10%; sessions by rule: incomplete "
               "session: 5, too fast (participant): 2)")  # fmt: skip
    assert warned == [f"the exclusions removed {removed}"]
    assert f"allowed with --allow-exclusions.</b> The exclusions removed {removed}" in page
    exclusions = pd.read_csv(tmp_path / "report" / "exclusions.csv").set_index("rule")
    assert exclusions.loc["incomplete session", "sessions_excluded"] == 5
    assert set(pd.read_csv(tmp_path / "report" / "accuracy.csv")["condition"]) == {"with_none"}
    assert not (tmp_path / "report" / "comparison.csv").exists()


def test_study_with_nobody_finished_yet(tmp_path):
    trials = simulate_responses(200, 10, attention_per_participant=0)
    status = pd.DataFrame(
        {"participant_id": trials["participant_id"].unique(), "status": "in_progress"}
    )
    trials.to_csv(tmp_path / "responses.csv", index=False)
    status.to_csv(tmp_path / "responses.participants.csv", index=False)
    options = ReportOptions(allow_exclusions=True, **FAST)
    build_report(tmp_path / "responses.csv", tmp_path / "report", options)
    page = (tmp_path / "report" / "index.html").read_text()
    assert "No test trials remain" in page and "The exclusions removed 10 of 10" in page
    assert pd.read_csv(tmp_path / "report" / "accuracy.csv").empty


def test_class_names_are_escaped_in_the_page_and_drawn_as_written(tmp_path):
    classes = ("salt & pepper", "$5 or $6", "$\\oops$", "cat")
    trials = simulate_responses(480, 24, classes=classes, attention_per_participant=0, seed=2)
    trials.to_csv(tmp_path / "responses.csv", index=False)
    build_report(tmp_path / "responses.csv", tmp_path / "report", ReportOptions(**FAST))
    page = (tmp_path / "report" / "index.html").read_text()
    assert "salt &amp; pepper" in page and "salt & pepper" not in page
    assert "$5 or $6" in page
    for figure in ("accuracy_vs_strokes", "accuracy_bars", "confusion"):
        svg = (tmp_path / "report" / "figures" / f"{figure}.svg").read_text()
        assert "salt &amp; pepper" in svg and "$5 or $6" in svg and "$\\oops$" in svg, figure


def test_large_studies_get_the_labelled_approximation(tmp_path):
    trials = simulate_responses(1_200, 60, attention_per_participant=0, seed=9)
    trials.to_csv(tmp_path / "responses.csv", index=False)
    options = ReportOptions(model_exact_max_trials=500, **FAST)
    build_report(tmp_path / "responses.csv", tmp_path / "report", options)
    page = (tmp_path / "report" / "index.html").read_text()
    assert "population-averaged logistic regression (a fast approximation, used above 500" in page
    assert "No random-effect estimates" in page
    meaning = pd.read_csv(tmp_path / "report" / "mixed_model.csv")["meaning"]
    assert meaning.str.endswith("population-averaged").all()
