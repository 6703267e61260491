"""`sketchlab plan`: what N participants would buy, before recruiting them (docs/analysis.md)."""

from pathlib import Path
from typing import Annotated

import typer


def plan(
    study_yaml: Annotated[Path, typer.Argument(help="study.yaml (see docs/study.md)")],
    participants: Annotated[
        list[int],
        typer.Option(
            "--participants",
            help="Sample sizes to compare: --participants 40 80 160 320 (total participants).",
        ),
    ],
    more_sizes: Annotated[
        list[int] | None, typer.Argument(hidden=True, help="More sizes after --participants.")
    ] = None,
    pilot: Annotated[
        Path | None,
        typer.Option(
            "--pilot",
            help="Pilot responses (CSV or Parquet): take the effects from its mixed model "
            "instead of the paper's rates.",
        ),
    ] = None,
    participant_sd: Annotated[
        float | None,
        typer.Option(help="Assumed SD of participants' ability (log-odds); default 0.8."),
    ] = None,
    image_sd: Annotated[
        float | None,
        typer.Option(help="Assumed SD of the images' difficulty (log-odds); default 1.0."),
    ] = None,
    image_slope_sd: Annotated[
        float | None,
        typer.Option(
            help='Assumed SD between images of the "none" effect (log-odds); default 0.5.'
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", help="Simulated studies per size.")
    ] = 200,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for plan.csv and plan.png / .svg.")
    ] = Path("plan"),
    seed: Annotated[int, typer.Option(help="Same seed, same plan.")] = 0,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Also write the plan as JSON, for `sketchlab preregister --plan`."
        ),
    ] = None,
) -> None:
    """Expected 95% interval half-widths per level, the power to find the with-vs-without
    gap, and the cost in participant-minutes, for each sample size (simulated through the
    study's design and analysed with the interval the report prints), with the assumptions
    they rest on."""
    import time

    from analysis.planning import PlanAssumptions, describe_plan, paper_response_model, plan_study
    from analysis.plots.plan import plot_plan
    from analysis.study_simulation import study_design
    from sketchlab.errors import BadInput
    from sketchlab.files import atomic_path
    from study.config import load_study

    started = time.perf_counter()
    sizes = sorted(set(participants + (more_sizes or [])))
    if min(sizes) < 2 or replications < 1:
        raise BadInput("--participants must be at least 2 and --replications at least 1")
    if json_out is not None and json_out.is_dir():
        raise BadInput(f"--json {json_out} is a folder; name the file to write")
    spreads = {"participant_sd": participant_sd, "image_sd": image_sd,
               "image_slope_sd": image_slope_sd}  # fmt: skip
    given = {name: value for name, value in spreads.items() if value is not None}
    if pilot is not None and given:
        raise BadInput(
            f"--pilot measures the spreads, so --{next(iter(given)).replace('_', '-')} cannot "
            "be given with it"
        )
    if any(value < 0 for value in given.values()):
        raise BadInput("--participant-sd, --image-sd and --image-slope-sd must be 0 or more")
    config = load_study(study_yaml, verify_images=False)
    design = study_design(config)
    if pilot is None:
        model = paper_response_model(design.levels, PlanAssumptions(**given))
    else:
        model = _pilot_model(pilot, design.levels, config.attention.max_failures)
    result = plan_study(design, sizes, model, replications=replications, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "plan.csv") as tmp:
        result.table.to_csv(tmp, index=False)
    plot_plan(result.table, out / "plan", model.source)
    if json_out is not None:
        from sketchlab.plan_file import write_plan

        write_plan(result, design, study_yaml, json_out)
    typer.echo(_text_table(result))
    typer.echo("Assumptions:\n" + "\n".join(f"- {line}" for line in describe_plan(result)))
    typer.echo(
        f"{time.perf_counter() - started:.1f} s. Wrote {out / 'plan.csv'}"
        + (f", {out / 'plan.png'} and {json_out}." if json_out else f" and {out / 'plan.png'}.")
    )


def _pilot_model(pilot: Path, levels: list[int], max_failures: int):
    from analysis.accuracy import test_trials
    from analysis.exclusions import ExclusionRules, apply_exclusions
    from analysis.glmm import EXACT_MAX_TRIALS, fit_glmm, require_r
    from analysis.planning import pilot_response_model
    from analysis.responses import read_responses

    kept = apply_exclusions(
        read_responses(pilot), ExclusionRules(max_attention_errors=max_failures)
    ).trials
    tests = test_trials(kept)
    if len(tests) <= EXACT_MAX_TRIALS:
        require_r("--pilot")
    return pilot_response_model(fit_glmm(tests), tests, levels)


def _text_table(result) -> str:
    table = result.table
    lines = [
        f"{'N':>5} {'strokes':>7} {'acc w/o':>8} {'acc with':>8} {'gap':>6} "
        f"{'±w/o':>6} {'±with':>6} {'±gap':>6} {'power':>6} {'participant-h':>13}"
    ]
    for row in table.itertuples():
        lines.append(
            f"{row.participants:>5} {row.n_strokes:>7} {row.accuracy_without:>8.1%} "
            f"{row.accuracy_with:>8.1%} {100 * row.gap:>6.1f} {100 * row.half_width_without:>6.1f} "
            f"{100 * row.half_width_with:>6.1f} {100 * row.half_width_gap:>6.1f} "
            f"{row.power_gap:>6.0%} {row.participant_minutes / 60:>13.1f}"
        )
    lines.append(
        f"(± = mean 95% half-width in percentage points; gap = without - with; "
        f"{result.minutes_per_participant:.1f} min per participant)"
    )
    return "\n".join(lines)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("plan")(plan)
