"""Build the analysis report: CSV tables, PNG + SVG figures and one self-contained index.html.

Everything is validated before anything is written, then built in a temporary folder next
to `out` and renamed into place at the end, so a failed run never leaves a half-written
report and an existing report is replaced only by a complete one.
"""

import base64
import html
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import plots
from analysis.accuracy import accuracy_table, cluster_bootstrap, test_trials
from analysis.compare import compare_none, describe_gap
from analysis.exclusions import (
    ExclusionRules,
    apply_exclusions,
    find_participants_table,
    read_participants,
)
from analysis.mixed_model import fit_mixed_model
from analysis.responses import options_per_condition, ordered_conditions, read_responses
from sketchlab.errors import BadInput
from sketchlab.reference import paper_numbers

_ANALYSED_COLUMNS = (
    "participant_id",
    "condition",
    "trial_type",
    "stimulus_id",
    "image_id",
    "true_class",
    "n_strokes",
    "response",
    "correct",
    "is_none",
)
SIMULATED_PREFIX = "sim-"
"""Participant ids the study simulator writes start with this (heuristic for 'simulated')."""


@dataclass(frozen=True)
class ReportOptions:
    rules: ExclusionRules = field(default_factory=ExclusionRules)
    participants_path: Path | None = None
    """Participants table (status per session); default: `<responses>.participants.csv` if present."""
    scores_path: Path | None = None
    simulated: bool | None = None
    """True/False override; None: simulated when participant ids start with 'sim-'."""
    n_boot: int = 1000
    mixed_max_trials: int = 1000
    seed: int = 0


def build_report(
    responses_path: str | Path, out: str | Path, options: ReportOptions = ReportOptions()
) -> dict[str, float]:
    """Analyse `responses_path` into the folder `out` (replaced on success).

    Returns the seconds each step took. Raises BadInput (before writing anything) on bad
    responses, participants or scores files.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = now - clock
        clock = now

    responses_path, out = Path(responses_path), Path(out)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out}: --out must be a folder, and a file with that name exists.")
    responses = read_responses(responses_path)
    participants_path = options.participants_path or find_participants_table(responses_path)
    participants = read_participants(participants_path) if participants_path else None
    scores = None
    if options.scores_path is not None:
        from analysis import human_vs_clip

        if "stimulus_id" not in responses.columns:
            raise BadInput(
                f"{responses_path}: missing column 'stimulus_id', needed to join the CLIP scores."
            )
        stimuli = responses.loc[responses["trial_type"] == "test", "stimulus_id"].dropna().unique()
        scores = human_vs_clip.read_scores(
            options.scores_path, stimuli_ids=[str(s) for s in stimuli]
        )
    lap("read")

    excluded = apply_exclusions(responses, options.rules, participants)
    trials = excluded.trials
    lap("exclusions")

    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        os.chmod(building, 0o755)
        sections = _build(
            responses,
            trials,
            excluded,
            scores,
            options,
            building,
            responses_path,
            participants_path,
            lap,
        )
        (building / "index.html").write_text(sections, encoding="utf-8")
        lap("html")
        _replace_folder(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return timings


def _replace_folder(new: Path, out: Path) -> None:
    """Rename `new` to `out`, moving an existing `out` aside first and deleting it after."""
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)


def _simulated_note(responses: pd.DataFrame, flag: bool | None) -> str:
    ids = pd.Series(responses["participant_id"].unique()).astype(str)
    n_sim = int(ids.str.startswith(SIMULATED_PREFIX).sum())
    if flag is False or (flag is None and n_sim == 0):
        return ""
    if flag is True and n_sim < len(ids):
        who = "marked simulated with --simulated"
    elif n_sim == len(ids):
        who = f"all {len(ids)} participant ids start with '{SIMULATED_PREFIX}', the simulator's marker"
    else:
        who = f"{n_sim} of {len(ids)} participant ids start with '{SIMULATED_PREFIX}', the simulator's marker"
    return (
        f"<div class='warn'><b>Simulated responses.</b> The participants in this report are simulated ({who}): "
        "their answers come from a response model, not from people, so every accuracy, "
        "comparison and model below shows what the analysis does, not how people recognise these sketches. "
        "The sketches and any CLIP scores are real computations.</div>"
    )


def _build(
    responses,
    trials,
    excluded,
    scores,
    options,
    folder: Path,
    responses_path,
    participants_path,
    lap,
) -> str:
    figures = folder / "figures"
    figures.mkdir()
    paper = paper_numbers()
    paper_human = paper["human_category_recognition"]
    # Narrow copies once: every later step reads these instead of the full table.
    used = [c for c in _ANALYSED_COLUMNS if c in trials.columns]
    scored = trials.loc[trials["trial_type"].isin(("test", "foil")), used]
    tests = test_trials(scored)
    per_class = accuracy_table(tests)
    pooled = accuracy_table(tests, pooled=True)
    per_class.to_csv(folder / "accuracy.csv", index=False)
    pooled.to_csv(folder / "accuracy_by_level.csv", index=False)
    excluded.table.to_csv(folder / "exclusions.csv", index=False)
    lap("accuracy")
    n_options = options_per_condition(responses)
    chance = {condition: 1 / n for condition, n in n_options.items()}
    sources = f"Data: <code>{html.escape(str(responses_path))}</code>"
    if participants_path:
        sources += f" · participants table: <code>{html.escape(str(participants_path))}</code>"
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    html_parts = [
        f"<h1>Sketch recognition report</h1><p class='meta'>{sources} · built {built}</p>",
        _simulated_note(responses, options.simulated),
        _summary(responses, trials, tests, excluded, n_options),
    ]
    if tests.empty:
        html_parts.append(
            "<div class='warn'>No test trials remain after the exclusions, so there is nothing to analyse yet "
            "(a study still in progress, or every session excluded: see the exclusions table).</div>"
        )
        html_parts.append(_paper_section(paper))
        return _page(html_parts)

    boot = cluster_bootstrap(tests, n_boot=options.n_boot, seed=options.seed)
    boot.to_csv(folder / "accuracy_bootstrap.csv", index=False)
    keys = ["condition", "class", "n_strokes"]
    per_class_b = per_class.merge(boot, on=keys, how="left")
    pooled_b = pooled.merge(boot, on=keys, how="left")
    lap("bootstrap")

    comparison = compare_none(scored, n_options)
    if not comparison.empty:
        comparison.to_csv(folder / "comparison.csv", index=False)
    lap("comparison")

    confusion = plots.confusion_counts(tests)
    composition = plots.answer_composition(tests)
    confusion.to_csv(folder / "confusion.csv", index=False)
    composition.to_csv(folder / "answer_composition.csv", index=False)
    figs = {
        "contrast": plots.plot_none_contrast(
            composition, comparison, figures / "none_contrast", paper_human
        ),
        "lines": plots.plot_accuracy_vs_strokes(
            per_class_b, pooled_b, figures / "accuracy_vs_strokes", paper_human
        ),
        "bars": plots.plot_accuracy_bars(per_class, chance, figures / "accuracy_bars"),
        "confusion": plots.plot_confusion(confusion, figures / "confusion"),
    }
    lap("figures")

    html_parts.append(
        _comparison_section(comparison, figs["contrast"][0], ordered_conditions(tests))
    )
    html_parts.append(
        "<h2>Accuracy by stroke count</h2>"
        "<p>Thick bars: 95% participant-cluster bootstrap (participants resampled within their condition, "
        f"{options.n_boot} draws); thin capped bars: Wilson 95% (treats trials as independent, so narrower when "
        "participants differ). Open diamonds: the paper's reported rates.</p>"
        + _figure(figs["lines"][0])
        + _figure(figs["bars"][0])
        + "<h3>Pooled over classes (accuracy_by_level.csv)</h3>"
        + _table(_with_boot(pooled_b))
        + "<details><summary>Per class (accuracy.csv)</summary>"
        + _table(_with_boot(per_class_b))
        + "</details>"
    )
    html_parts.append(
        "<h2>Confusions</h2><p>Rows: true class; columns: answer, as a share of that class's answers.</p>"
        + _figure(figs["confusion"][0])
    )
    model = fit_mixed_model(tests, max_trials=options.mixed_max_trials, seed=options.seed)
    lap("mixed_model")
    html_parts.append(_model_section(model, folder))
    if scores is not None:
        html_parts.append(_clip_section(scores, per_class, figures, folder))
        lap("clip")
    html_parts.append(_paper_section(paper))
    html_parts.append(_methods(options.rules))
    return _page(html_parts)


def _summary(responses, trials, tests, excluded, n_options) -> str:
    levels = sorted(int(v) for v in tests["n_strokes"].unique()) if not tests.empty else []
    classes = sorted(tests["class"].unique()) if not tests.empty else []
    options = ", ".join(f"{c}: {n} buttons (chance {1 / n:.1%})" for c, n in n_options.items())
    return (
        "<h2>Data and exclusions</h2><ul>"
        f"<li>{len(responses):,} rows, {excluded.sessions_total:,} sessions; {excluded.sessions_included:,} sessions "
        f"included, contributing {len(tests):,} test trials.</li>"
        f"<li>Conditions: {', '.join(ordered_conditions(responses))} ({options}).</li>"
        f"<li>Classes: {html.escape(', '.join(map(str, classes))) or '—'}; stroke levels: {', '.join(map(str, levels)) or '—'}.</li>"
        "</ul><p>Exclusions, applied in this order (each row counts what that rule removed from what was left; "
        "exclusions.csv):</p>" + _table(excluded.table)
    )


def _comparison_section(comparison: pd.DataFrame, figure: Path, conditions: list[str]) -> str:
    head = '<h2>With vs without "none"</h2>'
    if comparison.empty:
        return head + (
            f"<p>Only one condition ({', '.join(conditions)}) is in the included data, so there is no with/without "
            "comparison. The figure shows how its answers split.</p>" + _figure(figure)
        )
    sentences = "".join(
        f"<li>{html.escape(describe_gap(row))}</li>" for _, row in comparison.iterrows()
    )
    shown = comparison.copy()
    table = pd.DataFrame(
        {
            "strokes": shown["n_strokes"],
            "without none": _pct_ci(shown, "accuracy_without", "ci_low_without", "ci_high_without"),
            "with none": _pct_ci(shown, "accuracy_with", "ci_low_with", "ci_high_with"),
            "difference (Newcombe 95%)": _pct_ci(shown, "difference", "diff_low", "diff_high"),
            "odds ratio": shown["odds_ratio"].map("{:.2f}".format),
            "participants (w/o, with)": shown["participants_without"].astype(str)
            + ", "
            + shown["participants_with"].astype(str),
            "Welch p": shown["welch_p"].map(_p),
            "Mann-Whitney p": shown["mannwhitney_p"].map(_p),
            '"none" rate': shown["none_rate_with"].map("{:.1%}".format),
            "committed accuracy": _pct_ci(
                shown, "committed_accuracy_with", "committed_ci_low", "committed_ci_high"
            ),
            "known (guessing-corrected) w/o, with": shown["known_without"].map("{:.1%}".format)
            + ", "
            + shown["known_with"].map("{:.1%}".format),
            "d' w/o, with": shown["dprime_without"].map("{:.2f}".format)
            + ", "
            + shown["dprime_with"].map("{:.2f}".format),
            "criterion k (with)": shown["criterion_with"].map("{:.2f}".format),
            "caution share of gap": shown["caution_share"].map(
                lambda v: f"{min(max(v, 0), 1):.0%}" if np.isfinite(v) else "—"
            ),
        }
    )
    foil_note = ""
    if "hit_rate" in shown.columns and shown["n_foils"].sum() > 0:
        table["foils"] = shown["n_foils"].astype(int)
        table["hit / false-alarm rate"] = [
            f"{h:.1%} / {f:.1%}" if np.isfinite(f) else "—"
            for h, f in zip(shown["hit_rate"], shown["false_alarm_rate"])
        ]
        table["yes/no d', c"] = [
            f"{d:.2f}, {c:.2f}" if np.isfinite(d) else "—"
            for d, c in zip(shown["dprime_yes_no"], shown["criterion_yes_no"])
        ]
        foil_note = (
            '<p>Foil trials (no correct class among the buttons, where "none" is right) give hit rate = committing '
            "on a real trial and false-alarm rate = committing on a foil; the yes/no d' and criterion c below use them "
            "(a different scale from the m-alternative d').</p>"
        )
    return (
        head
        + "<p>Conditions are between-subjects, so the participant is the unit of the tests (Welch and Mann-Whitney on "
        "per-participant accuracy); the Newcombe interval treats trials as independent and is the paper-style "
        "descriptive figure. 'Caution share' is the part of the gap that the with-\"none\" group's own sensitivity "
        "(d') would have recovered under forced choice: the gap it explains is a stricter criterion, not weaker "
        "recognition (equal-variance model, docs/analysis.md; shown clipped to 0-100%, raw in comparison.csv, "
        "and only where the gap's interval excludes zero).</p><ul>"
        + sentences
        + "</ul>"
        + _figure(figure)
        + foil_note
        + _table(table)
        + "<p>All columns: comparison.csv.</p>"
    )


def _model_section(model, folder: Path) -> str:
    head = "<h2>Mixed-effects logistic model</h2>"
    if not model.fitted:
        return head + f"<div class='warn'>Not fitted: {html.escape(model.reason)}</div>"
    model.table.to_csv(folder / "mixed_model.csv", index=False)
    model.random_effects.to_csv(folder / "mixed_model_random_effects.csv", index=False)
    note = (
        f" Fitted on a random subsample of {model.n_participants:,} whole participants ({model.n_trials:,} test "
        "trials), balanced over conditions, to keep the variational fit fast; the tables above use all trials."
        if model.subsampled
        else f" Fitted on all {model.n_trials:,} included test trials from {model.n_participants:,} participants."
    )
    shown = model.table.assign(
        **{
            column: model.table[column].map("{:.3g}".format)
            for column in ("posterior_mean", "posterior_sd", "odds_ratio", "or_low", "or_high")
        }
    )
    return (
        head
        + f"<p><code>{html.escape(model.formula)}</code>; statsmodels BinomialBayesMixedGLM, variational Bayes "
        "(posterior mean and SD on the log-odds scale; odds ratios with mean ± 1.96 SD)."
        + note
        + "</p>"
        + _table(shown)
        + "<p>Random-intercept SDs (log-odds):</p>"
        + _table(model.random_effects.assign(sd=model.random_effects["sd"].map("{:.3g}".format)))
    )


def _clip_section(scores, per_class, figures: Path, folder: Path) -> str:
    from analysis import human_vs_clip

    clip = human_vs_clip.clip_accuracy_by_level(scores)
    clip.to_csv(folder / "clip_accuracy.csv", index=False)
    paths = human_vs_clip.plot_human_vs_clip(per_class, clip, figures / "human_vs_clip")
    circular = (
        bool(clip["circular"].astype(bool).any())
        or clip["model"].astype(str).str.upper().str.contains("RN101").any()
    )
    warning = (
        "<div class='warn'><b>Circular score.</b> Some CLIP scores come from RN101, the model the sketches were "
        "optimised against (CLIPasso's loss); they measure how well the optimiser fit that network, not how "
        "recognisable the sketches are. Use a different model family or pretraining as the main scorer.</div>"
        if circular
        else ""
    )
    unscored = scores.attrs.get("unscored_stimuli", [])
    missing = f"<p>{len(unscored)} stimuli people saw have no CLIP score.</p>" if unscored else ""
    pooled = clip[clip["class"] == "all"]
    return (
        "<h2>Human vs CLIP</h2>"
        + warning
        + "<p>CLIP zero-shot top-1 per stroke level (Wilson 95% over sketches) next to human accuracy; stars: the paper's "
        "ViT-B/32 top-1 (78% at 16 strokes, 91% at 32). All rows: clip_accuracy.csv.</p>"
        + missing
        + _figure(paths[0])
        + _table(pooled.round(3))
    )


def _paper_section(paper: dict) -> str:
    human = paper["human_category_recognition"]
    rows = [
        {
            "measure": f"people, category, {cond.replace('_', ' ')}",
            **{f"{k} strokes": f"{v:.1%}" for k, v in vals.items()},
        }
        for cond, vals in human.items()
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
        + _table(table)
    )


def _methods(rules: ExclusionRules) -> str:
    return (
        "<h2>Methods in brief</h2><ul>"
        "<li>Only test trials of included sessions count; practice, attention and foil trials do not enter accuracy.</li>"
        f"<li>Exclusion settings: duplicates {'on' if rules.duplicates else 'off'}; attention errors allowed "
        f"{rules.max_attention_errors if rules.max_attention_errors is not None else 'any'}; incomplete sessions "
        f"{'excluded' if rules.incomplete else 'kept'}; participant median answer-time floor "
        f"{_ms(rules.min_median_rt_ms)}; single-answer floor "
        f"{_ms(rules.min_rt_ms)}.</li>"
        '<li>Chance is 1 / (buttons shown): 1/5 with five classes and no "none", 1/6 with it. Guessing-corrected '
        "('known') rate: (p − 1/m) / (1 − 1/m).</li>"
        '<li>d\': equal-variance Gaussian m-alternative model; with "none", the observer says "none" when the '
        "strongest option is below a criterion k. A pure change in caution moves k and leaves d'.</li>"
        "</ul>"
    )


def _ms(threshold: float | None) -> str:
    return "off" if threshold is None else f"{threshold:g} ms"


def _with_boot(table: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "condition": table["condition"],
            "class": table["class"],
            "strokes": table["n_strokes"],
            "correct / trials": table["n_correct"].astype(str)
            + " / "
            + table["n_trials"].astype(str),
            "accuracy (Wilson 95%)": _pct_ci(table, "accuracy", "ci_low", "ci_high"),
        }
    )
    if "boot_low" in table:
        shown["participant bootstrap 95%"] = [
            f"[{lo:.1%}, {hi:.1%}]" for lo, hi in zip(table["boot_low"], table["boot_high"])
        ]
    return shown


def _pct_ci(table: pd.DataFrame, value: str, low: str, high: str) -> list[str]:
    return [
        f"{v:.1%} [{lo:.1%}, {hi:.1%}]" for v, lo, hi in zip(table[value], table[low], table[high])
    ]


def _p(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return "< 1e-16" if value < 1e-16 else f"{value:.2g}"


def _figure(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'><figcaption>figures/{html.escape(path.stem)}.png / .svg</figcaption></figure>"


def _table(frame: pd.DataFrame) -> str:
    table = frame.to_html(
        index=False, border=0, classes="tbl", float_format=lambda v: f"{v:.3g}", na_rep="—"
    )
    return f"<div class='wide'>{table}</div>"


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#666;font-size:.9em} code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
.warn{background:#fff6d6;border:1px solid #e0c060;padding:.7em 1em;border-radius:6px;margin:1em 0}
table.tbl{border-collapse:collapse;font-size:.85em;margin:.6em 0} .tbl th,.tbl td{padding:.25em .6em;border-bottom:1px solid #e5e5e5;text-align:right}
.tbl th{background:#f6f6f6} .tbl td:first-child,.tbl th:first-child{text-align:left}
.wide{overflow-x:auto} figure{margin:1em 0} figure img{max-width:100%} figcaption{color:#777;font-size:.8em}
"""


def _page(parts: list[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Sketch recognition report</title>"
        f"<style>{_STYLE}</style></head><body>" + "".join(parts) + "</body></html>"
    )
