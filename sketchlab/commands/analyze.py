"""`sketchlab analyze` (responses -> report/), `sketchlab bench analysis` and `sketchlab bench
coverage`."""

import json
from pathlib import Path
from typing import Annotated

import typer


def analyze(
    responses: Annotated[
        Path, typer.Argument(help="Responses table (CSV or Parquet), one row per trial.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Report folder (replaced only when the new one is complete)."),
    ] = Path("report"),
    scores: Annotated[
        Path | None,
        typer.Option("--scores", help="CLIP scores from `sketchlab score`, joined on stimulus_id."),
    ] = None,
    participants: Annotated[
        Path | None,
        typer.Option(
            "--participants",
            help="Participants table (status per session); default: "
            "<responses stem>.participants.csv if present.",
        ),
    ] = None,
    simulated: Annotated[
        bool | None,
        typer.Option(
            "--simulated/--real",
            help="Mark the responses as simulated or real; default: simulated when participant "
            "ids start with 'sim-'.",
        ),
    ] = None,
    keep_duplicates: Annotated[
        bool,
        typer.Option("--keep-duplicates", help="Keep every session of a repeated participant id."),
    ] = False,
    keep_incomplete: Annotated[
        bool, typer.Option("--keep-incomplete", help="Keep the trials of unfinished sessions.")
    ] = False,
    allow_exclusions: Annotated[
        bool,
        typer.Option(
            "--allow-exclusions",
            help="Build the report even when the exclusions remove more than 10% of the "
            "participants or a whole condition or stroke level (else: exit 2, nothing written).",
        ),
    ] = False,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study",
            help="study.yaml the responses come from: its attention.max_failures and "
            "time_limit_s set the exclusion thresholds (options given here win), and its test "
            "images the length of a complete session.",
        ),
    ] = None,
    max_attention_errors: Annotated[
        int | None,
        typer.Option(
            help="Exclude sessions with more wrong attention checks than this (-1: never); "
            "default: --study's attention.max_failures, else 0."
        ),
    ] = None,
    max_timeouts: Annotated[
        int | None,
        typer.Option(help="Exclude sessions with more timed-out test trials than this."),
    ] = None,
    min_median_rt_ms: Annotated[
        float | None,
        typer.Option(
            help="Exclude sessions whose median answer time is below this, ms (0: off); "
            "default: the too-fast time, --study's min_answer_ms + 250 (else 500)."
        ),
    ] = None,
    min_rt_ms: Annotated[
        float | None,
        typer.Option(
            help="Drop single answers faster than this, ms (0: off); default: the too-fast "
            "time, --study's min_answer_ms + 250 (else 500), which the export flags too_fast."
        ),
    ] = None,
    keep_interrupted: Annotated[
        bool,
        typer.Option(
            help="Keep answers to trials whose connection was lost while on screen "
            "(interrupted_ms > 0; dropped by default)."
        ),
    ] = False,
    n_boot: Annotated[
        int, typer.Option(help="Bootstrap draws (participant, and participant x image).")
    ] = 1000,
    model_exact_max_trials: Annotated[
        int,
        typer.Option(
            help="Above this many test trials the mixed models are fitted as population-"
            "averaged logistic regressions with cluster-robust intervals, a fast approximation "
            "(the report says so)."
        ),
    ] = 150_000,
    seed: Annotated[int, typer.Option(help="Seed for the bootstraps.")] = 0,
) -> None:
    """Accuracy tables, figures, the with/without-"none" comparison, a mixed model and
    index.html."""
    from analysis.report import ReportOptions, build_report

    rules = exclusion_rules(
        study,
        keep_duplicates=keep_duplicates,
        keep_incomplete=keep_incomplete,
        max_attention_errors=max_attention_errors,
        max_timeouts=max_timeouts,
        min_median_rt_ms=min_median_rt_ms,
        min_rt_ms=min_rt_ms,
        keep_interrupted=keep_interrupted,
    )
    options = ReportOptions(
        rules=rules,
        participants_path=participants,
        scores_path=scores,
        simulated=simulated,
        n_boot=n_boot,
        model_exact_max_trials=model_exact_max_trials,
        seed=seed,
        allow_exclusions=allow_exclusions,
    )
    timings = build_report(
        responses, out, options, warn=lambda text: typer.echo(f"warning: {text}", err=True)
    )
    typer.echo(f"report: {out / 'index.html'} ({sum(timings.values()):.1f} s)")


def exclusion_rules(
    study: Path | None = None,
    *,
    keep_duplicates: bool = False,
    keep_incomplete: bool = False,
    max_attention_errors: int | None = None,
    max_timeouts: int | None = None,
    min_median_rt_ms: float | None = None,
    min_rt_ms: float | None = None,
    keep_interrupted: bool = False,
):
    """The `ExclusionRules` of `analyze` with these options (defaults: the command's), the
    attention threshold, the time limit and the too-fast time (study/timing.py) taken from
    `study` (a study.yaml) when given. `sketchlab preregister` states these rules, so they are
    built in this one place."""
    from analysis.exclusions import ExclusionRules
    from study.timing import TimingPolicy

    time_limit_s = design_test_trials = None
    timing = TimingPolicy()
    if study is not None:
        from study.config import load_study

        config = load_study(study, verify_images=False)
        if max_attention_errors is None:
            max_attention_errors = config.attention.max_failures
        time_limit_s = config.time_limit_s
        design_test_trials = len(config.catalog.test_images)
        timing = TimingPolicy(config.min_answer_ms)
    min_median_rt_ms = timing.too_fast_ms if min_median_rt_ms is None else min_median_rt_ms
    min_rt_ms = timing.too_fast_ms if min_rt_ms is None else min_rt_ms
    if max_attention_errors is None:
        max_attention_errors = 0
    return ExclusionRules(
        duplicates=not keep_duplicates,
        max_attention_errors=None if max_attention_errors < 0 else max_attention_errors,
        incomplete=not keep_incomplete,
        min_median_rt_ms=min_median_rt_ms or None,
        min_rt_ms=min_rt_ms or None,
        max_timeouts=max_timeouts,
        time_limit_s=time_limit_s,
        design_test_trials=design_test_trials,
        interrupted=not keep_interrupted,
    )


def bench_analysis(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result here.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Simulated test trials.")] = 1_000_000,
    participants: Annotated[
        int, typer.Option(help="Simulated participants (5 classes x 4 levels x 2 conditions).")
    ] = 20_000,
    model_trials: Annotated[
        int, typer.Option(help="Trials for the mixed models alone (goal: 2 minutes; 0: skip).")
    ] = 100_000,
) -> None:
    """Time the whole report on a large simulated responses table, and the mixed models on
    100,000 trials; prints JSON."""
    from analysis.glmm import EXACT_MAX_TRIALS, require_r
    from sketchlab.bench.analysis import run_bench

    if 0 < model_trials <= EXACT_MAX_TRIALS:
        require_r("bench analysis", instead="pass --model-trials 0 to time the report alone")
    result = run_bench(trials, participants, json_out, model_trials=model_trials)
    typer.echo(json.dumps(result, indent=2))


def bench_coverage(
    replications: Annotated[
        int, typer.Option(help="Simulated studies per grid point (at least 200).")
    ] = 2000,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result here.")
    ] = None,
    docs: Annotated[
        Path | None,
        typer.Option(
            "--docs",
            help="Write the coverage table into this file (docs/analysis.md), between its "
            "coverage-table markers.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same table.")] = 0,
) -> None:
    """Coverage and width of the report's headline gap interval on simulated crossed-effects
    studies (a grid of images, participants, image and slope SDs, accuracies 30-99.7%);
    prints JSON."""
    from sketchlab.bench.coverage import run_bench
    from sketchlab.errors import BadInput

    if replications < 200:
        raise BadInput("--replications must be at least 200 (coverage needs that many).")
    result = run_bench(replications, seed=seed, json_out=json_out, docs=docs)
    typer.echo(json.dumps(result, indent=2))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("analyze")(analyze)
    bench.command("analysis")(bench_analysis)
    bench.command("coverage")(bench_coverage)
