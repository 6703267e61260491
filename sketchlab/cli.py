"""`sketchlab`: one sub-command per step of the data flow (the data flow is described in README.md).

Each module in `sketchlab/commands/` is a thin layer over one package's public functions
and has a `register(app, bench)` that adds its commands here. Command modules import torch
lazily inside their commands, so `sketchlab study ...` starts without it.
"""

import importlib
import pkgutil
import sys
from typing import Annotated

import typer

from sketchlab import commands, version
from sketchlab.errors import BadInput

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Sketches at 4/8/16/32 strokes, a recognition study, CLIP scoring and the report.",
)
bench = typer.Typer(
    no_args_is_help=True, help="Timings as JSON (rasterizer, generation, study, analysis, scoring)."
)
app.add_typer(bench, name="bench")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"sketchlab {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Sketches at 4/8/16/32 strokes, a recognition study, CLIP scoring and the report."""


for _module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
    importlib.import_module(f"sketchlab.commands.{_module}").register(app, bench)


def main() -> None:
    """Run the CLI; bad input becomes one sentence on stderr and exit code 2."""
    try:
        app()
    except BadInput as error:
        print(f"sketchlab: {error}", file=sys.stderr)
        sys.exit(2)
