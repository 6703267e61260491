"""`sketchlab analyze` (responses -> report/) and `sketchlab bench analysis`."""

import json
from pathlib import Path
from typing import Optional

import typer


def analyze(
    responses: Path = typer.Argument(..., help="Responses table (CSV or Parquet), one row per trial."),
    out: Path = typer.Option(Path("report"), "--out", help="Report folder (replaced only when the new one is complete)."),
    scores: Optional[Path] = typer.Option(None, "--scores", help="CLIP scores from `sketchlab score`, joined on stimulus_id."),
    participants: Optional[Path] = typer.Option(
        None, "--participants", help="Participants table (status per session); default: <responses>.participants.csv if present."
    ),
    simulated: Optional[bool] = typer.Option(
        None, "--simulated/--real", help="Mark the responses as simulated or real; default: simulated when participant ids start with 'sim-'."
    ),
    keep_duplicates: bool = typer.Option(False, "--keep-duplicates", help="Keep every session of a repeated participant id."),
    keep_incomplete: bool = typer.Option(False, "--keep-incomplete", help="Keep the trials of unfinished sessions."),
    max_attention_errors: int = typer.Option(0, help="Exclude sessions with more wrong attention checks than this (-1: never)."),
    min_median_rt_ms: float = typer.Option(300.0, help="Exclude sessions whose median answer time is below this, ms (0: off)."),
    min_rt_ms: float = typer.Option(150.0, help="Drop single answers faster than this, ms (0: off)."),
    n_boot: int = typer.Option(1000, help="Participant bootstrap draws."),
    mixed_max_trials: int = typer.Option(2000, help="Fit the mixed model on a participant subsample of at most this many trials."),
    seed: int = typer.Option(0, help="Seed for the bootstrap and the model subsample."),
) -> None:
    """Accuracy tables, figures, the with/without-"none" comparison, a mixed model and index.html."""
    from analysis.exclusions import ExclusionRules
    from analysis.report import ReportOptions, build_report

    rules = ExclusionRules(
        duplicates=not keep_duplicates,
        max_attention_errors=None if max_attention_errors < 0 else max_attention_errors,
        incomplete=not keep_incomplete,
        min_median_rt_ms=min_median_rt_ms or None,
        min_rt_ms=min_rt_ms or None,
    )
    options = ReportOptions(
        rules=rules, participants_path=participants, scores_path=scores, simulated=simulated,
        n_boot=n_boot, mixed_max_trials=mixed_max_trials, seed=seed,
    )
    timings = build_report(responses, out, options)
    typer.echo(f"report: {out / 'index.html'} ({sum(timings.values()):.1f} s)")


def bench_analysis(
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result here."),
    trials: int = typer.Option(1_000_000, help="Simulated test trials."),
    participants: int = typer.Option(20_000, help="Simulated participants (5 classes x 4 levels x 2 conditions)."),
) -> None:
    """Time the whole report on a large simulated responses table; prints JSON."""
    from analysis.bench import run_bench

    typer.echo(json.dumps(run_bench(trials, participants, json_out), indent=2))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("analyze")(analyze)
    bench.command("analysis")(bench_analysis)
