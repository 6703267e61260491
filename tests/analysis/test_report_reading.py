"""What a reader of the report sees: honest intervals and labels, caveats that travel with the
figures, and tables that fit the page."""

import re

import numpy as np
import pandas as pd
import pytest

from analysis.compare import compare_none, describe_gap
from analysis.report import ReportOptions, build_report
from analysis.responses import options_per_condition
from analysis.sdt_observer import simulate_responses

FAST = {"n_boot": 200}


def _stronger_with_none(seed: int = 0) -> pd.DataFrame:
    """The with-"none" group recognises *better* (d' 2.0 vs 1.2) but is very cautious: its
    d' predicts more forced-choice accuracy than the forced-choice group has, so the
    caution share comes out far above 100% (a misfit of the equal-caution reading)."""
    common = dict(levels=(4,), participant_sd=0.0, image_sd=0.0, attention_per_participant=0)
    without = simulate_responses(
        6_000, 600, conditions=("without_none",), dprimes={4: 1.2}, criterion=0.0,
        seed=seed, **common,
    )  # fmt: skip
    with_none = simulate_responses(
        6_000, 600, conditions=("with_none",), dprimes={4: 2.0}, criterion=2.6,
        id_prefix="sim-w-", seed=seed + 1, **common,
    )  # fmt: skip
    return pd.concat([without, with_none], ignore_index=True)


@pytest.fixture(scope="module")
def misfit_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("misfit")
    _stronger_with_none().to_csv(folder / "responses.csv", index=False)
    build_report(folder / "responses.csv", folder / "report", ReportOptions(**FAST))
    return folder / "report"


def test_a_caution_share_outside_0_to_100_is_shown_as_misfit_never_clipped(misfit_report):
    comparison = pd.read_csv(misfit_report / "comparison.csv").iloc[0]
    share = comparison["caution_share"]
    assert share > 1.3 and comparison["caution_boot_low"] > 1  # far outside, interval too
    shown = f"{share:.0%}"
    svg = (misfit_report / "figures" / "none_contrast.svg").read_text()
    assert f"caution {shown}" in svg and "leaves 0-100%: misfit" in svg
    page = (misfit_report / "index.html").read_text()
    assert f"{shown} [" in page and "misfit" in page
    assert "100% caution" not in svg and "~100%" not in page


def test_a_caution_share_whose_interval_leaves_0_to_100_is_a_misfit_not_a_measurement():
    """84% of the gap, but 95% CI 39% to 314%: the model cannot produce 314%, so this is
    reported as a misfit, as an estimate of 314% would be (issue: it read as a measurement)."""
    row = pd.Series(
        {"n_strokes": 4, "accuracy_without": 0.76, "accuracy_with": 0.36, "difference": 0.40,
         "gap_low": 0.30, "gap_high": 0.50, "diff_low": 0.35, "diff_high": 0.45,
         "none_rate_with": 0.5, "committed_accuracy_with": 0.72, "caution_share": 0.84,
         "caution_boot_low": 0.39, "caution_boot_high": 3.14, "dprime_with": 1.1,
         "dprime_without": 1.3, "forced_choice_predicted_with": 0.70, "criterion_with": 1.5,
         "n_foils": 0, "fit_df": 0}
    )  # fmt: skip
    text = describe_gap(row)
    assert "84%" in text and "314%" in text and "misfit" in text
    assert "its interval reaches outside 0-100%" in text and "not split" in text
    assert "so about 84% of the gap" not in text
    from analysis.report_html import _caution

    assert _caution(0.84, 0.39, 3.14).endswith("leaves 0-100%, misfit")
    assert _caution(0.84, 0.39, 0.97) == "84% [39%, 97%]"
    inside = describe_gap(row.copy().replace({3.14: 0.97}))
    assert "so about 84% of the gap (95% CI 39% to 97%) is caution" in inside


def test_describe_gap_never_claims_no_gap_from_an_interval_with_zero():
    trials = simulate_responses(
        2_000, 100, dprimes={4: 1.5, 8: 1.5}, criterion=-20.0, levels=(4, 8),
        attention_per_participant=0, seed=3,
    )  # fmt: skip
    comparison = compare_none(trials, options_per_condition(trials), n_boot=200)
    for _, row in comparison.iterrows():
        assert row["gap_low"] <= 0 <= row["gap_high"]  # same recognition, no caution
        text = describe_gap(row)
        assert "cannot tell" in text and "no gap" not in text.lower()


def test_headline_interval_counts_the_images_and_newcombe_says_trial_level():
    """Images that differ a lot (SD 1.2 on d') and identical participants: resampling images
    must widen the gap's interval well beyond the trial-level Newcombe interval."""
    trials = simulate_responses(
        6_000, 300, participant_sd=0.0, image_sd=1.2, attention_per_participant=0, seed=8
    )
    row = compare_none(trials, options_per_condition(trials), n_boot=400).iloc[0]
    two_way = row["gap_high"] - row["gap_low"]
    assert two_way > 1.5 * (row["diff_high"] - row["diff_low"])
    assert row["boot_images"] == 20 and row["gap_df"] == 19  # 20 images: t on 19 df
    text = describe_gap(row)
    low, high = 100 * row["gap_low"], 100 * row["gap_high"]
    assert f"95% CI {low:.1f} to {high:.1f}, allowing for participants and images" in text
    assert "trial-level Newcombe interval, which treats every answer as independent" in text
    # A bound just above zero is shown as such, never rounded to a "0" that reads as no gap.
    just_above_zero = row.copy()
    just_above_zero["gap_low"] = 0.004
    text = describe_gap(just_above_zero)
    assert "95% CI 0.4 to" in text and "cannot tell" not in text


@pytest.fixture(scope="module")
def three_class_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("three")
    trials = simulate_responses(
        1_800, 90, classes=("owl", "yak", "emu"), foils_per_participant=2, seed=11
    )
    trials.to_csv(folder / "responses.csv", index=False)
    build_report(folder / "responses.csv", folder / "report", ReportOptions(**FAST))
    build_report(folder / "responses.csv", folder / "real", ReportOptions(simulated=False, **FAST))
    return folder


def test_figures_of_simulated_data_carry_a_watermark(three_class_report):
    for report, marked in (("report", True), ("real", False)):
        for svg in (three_class_report / report / "figures").glob("*.svg"):
            assert ("SIMULATED DATA" in svg.read_text()) is marked, svg


def test_the_papers_76_percent_keeps_its_caveat_in_the_figures(three_class_report):
    figures = three_class_report / "report" / "figures"
    for stem in ("accuracy_vs_strokes", "none_contrast"):
        assert "press article, not verified" in (figures / f"{stem}.svg").read_text(), stem


def test_methods_are_built_from_the_data(three_class_report):
    page = (three_class_report / "report" / "index.html").read_text()
    methods = page[page.index("Methods in brief") :]
    assert "3 classes (emu, owl, yak)" in methods
    assert "without none: 3 buttons, chance 1/3 = 33.3%" in methods
    assert "with none: 4 buttons, chance 1/4 = 25.0%" in methods
    assert "1/5" not in methods and "1/6" not in methods


def test_confusion_matrices_are_drawn_at_reading_size(three_class_report):
    from PIL import Image

    with Image.open(three_class_report / "report" / "figures" / "confusion.png") as image:
        width = image.width
    svg = (three_class_report / "report" / "figures" / "confusion.svg").read_text()
    sizes = [float(size) for size in re.findall(r"font-size: (\d+(?:\.\d+)?)px", svg)]
    scale = min(1.0, 1100 / width)  # the page shows figures at most ~1100 px wide
    assert sizes and min(sizes) * scale * 130 / 72 >= 14  # labels >= 14 px on screen


def test_every_table_fits_the_page_without_scrolling(three_class_report, chromium_path):
    from playwright.sync_api import sync_playwright

    page_path = three_class_report / "report" / "index.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_path.as_uri())
            overflow = page.evaluate(
                """() => [...document.querySelectorAll('.wide')]
                     .filter(box => box.scrollWidth > box.clientWidth + 1)
                     .map(box => box.querySelector('tr').innerText)"""
            )
            headers = page.evaluate(
                "() => [...document.querySelectorAll('th')].map(th => th.innerText)"
            )
        finally:
            browser.close()
    assert overflow == []
    assert "hit / false-alarm rate" in headers  # the foil columns are there, and visible


def test_model_contrast_per_level_sits_next_to_the_other_intervals(three_class_report, r_lme4):
    comparison = pd.read_csv(three_class_report / "report" / "comparison.csv")
    assert {"model_odds_ratio", "model_or_low", "model_or_high", "model_p_holm"} <= set(
        comparison.columns
    )
    fitted = comparison.dropna(subset=["model_odds_ratio"])
    assert len(fitted) >= 2
    assert (fitted["model_or_low"] <= fitted["model_odds_ratio"]).all()
    assert np.isfinite(comparison["welch_p_holm"]).all()
