"""`sketchlab package RUN --out DIR` and `sketchlab verify DIR` (sketchlab/replication.py)."""

from pathlib import Path
from typing import Annotated

import typer

VERIFY_FAILED = 3
"""`verify`'s exit code when the package does not verify (2 is bad input, 1 a crash)."""
SHOWN = 20
"""At most this many differences are printed one per line; the rest are counted."""


def package(
    run: Annotated[
        Path,
        typer.Argument(help="The study folder (as `sketchlab init` makes it) or its study.yaml."),
    ],
    out: Annotated[Path, typer.Option(help="The package folder to create.")],
    responses: Annotated[
        Path | None,
        typer.Option(help="The exported answers (default: responses.csv beside study.yaml)."),
    ] = None,
    salt_file: Annotated[
        Path | None,
        typer.Option(
            help="Keep the salt of the id hashes here (outside --out; read if it exists), "
            "to package again with the same ids; default: a fresh salt, kept nowhere."
        ),
    ] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap draws, as `analyze --n-boot`.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for the bootstraps, as `analyze`.")] = 0,
    allow_exclusions: Annotated[
        bool,
        typer.Option(
            help="As `analyze --allow-exclusions`: build the report although more than 10% of "
            "the participants, or a whole condition or level, are excluded (recorded in the "
            "package, so `verify` does the same)."
        ),
    ] = False,
) -> None:
    """A replication package: study.yaml, stimuli, run.json, responses with hashed ids, the
    report, environment versions, a README and a checksum manifest."""
    from sketchlab.replication import find_run, read_salt, write_package

    found = find_run(run, responses)
    salt = read_salt(salt_file, out)
    notes = write_package(
        found, out, salt=salt, n_boot=n_boot, seed=seed, allow_exclusions=allow_exclusions
    )
    typer.echo(f"wrote {out} (check it with: sketchlab verify {out})")
    _print_list(notes)


def verify(
    folder: Annotated[Path, typer.Argument(help="A package from `sketchlab package`.")],
) -> None:
    """Check the manifest, run the analysis again from the packaged files, and report every
    number that differs; exit code 3 when anything does."""
    from sketchlab.replication import verify_package

    found = verify_package(folder)
    typer.echo(
        f"{folder}: {found.files} files in the manifest; analysis run again: {found.numbers} "
        f"numbers in {found.tables} report tables compared"
    )
    _print_list([f"note: {note}" for note in found.notes])
    if found.ok:
        typer.echo("verified: every file matches the manifest and every number was reproduced")
        return
    _print_list(found.problems, err=True)
    typer.echo(f"NOT verified: {len(found.problems)} problem(s)", err=True)
    raise typer.Exit(VERIFY_FAILED)


def _print_list(lines: list[str], err: bool = False) -> None:
    for line in lines[:SHOWN]:
        typer.echo(line, err=err)
    if len(lines) > SHOWN:
        typer.echo(f"... and {len(lines) - SHOWN} more", err=err)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("package")(package)
    app.command("verify")(verify)
