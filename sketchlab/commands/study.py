"""`sketchlab study check|preview|simulate|export|backup`; `serve` and `status` are registered
by `study_serve.py` and `study_status.py` beside it.

Every study sub-command that opens the database takes `--storage URL`, which wins over the
YAML's `storage:`.
Nothing here imports torch or sketchgen.
"""

import json
from pathlib import Path
from typing import Annotated

import typer

from sketchlab.errors import BadInput
from study.storage_backends import BACKENDS

study_app = typer.Typer(
    no_args_is_help=True,
    help="The recognition study: check, serve, preview, simulate, status, export, code, backup.",
)

StudyYaml = Annotated[Path, typer.Argument(help="study.yaml (see docs/study.md)")]
StorageUrl = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="database URL, overrides the YAML's storage: "
        + BACKENDS.listing(lambda backend: f"{backend.example}, for {backend.use}"),
    ),
]


@study_app.command("check")
def check(study_yaml: StudyYaml, storage: StorageUrl = None) -> None:
    """Validate study.yaml and its stimuli, reach the database (creating nothing), and print
    the design, each outcome's exit and the screens every button fits on, with warnings."""
    from sketchlab.contracts import OUTCOMES
    from study.config import load_study, outcome_warnings
    from study.design import describe
    from study.layout import SCREENS
    from study.storage import check_reachable
    from study.storage_backends import masked_url

    config = load_study(study_yaml, storage)
    storage_note = check_reachable(config.storage)
    design = describe(config)
    design["storage"] = masked_url(config.storage)
    typer.echo(f"{study_yaml}: OK")
    typer.echo(f"  options ({design['option_order']}): {', '.join(design['options'])}")
    typer.echo(
        f"  levels: {', '.join(map(str, design['levels']))} strokes; "
        f"{design['test_images']} test images, {design['foil_images']} foil images"
    )
    typer.echo(f"  cells ({len(design['cells'])}): {', '.join(design['cells'])}")
    for condition, info in design["conditions"].items():
        kinds = ", ".join(f"{n} {kind}" for kind, n in info["by_type"].items())
        typer.echo(
            f"  {condition}: {info['trials']} trials per participant ({kinds}), "
            f"about {info['expected_minutes']} min"
        )
    for line in design["trial_types"]:
        typer.echo(f"  {line}")
    if not design["balanced_lists"]:
        typer.echo(
            f"  note: {design['test_images']} test images do not split evenly over "
            f"{len(design['levels'])} levels; some levels get one image more per participant"
        )
    exits = []
    for name in OUTCOMES:
        outcome = config.outcome(name)
        parts = [f"code {outcome.code}"] if outcome.code else []
        parts += ["redirect"] if outcome.redirect_url else []
        exits.append(f"{name} ({', '.join(parts) or 'asked to return the submission'})")
    typer.echo(f"  outcomes: {'; '.join(exits)}")
    for warning in outcome_warnings(config):
        typer.echo(f"  warning: {warning}")
    every = ", ".join(f"{w}x{h}" for w, h in SCREENS)
    for condition, info in design["conditions"].items():
        fitting = info["screens_that_fit"]
        if len(fitting) == len(SCREENS):
            typer.echo(f"  {condition}: every button on screen without scrolling at {every}")
            continue
        too_small = ", ".join(f"{w}x{h}" for w, h in SCREENS if (w, h) not in fitting)
        smallest = (
            f"the smallest screen they fit is {fitting[0][0]}x{fitting[0][1]}"
            if fitting
            else "they fit none of the screens checked"
        )
        typer.echo(
            f"  warning: {condition}: the answer buttons do not all fit without scrolling at "
            f"{too_small}; {smallest} (shorter class names, fewer options or a shorter "
            "question help)"
        )
    typer.echo(f"  storage: {design['storage']}" + (f" ({storage_note})" if storage_note else ""))


@study_app.command("simulate")
def simulate(
    study_yaml: StudyYaml,
    participants: Annotated[int, typer.Option("--participants", "-n", help="how many")] = 100,
    model: Annotated[str, typer.Option(help="response model: paper")] = "paper",
    seed: Annotated[int, typer.Option(help="same seed, same answers")] = 0,
    storage: StorageUrl = None,
) -> None:
    """Simulated participants through the real assignment, ordering and storage code.
    Simulated data tests the pipeline; it is not a result."""
    from study.config import load_study
    from study.simulate import simulate as run_simulation
    from study.storage import Storage

    config = load_study(study_yaml, storage, verify_images=False)
    db = Storage(config.storage, config.study_id, durable=False)
    try:
        summary = run_simulation(config, db, participants, model, seed)
    finally:
        db.close()
    typer.echo(
        json.dumps(
            {
                "participants": summary.participants,
                "by_status": summary.by_status,
                "responses_written": summary.responses_written,
                "seconds": round(summary.seconds, 2),
                "model": summary.model,
                "storage": db.masked_url,
                "note": "simulated data: for testing the pipeline, not a result",
            },
            indent=1,
        )
    )


@study_app.command("export")
def export(
    study_yaml: StudyYaml,
    out: Annotated[
        Path | None,
        typer.Option(help="responses.csv or responses.parquet (with --participants: a .csv)"),
    ] = None,
    participants: Annotated[
        bool,
        typer.Option(
            "--participants",
            help="instead: every participant with status, attention result, duration, flags "
            "and the suggested action on Prolific (printed, or written to --out)",
        ),
    ] = False,
    storage: StorageUrl = None,
) -> None:
    """Write the responses long table and <out stem>.participants.csv; with --participants,
    the list for approving or rejecting participants on Prolific."""
    from study.config import load_study
    from study.export import checked_out_path, write_review
    from study.export import export as run_export
    from study.storage import Storage

    config = load_study(study_yaml, storage, verify_images=False)
    if out is None and not participants:
        raise BadInput("study export needs --out responses.csv (or --participants)")
    if out is not None:
        checked_out_path(out, formats=(".csv",) if participants else (".csv", ".parquet"))
    db = Storage(config.storage, config.study_id, create=False)
    try:
        if participants:
            written = write_review(config, db, out)
        else:
            files = run_export(config, db, out)
    finally:
        db.close()
    if participants:
        typer.echo(f"wrote {written}" if out is not None else written)
    else:
        typer.echo(f"wrote {', '.join(map(str, files[:-1]))} and {files[-1]}")


@study_app.command("code")
def code(
    study_yaml: StudyYaml,
    sheet: Annotated[
        Path,
        typer.Argument(help="the coding sheet `study export` wrote (<out>.coding.csv), filled in"),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="change answers you coded differently before (listed as changed)"
        ),
    ] = False,
    storage: StorageUrl = None,
) -> None:
    """Read the researcher's codes for typed names back into the database: each answer's
    `code` is a class (the answer names it), `none` (it names none of them) or empty (not
    coded). Idempotent; an earlier code is changed only with --replace, and every change is
    listed."""
    from study.config import load_study
    from study.storage import Storage
    from study.trial_types.naming_codes import apply_codes

    config = load_study(study_yaml, storage, verify_images=False)
    if config.naming is None:
        raise BadInput(
            f"{study_yaml}: has no naming condition (field 'naming'), so nothing to code"
        )
    db = Storage(config.storage, config.study_id, create=False)
    try:
        summary = apply_codes(config, db, sheet, replace=replace)
    finally:
        db.close()
    typer.echo(summary)


@study_app.command("backup")
def backup(
    study_yaml: StudyYaml,
    out: Annotated[
        Path, typer.Option(help="the copy: a .db file (SQLite) or a pg_dump archive (PostgreSQL)")
    ],
    storage: StorageUrl = None,
) -> None:
    """A consistent copy of the study database, safe while participants are answering
    (SQLite's online backup; pg_dump for PostgreSQL)."""
    from study.backup import backup as run_backup
    from study.config import load_study

    config = load_study(study_yaml, storage, verify_images=False)
    typer.echo(f"wrote {run_backup(config.storage, config.study_id, out)}")


@study_app.command("preview")
def preview(
    study_yaml: StudyYaml,
    url: Annotated[
        str, typer.Option(help="where `study serve` runs, as participants reach it")
    ] = "http://localhost:8501",
) -> None:
    """Print the preview link: the real study, never counted, exported or given a slot."""
    import secrets

    from study.config import load_study

    config = load_study(study_yaml, verify_images=False)
    if config.preview_token is None:
        raise BadInput(
            f"{study_yaml}: field 'preview_token' is not set; add a secret of 16-64 letters, "
            f"digits, _ or -, e.g. preview_token: {secrets.token_urlsafe(18)}"
        )
    typer.echo(f"{url.rstrip('/')}/?PREVIEW={config.preview_token}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
