"""`sketchlab preregister study.yaml [--plan plan.json]` (sketchlab/preregistration.py)."""

from pathlib import Path
from typing import Annotated

import typer


def preregister(
    study_yaml: Annotated[Path, typer.Argument(help="study.yaml (see docs/study.md)")],
    plan: Annotated[
        Path | None,
        typer.Option(help="`sketchlab plan --json` output: the sample size rationale."),
    ] = None,
    participants: Annotated[
        int | None,
        typer.Option(
            help="Planned sample (default: study.yaml's target_per_cell x its cells).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="The document to write (Markdown).")] = Path(
        "preregistration.md"
    ),
) -> None:
    """A preregistration (OSF template fields, AsPredicted answers): hypotheses, design,
    planned sample and its justification, exclusion rules and models exactly as `analyze`
    applies them, inference criteria."""
    from sketchlab.errors import BadInput
    from sketchlab.files import atomic_write
    from sketchlab.preregistration import preregister as write_document

    if out.is_dir():
        raise BadInput(f"--out {out} is a folder; name the file to write")
    text = write_document(study_yaml, plan, participants)
    with atomic_write(out, encoding="utf-8") as handle:
        handle.write(text)
    out.chmod(0o644)
    typer.echo(f"wrote {out}: fill in what is in [brackets], then register it (OSF, AsPredicted)")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("preregister")(preregister)
