"""`sketchlab study status study.yaml`: the live view of a running study (study/monitor.py),
registered beside `study.py`'s commands."""

from pathlib import Path
from typing import Annotated

import typer

from sketchlab.commands.study import StorageUrl, StudyYaml, study_app


def status(
    study_yaml: StudyYaml,
    storage: StorageUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Per condition x list: completed, in progress, timed out, failed attention, median
    duration and the answers of the last 10 minutes; warnings when a cell falls behind or
    the failure rate jumps. Reads the database only."""
    from study.config import load_study
    from study.monitor import study_status
    from study.storage import Storage

    config = load_study(Path(study_yaml), storage, verify_images=False)
    db = Storage(config.storage, config.study_id, create=False)
    try:
        live = study_status(config, db)
    finally:
        db.close()
    if as_json:
        from sketchlab.files import print_json

        print_json(live.as_dict())
        return
    typer.echo(
        f"study {live.study_id} at {live.at}; recent = the last {live.window_minutes:g} minutes"
    )
    table = live.table(with_totals=True).astype(object).fillna("-")
    typer.echo(table.rename(columns=lambda name: name.replace("_", " ")).to_string(index=False))
    recent, before = (
        "-" if rate is None else f"{rate:.0%}"
        for rate in (live.recent_failure_rate, live.earlier_failure_rate)
    )
    typer.echo(
        f"{live.declined} declined consent. Sessions that ended timed out or failed the "
        f"attention checks: {recent} recently, {before} before."
    )
    for warning in live.warnings:
        typer.echo(f"warning: {warning}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    study_app.command("status")(status)
