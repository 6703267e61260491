"""`sketchlab init DIR [--photos FOLDER]`: a new study project (sketchlab/new_study.py)."""

import shlex
from pathlib import Path
from typing import Annotated

import typer


def init(
    folder: Annotated[Path, typer.Argument(help="The project folder (new, or without its files).")],
    photos: Annotated[
        Path | None,
        typer.Option(
            help="Folder with one sub-folder of photos per class (default: FOLDER/photos when "
            "it holds photos; else an empty photos/ is made to fill)."
        ),
    ] = None,
) -> None:
    """Start a study: study.yaml (classes, levels, conditions filled in), images.csv,
    .streamlit/secrets.toml.example, .gitignore and a README with the next commands."""
    from sketchlab.new_study import init_study

    made = init_study(folder, photos)
    for path in made.written:
        typer.echo(f"wrote {path}")
    if made.classes:
        typer.echo(
            f"{made.n_photos} photos in {len(made.classes)} classes ({', '.join(made.classes)}). "
            f"Next: cd {shlex.quote(str(folder))} && sketchlab generate images.csv --out sketches "
            "(README.md)"
        )
    else:
        typer.echo(f"Next: put photos in {folder / 'photos'}/<class>/ (README.md, step 0).")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("init")(init)
