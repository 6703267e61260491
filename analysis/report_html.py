"""index.html from the computed results: one self-contained page, one function per section.

Everything here formats; nothing computes (the numbers come from `analysis.results`). Each
section is a function of `ReportResults` returning HTML ('' when it has nothing to show),
listed by name in `SECTIONS` in page order; a section shows its figures with
`_figures(results, NAME)`, which reads the figure registry (`analysis.figures.FIGURES`: every
figure names its section), so a new figure needs nothing here. Every value that comes from
the data (class names, paths, model names) is HTML-escaped; pandas' `to_html` escapes table
cells. What each section means is explained in docs/analysis.md.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from analysis.accuracy import ALL_CLASSES
from analysis.caution import caution_outside
from analysis.compare import describe_gap
from analysis.exclusions import RULES
from analysis.figures import FIGURES
from analysis.gap_interval import METHOD as GAP_METHOD
from analysis.html_parts import figures_named, html_table, pct_ci, right_of_all
from analysis.results import ReportResults
from analysis.trial_type_reports import render_type_reports
from sketchlab.contracts import PHOTO, SIMULATED_PREFIX

TITLE = "Sketch recognition report"


def render_page(results: ReportResults) -> str:
    """The whole page: header, data summary, then every section (or why there is none)."""
    parts = [_header(results), _simulated_note(results), _data_and_exclusions(results)]
    if not results.has_tests:
        parts += [_no_tests_note(results), _trial_types(results), _paper(results)]
    else:
        unknown = sorted({figure.section for figure in FIGURES.values()} - set(SECTIONS))
        if unknown:
            raise ValueError(f"figures name sections the page does not have: {unknown}")
        parts += [section(results) for section in SECTIONS.values()]
    return _page(parts)


def _header(results: ReportResults) -> str:
    sources = f"Data: <code>{html.escape(str(results.responses_path))}</code>"
    if results.participants_path:
        sources += (
            f" · participants table: <code>{html.escape(str(results.participants_path))}</code>"
        )
    return (
        f"<h1>{TITLE}</h1>{_exclusion_summary(results)}"
        f"<p class='meta'>{sources} · built {results.built}</p>"
    )


def _exclusion_summary(results: ReportResults) -> str:
    """The first paragraph: who is analysed, and every exclusion with its count; then, in a
    warning box, each large loss that --allow-exclusions let through."""
    excluded = results.excluded
    applied = set(excluded.table["rule"])

    def counted(unit: str, column: str) -> str:
        parts = []
        for rule in (r for r in RULES if r.unit == unit):
            if rule.name not in applied:
                parts.append(f"{rule.name} off")
                continue
            row = excluded.table[excluded.table["rule"] == rule.name].iloc[0]
            value = row[column]
            parts.append(
                f"{rule.name} {html.escape(row['setting'])}"
                if pd.isna(value)
                else f"{rule.name} {int(value):,}"
            )
        return "; ".join(parts)

    judged = (
        f" (a complete session has {excluded.complete_length})" if excluded.complete_length else ""
    )
    text = (
        f"<p class='summary'>Analysed: {excluded.participants_included:,} of "
        f"{excluded.participants_total:,} participants ({excluded.sessions_included:,} of "
        f"{excluded.sessions_total:,} sessions), {results.n_test_trials:,} test answers. "
        f"Sessions excluded{judged}: {counted('session', 'sessions_excluded')}. Test answers "
        f"dropped: {counted('answer', 'test_trials_excluded')}.</p>"
    )
    if results.alarms:
        text += (
            "<div class='warn'><b>Large exclusions, allowed with --allow-exclusions.</b> The "
            "exclusions removed "
            + html.escape("; ".join(results.alarms))
            + ". Read every result below with that in mind (exclusions.csv).</div>"
        )
    return text


def _simulated_note(results: ReportResults) -> str:
    flag, n_sim, n_ids = results.simulated, results.simulated_ids, results.participant_ids
    if not results.is_simulated:
        return ""
    marker = f"start with '{SIMULATED_PREFIX}', the simulator's marker"
    if flag is True and n_sim < n_ids:
        who = "marked simulated with --simulated"
    elif n_sim == n_ids:
        who = f"all {n_ids} participant ids {marker}"
    else:
        who = f"{n_sim} of {n_ids} participant ids {marker}"
    return (
        "<div class='warn'><b>Simulated responses.</b> The participants in this report are "
        f"simulated ({who}): their answers come from a response model, not from people, so "
        "every accuracy, comparison and model below shows what the analysis does, not how "
        "people recognise these sketches. The sketches and any CLIP scores are real "
        "computations. Every figure carries a 'simulated data' watermark.</div>"
    )


def _data_and_exclusions(results: ReportResults) -> str:
    excluded = results.excluded
    options = ", ".join(
        f"{c}: {n} buttons (chance {1 / n:.1%})" for c, n in results.n_options.items()
    )
    classes = html.escape(", ".join(map(str, results.classes))) or "—"
    levels = ", ".join(map(str, results.levels)) or "—"
    return (
        "<h2>Data and exclusions</h2><ul>"
        f"<li>{results.n_rows:,} rows, {excluded.sessions_total:,} sessions; "
        f"{excluded.sessions_included:,} sessions included, contributing "
        f"{results.n_test_trials:,} test trials.</li>"
        f"<li>Conditions: {', '.join(results.conditions)} ({options}).</li>"
        f"<li>Classes: {classes}; stroke levels: {levels}.</li>"
        "</ul><p>Exclusions, applied in this order (each row counts what that rule removed "
        "from what was left; exclusions.csv):</p>" + html_table(excluded.table)
    )


def _no_tests_note(results: ReportResults) -> str:
    if not (results.naming.empty and results.confidence.empty):
        return (
            "<p>No forced-choice test trials remain after the exclusions, so there is no "
            "forced-choice accuracy; the trial types' own analyses follow.</p>"
        )
    return (
        "<div class='warn'>No test trials remain after the exclusions, so there is nothing to "
        "analyse yet (a study still in progress, or every session excluded: see the "
        "exclusions table).</div>"
    )


def _comparison(results: ReportResults) -> str:
    head = '<h2>With vs without "none"</h2>'
    comparison, figures = results.comparison, _figures(results, "comparison")
    if comparison.empty:
        return head + (
            f"<p>Only one condition ({', '.join(results.tested_conditions)}) is in the included "
            "data, so there is no with/without comparison. The figure shows how its answers "
            "split.</p>" + figures
        )
    sentences = "".join(
        f"<li>{html.escape(describe_gap(row))}</li>" for _, row in comparison.iterrows()
    )
    images = int(comparison["boot_images"].iloc[0])
    clusters = (
        f"participants and the {images} images"
        if images > 1
        else "participants (no image column, so images are not allowed for)"
    )
    return (
        head + "<p>Gaps are without minus with, in percentage points. The headline interval "
        f"allows for {clusters}: other people and other sketches would give other numbers. "
        "It is built from the two-way (participant x image) design effect of each "
        "condition's accuracy, a Jeffreys interval at that effective number of answers with "
        "Student's t on (fewer clusters - 1) degrees of freedom, and MOVER for the gap, so it "
        "never leaves 0-100% and stays an interval when every answer was right (docs/"
        "analysis.md gives its tested coverage). The trial-level Newcombe interval treats "
        "every answer as independent (the paper's way of reporting); it is narrower whenever "
        "people or images differ. The mixed model's contrast is the odds ratio with over "
        'without "none" at that level.</p><ul>'
        + sentences
        + "</ul>"
        + figures
        + "<h3>The gap, three ways</h3>"
        + html_table(_gap_table(comparison))
        + "<h3>Tests per level</h3><p>The participant is the unit of Welch's t and "
        "Mann-Whitney (per-participant accuracy); the by-image test is a paired t-test over "
        "the images seen in both conditions. p-values are Holm-adjusted over the levels "
        "(one family per test).</p>"
        + html_table(_tests_table(comparison))
        + "<h3>Caution or recognition?</h3>"
        + _caution_note(comparison)
        + html_table(_caution_table(comparison))
        + _foil_section(comparison)
        + "<p>All columns: comparison.csv.</p>"
    )


def _gap_table(shown: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "strokes": shown["n_strokes"],
            'without "none" (95%)': pct_ci(shown, "accuracy_without", "accuracy_without_low",
                                            "accuracy_without_high"),
            'with "none" (95%)': pct_ci(shown, "accuracy_with", "accuracy_with_low",
                                         "accuracy_with_high"),
            "gap (participants x images 95%)": _points_ci(
                shown, "difference", "gap_low", "gap_high"
            ),
            "gap (trial-level Newcombe 95%)": _points_ci(
                shown, "difference", "diff_low", "diff_high"
            ),
        }
    )  # fmt: skip
    if "model_odds_ratio" in shown:
        table['mixed model: odds ratio with/without "none" (95%)'] = [
            note if isinstance(note, str) and note else f"{v:.2f} [{lo:.2f}, {hi:.2f}]"
            for v, lo, hi, note in zip(
                shown["model_odds_ratio"], shown["model_or_low"], shown["model_or_high"],
                shown["model_note"], strict=True,
            )
        ]  # fmt: skip
    return table


def _tests_table(shown: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "strokes": shown["n_strokes"],
            "participants (w/o, with)": shown["participants_without"].astype(str)
            + ", "
            + shown["participants_with"].astype(str),
            "Welch p (Holm)": _p_pair(shown["welch_p"], shown["welch_p_holm"]),
            "Mann-Whitney p (Holm)": _p_pair(shown["mannwhitney_p"], shown["mannwhitney_p_holm"]),
            "images paired": shown["images_paired"].astype(int),
            "mean gap by image": shown["image_gap_mean"].map(
                lambda v: f"{100 * v:.1f} pts" if np.isfinite(v) else "—"
            ),
            "by-image paired t p (Holm)": _p_pair(shown["image_p"], shown["image_p_holm"]),
        }
    )
    if "model_p_holm" in shown:
        table["mixed model p (Holm)"] = shown["model_p_holm"].map(_p)
    return table


def _caution_note(comparison: pd.DataFrame) -> str:
    fit = comparison[comparison["fit_df"] > 0]
    check = (
        "The fit check compares the answer shares the fitted model predicts (right / wrong / "
        '"none" on real trials, "none" on foils) with the observed ones: X² with its p; a '
        "small p means the model does not describe the answers."
        if not fit.empty
        else "Without foil trials the model reproduces the answer shares by construction "
        "(df = 0), so its fit cannot be checked: the split rests on the equal-variance model."
    )
    return (
        '<p>The caution share is the part of the gap that the with-"none" group\'s own '
        "sensitivity (d') would recover under forced choice: that part is a stricter criterion "
        "for committing, not weaker recognition (equal-variance signal-detection model, "
        "docs/analysis.md). It is shown as estimated, with its participants x images "
        "bootstrap interval, never clipped: an estimate or an interval that leaves 0-100% is "
        "something the model cannot produce, so it is marked as a misfit, not a measurement. "
        f"It is only split where the gap's interval excludes zero. {check} Known rate: right "
        "answers minus the lucky guesses the wrong answers reveal.</p>"
    )


def _caution_table(shown: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "strokes": shown["n_strokes"],
            '"none" rate': shown["none_rate_with"].map("{:.1%}".format),
            "committed accuracy": pct_ci(
                shown, "committed_accuracy_with", "committed_ci_low", "committed_ci_high"
            ),
            "known w/o, with": shown["known_without"].map("{:.1%}".format)
            + ", "
            + shown["known_with"].map("{:.1%}".format),
            "d' w/o, with": shown["dprime_without"].map("{:.2f}".format)
            + ", "
            + shown["dprime_with"].map("{:.2f}".format),
            "criterion k": shown["criterion_with"].map("{:.2f}".format),
            "caution share (95%)": [
                _caution(v, lo, hi)
                for v, lo, hi in zip(
                    shown["caution_share"],
                    shown["caution_boot_low"],
                    shown["caution_boot_high"],
                    strict=True,
                )
            ],
            "fit check": [
                f"X²({int(df)}) = {chi2:.1f}, p {_p_equals(p)}" if df else "saturated (df = 0)"
                for chi2, df, p in zip(
                    shown["fit_chi2"], shown["fit_df"], shown["fit_p"], strict=True
                )
            ],
        }
    )


def _caution(value: float, low: float, high: float) -> str:
    if not np.isfinite(value):
        return "— (gap's interval includes 0)"
    text = f"{value:.0%} [{low:.0%}, {high:.0%}]"
    return f"{text}: leaves 0-100%, misfit" if caution_outside(value, low, high) else text


def _has_foils(comparison: pd.DataFrame) -> bool:
    return "hit_rate" in comparison.columns and comparison["n_foils"].sum() > 0


def _foil_section(comparison: pd.DataFrame) -> str:
    if not _has_foils(comparison):
        return ""
    table = pd.DataFrame(
        {
            "strokes": comparison["n_strokes"],
            "foils": comparison["n_foils"].astype(int),
            "hit / false-alarm rate": [
                f"{h:.1%} / {f:.1%}" if np.isfinite(f) else "—"
                for h, f in zip(comparison["hit_rate"], comparison["false_alarm_rate"], strict=True)
            ],
            "yes/no d', c": [
                f"{d:.2f}, {c:.2f}" if np.isfinite(d) else "—"
                for d, c in zip(
                    comparison["dprime_yes_no"], comparison["criterion_yes_no"], strict=True
                )
            ],
        }
    )
    return (
        "<h3>Foil trials</h3><p>Foils show a class that is not among the buttons, so "
        '"none" is right: hit rate = committing on a real trial, false-alarm rate = '
        "committing on a foil (timed-out foils are neither). The yes/no d' and criterion c "
        "use them (a different scale from the m-alternative d').</p>" + html_table(table)
    )


def _accuracy(results: ReportResults) -> str:
    return (
        "<h2>Accuracy by stroke count</h2>"
        "<p>Thick bars: 95% participant-cluster bootstrap (participants resampled within "
        f"their condition, {results.n_boot} draws); thin capped bars: Wilson 95% (treats "
        "trials as independent, so narrower when participants differ). Open diamonds: the "
        "paper's reported rates.</p>"
        + _figures(results, "accuracy")
        + "<h3>Pooled over classes (accuracy_by_level.csv)</h3>"
        + html_table(_with_boot(results.pooled))
        + "<details><summary>Per class (accuracy.csv)</summary>"
        + html_table(_with_boot(results.per_class))
        + "</details>"
    )


def _confusions(results: ReportResults) -> str:
    return (
        "<h2>Confusions</h2><p>Rows: true class; columns: answer, as a share of that class's "
        "answers.</p>" + _figures(results, "confusions")
    )


def _answer_times(results: ReportResults) -> str:
    head = "<h2>Answer times</h2>"
    times = results.reaction_times
    if times.empty:
        return head + "<p>The responses have no answer times (<code>rt_ms</code>).</p>"
    shown = pd.DataFrame(
        {
            "condition": times["condition"],
            "strokes": times["n_strokes"],
            "participants": times["participants"],
            "answers": times["n_answers"],
            "median answer time (95%)": [
                f"{v / 1000:.2f} s"
                + ("" if np.isnan(lo) else f" [{lo / 1000:.2f}, {hi / 1000:.2f}]")
                for v, lo, hi in zip(
                    times["median_rt_ms"], times["ci_low"], times["ci_high"], strict=True
                )
            ],
        }
    )
    return (
        head + "<p>How long the included test answers took, from the sketch on screen to the "
        "click: each participant's median at a level, then the median over participants, with "
        "a distribution-free 95% interval from the order statistics of those medians (each "
        "participant counts once; no interval below 6 participants). Timed-out and excluded "
        "answers are not in it (reaction_times.csv).</p>"
        + _figures(results, "answer_times")
        + html_table(shown)
    )


def _mixed_model(results: ReportResults) -> str:
    head = "<h2>Mixed-effects logistic model</h2>"
    model = results.model
    if model is None:
        return ""
    if not model.fitted:
        return head + f"<div class='warn'>Not fitted: {html.escape(model.reason)}</div>"
    formulas = "".join(
        f"<li>{name}: <code>{html.escape(formula)}</code></li>"
        for name, formula in model.formulas.items()
    )
    notes = []
    if model.separation:
        notes.append(
            "<div class='warn'><b>Separation.</b> "
            + html.escape(_sentence("; ".join(model.separation)))
            + ". Those terms are shown as not estimable instead of numbers.</div>"
        )
    singular = [name for name, flag in model.singular.items() if flag]
    if singular:
        notes.append(
            f"<p>Singular fit ({', '.join(singular)}): a random-effect variance was estimated "
            "as zero or a correlation as ±1, i.e. the data do not support that much "
            "random-effect structure; the fixed effects and their intervals are still "
            "reported.</p>"
        )
    for name, why in model.failed.items():
        notes.append(
            f"<div class='warn'><b>The {html.escape(name)} model could not be fitted</b>: "
            f"{html.escape(why)}. The other model is shown.</div>"
        )
    other = {name: used for name, used in model.optimizers.items() if used != "nloptwrap"}
    if other:
        notes.append(
            "<p>Optimiser: "
            + html.escape(", ".join(f"{name} with {used}" for name, used in other.items()))
            + " (nloptwrap stopped with an error; see below).</p>"
        )
    if model.warnings:
        notes.append("<p>lme4 said: " + html.escape("; ".join(model.warnings)) + "</p>")
    if not model.reproducible and model.optimizers:
        notes.append(
            "<p>R could not run with a fixed memory layout on this system (setarch -R), so a "
            "singular fit can differ in its last digits between runs of the same data.</p>"
        )
    terms = model.terms
    shown = pd.DataFrame(
        {
            "model": terms["model"],
            "term (R)": terms["term"],
            "meaning": terms["meaning"],
            "exp(estimate): odds or odds ratio (95% Wald)": [
                note or f"{v:.3g} [{lo:.3g}, {hi:.3g}]"
                for v, lo, hi, note in zip(
                    terms["odds_ratio"],
                    terms["or_low"],
                    terms["or_high"],
                    terms["note"],
                    strict=True,
                )
            ],
            "log-odds (SE)": [
                "—" if not np.isfinite(v) else f"{v:.3f} ({e:.3f})"
                for v, e in zip(terms["estimate"], terms["se"], strict=True)
            ],
            "p": terms["p"].map(_p),
            "p (Holm, per-level contrasts)": terms["p_holm"].map(_p),
        }
    )
    if model.random_effects.empty:
        structure = (
            "No random effects: participants and images enter through the cluster-robust intervals."
        )
        effects = "<p>No random-effect estimates (population-averaged approximation).</p>"
    else:
        structure = (
            "Crossed random effects for participant and image, with a by-image slope for the "
            'condition (the "none" effect may differ between images).'
        )
        values = model.random_effects["value"].map(lambda v: f"{v:.3g}" if np.isfinite(v) else "—")
        effects = "<p>Random effects (log-odds scale; mixed_model_random_effects.csv):</p>"
        effects += html_table(model.random_effects.assign(value=values))
    return (
        head + f"<p>Fitted on all {model.n_trials:,} included test trials (no subsample) from "
        f"{model.n_participants:,} participants and {model.n_images:,} images "
        f"({html.escape(model.method)}; {model.seconds:.1f} s). {structure} Two models:</p><ul>"
        + formulas
        + "</ul><p>In the trend model <code>with_none</code> is the with-vs-without "
        f"difference at {results.levels[0]} strokes only (log2(strokes) is 0 there) and "
        "<code>with_none:log2_strokes</code> its change per doubling; the levels model gives "
        'the contrast at every level. Odds ratios above 1 favour the with-"none" '
        "condition.</p>" + "".join(notes) + html_table(shown) + effects
    )


def _human_vs_clip(results: ReportResults) -> str:
    clip = results.clip
    if clip is None:
        return ""
    warning = (
        "<div class='warn'><b>Circular score.</b> Some CLIP scores come from RN101, the model "
        "the sketches were optimised against (CLIPasso's loss); they measure how well the "
        "optimiser fit that network, not how recognisable the sketches are. Use a different "
        "model family or pretraining as the main scorer.</div>"
        if clip.circular
        else ""
    )
    unscored = clip.unscored_stimuli
    missing = f"<p>{len(unscored)} stimuli people saw have no CLIP score.</p>" if unscored else ""
    pooled = clip.accuracy[clip.accuracy["class"] == ALL_CLASSES]
    return (
        "<h2>Human vs CLIP</h2>"
        + warning
        + "<p>CLIP zero-shot top-1 per stroke level (Wilson 95% over sketches) next to human "
        "accuracy; stars: the paper's ViT-B/32 top-1 (78% at 16 strokes, 91% at 32). All "
        "rows: clip_accuracy.csv.</p>"
        + _photo_ceiling(pooled)
        + missing
        + _figures(results, "human_vs_clip")
        + html_table(pooled.round(3))
    )


def _photo_ceiling(pooled: pd.DataFrame) -> str:
    """One sentence per scorer on its accuracy on the photos, or how to get it."""
    photos = pooled[pooled["kind"] == PHOTO]
    if photos.empty:
        return (
            "<p>No photo scores: <code>sketchlab score STIMULI --photos images.csv</code> also "
            "scores the photos the sketches were drawn from, CLIP's natural ceiling.</p>"
        )
    items = "".join(
        f"<li>{html.escape(f'{row.model}/{row.pretrained} · {row.prompt_set}')}: "
        f"{row.top1:.0%} [{row.ci_low:.0%}, {row.ci_high:.0%}] of {row.n_sketches} photos</li>"
        for row in photos.itertuples(index=False)
    )
    return (
        "<p>The ceiling: CLIP on the photos the sketches were drawn from (as the optimiser saw "
        "them, masked on white), with the same prompts and classes; the triangles and dotted "
        f"lines in the figure, kind <code>{PHOTO}</code> in the table.</p><ul>{items}</ul>"
    )


def _paper(results: ReportResults) -> str:
    paper = results.paper
    rows = [
        {
            "measure": f"people, category, {cond.replace('_', ' ')}",
            **{f"{k} strokes": f"{v:.1%}" for k, v in vals.items()},
        }
        for cond, vals in paper["human_category_recognition"].items()
    ]
    rows.append(
        {
            "measure": "people, instance",
            **{f"{k} strokes": f"{v:.1%}" for k, v in paper["human_instance_recognition"].items()},
        }
    )
    for metric, vals in paper["clip_vit_b32_zero_shot"].items():
        if isinstance(vals, dict):
            rows.append(
                {
                    "measure": f"CLIP ViT-B/32 zero-shot {metric}",
                    **{f"{k} strokes": f"{v:.0%}" for k, v in vals.items()},
                }
            )
    table = pd.DataFrame(rows).fillna("—")
    return (
        "<h2>The paper's numbers (references)</h2><p>"
        + html.escape(paper["source"])
        + "</p>"
        + html_table(table)
    )


def _methods(results: ReportResults) -> str:
    rules = results.rules
    attention = rules.max_attention_errors if rules.max_attention_errors is not None else "any"
    classes = html.escape(", ".join(map(str, results.classes)))
    chance = "; ".join(
        f"{condition.replace('_', ' ')}: {n} buttons, chance 1/{n} = {1 / n:.1%}"
        for condition, n in results.n_options.items()
    )
    limit = f" (limit {rules.time_limit_s:g} s)" if rules.time_limit_s else ""
    timeouts = "off" if rules.max_timeouts is None else f"more than {rules.max_timeouts}"
    return (
        "<h2>Methods in brief</h2><ul>"
        f"<li>{len(results.classes)} classes ({classes}) at "
        f"{', '.join(map(str, results.levels))} strokes. Only test trials of included "
        "sessions count; practice, attention and foil trials do not enter accuracy.</li>"
        f"<li>Chance is 1 / (buttons shown): {chance}.</li>"
        f"<li>Exclusion settings: duplicates {'on' if rules.duplicates else 'off'}; attention "
        f"errors allowed {attention}; incomplete sessions "
        f"{'excluded' if rules.incomplete else 'kept'}; sessions with too many timeouts: "
        f"{timeouts}; participant median answer-time floor {_ms(rules.min_median_rt_ms)}; "
        f"single-answer floor {_ms(rules.min_rt_ms)}; answers to trials interrupted by a "
        f"reload or an outage {'dropped' if rules.interrupted else 'kept'}. Timed-out "
        f"trials{limit} are no answer: "
        "neither wrong nor a false alarm.</li>"
        "<li>Known (guessing-corrected) rate: p(right) − p(wrong) / (classes − 1), the "
        "high-threshold correction that reads the guessing from the wrong answers "
        "(under forced choice the classic (p − 1/m) / (1 − 1/m)).</li>"
        f"<li>Intervals: Wilson 95% per cell (trials independent); bootstrap 95% percentile "
        f"intervals from {results.n_boot} draws, participants resampled within their "
        "condition (and for the caution share also the images); the with/without gap and its "
        f"accuracies: {html.escape(GAP_METHOD)}.</li>"
        '<li>d\': equal-variance Gaussian m-alternative model; with "none", the observer '
        'says "none" when the strongest option is below a criterion k. A pure change in '
        "caution moves k and leaves d'.</li>"
        "<li>Mixed model: lme4 glmer (maximum likelihood, Laplace), Wald intervals, no "
        "priors; see its section.</li>"
        "</ul>"
    )


def _trial_types(results: ReportResults) -> str:
    return render_type_reports(results)


SECTIONS = {
    "comparison": _comparison,
    "accuracy": _accuracy,
    "trial_types": _trial_types,
    "confusions": _confusions,
    "answer_times": _answer_times,
    "mixed_model": _mixed_model,
    "human_vs_clip": _human_vs_clip,
    "paper": _paper,
    "methods": _methods,
}
"""The sections after the data summary by name (what a figure gives as its `section`), in
page order (when there are test trials)."""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ms(threshold: float | None) -> str:
    return "off" if threshold is None else f"{threshold:g} ms"


def _with_boot(table: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "condition": table["condition"],
            "class": table["class"],
            "strokes": table["n_strokes"],
            "correct / trials": right_of_all(table),
            "accuracy (Wilson 95%)": pct_ci(table, "accuracy", "ci_low", "ci_high"),
        }
    )
    if "boot_low" in table:
        shown["participant bootstrap 95%"] = [
            f"[{lo:.1%}, {hi:.1%}]"
            for lo, hi in zip(table["boot_low"], table["boot_high"], strict=True)
        ]
    return shown


def _points_ci(table: pd.DataFrame, value: str, low: str, high: str) -> list[str]:
    """Differences in percentage points with their interval, e.g. '47.0 [36.2, 57.1]'."""
    return [
        f"{100 * v:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
        for v, lo, hi in zip(table[value], table[low], table[high], strict=True)
    ]


def _p_pair(raw: pd.Series, adjusted: pd.Series) -> list[str]:
    return [f"{_p(a)} ({_p(b)})" for a, b in zip(raw, adjusted, strict=True)]


def _p_equals(value: float) -> str:
    """'= 0.03' or '< 1e-16', to follow a 'p'."""
    text = _p(value)
    return text if text.startswith("<") else f"= {text}"


def _p(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return "< 1e-16" if value < 1e-16 else f"{value:.2g}"


def _figures(results: ReportResults, section: str) -> str:
    """Every drawn figure of `section`, in the figure registry's order, with its caption."""
    return figures_named(
        results, [name for name, figure in FIGURES.items() if figure.section == section]
    )


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#666;font-size:.9em} .summary{font-size:1.05em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
.warn{background:#fff6d6;border:1px solid #e0c060;padding:.7em 1em;border-radius:6px;margin:1em 0}
table.tbl{border-collapse:collapse;font-size:.85em;margin:.6em 0}
.tbl th,.tbl td{padding:.25em .6em;border-bottom:1px solid #e5e5e5;text-align:right}
.tbl th{background:#f6f6f6} .tbl td.n{white-space:nowrap}
.tbl td:first-child,.tbl th:first-child{text-align:left}
.wide{overflow-x:auto} figure{margin:1em 0} figure img{max-width:100%}
figcaption{color:#555;font-size:.85em} figcaption .file{color:#999;font-size:.9em}
"""


def _page(parts: list[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{TITLE}</title><style>{_STYLE}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )
