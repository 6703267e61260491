"""`sketchlab`: one sub-command per step of the data flow (the data flow is described in README.md).

Each module in `sketchlab/commands/` is a thin layer over one package's public functions
and has a `register(app, bench)` that adds its commands here. Command modules import torch
lazily inside their commands, so `sketchlab study ...` starts without it. Help texts are
written as sentences, wrapped in the source wherever they fall; `SentenceHelp` lets the
terminal wrap them instead, for every command at once.
"""

import importlib
import inspect
import pkgutil
import sys
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from sketchlab import commands, version
from sketchlab.errors import BadInput


def unwrap(text: str | None) -> str | None:
    """A help text with the line breaks of its source joined (a docstring wrapped at 100
    columns), paragraphs (blank lines) kept: the terminal then breaks lines where it needs
    to, never mid-sentence where the source did."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _unwrap_all(command: click.Command) -> None:
    command.help = unwrap(command.help)
    command.short_help = unwrap(command.short_help)
    for param in command.params:
        if hasattr(param, "help"):  # options, and typer's arguments
            param.help = unwrap(param.help)
    for sub in getattr(command, "commands", {}).values():
        _unwrap_all(sub)


class SentenceHelp(TyperGroup):
    """The root group: built with every command below it, whose help texts it unwraps."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _unwrap_all(self)


app = typer.Typer(
    cls=SentenceHelp,
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


def _register_commands() -> BadInput | None:
    """Add every command module's commands. Their help texts read the registries' data files
    (presets.json, prompts.json): a broken one is returned, so that `main` reports it as one
    sentence and exit code 2 instead of a traceback at import."""
    try:
        for module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
            importlib.import_module(f"sketchlab.commands.{module}").register(app, bench)
    except BadInput as error:
        return error
    return None


_broken_data = _register_commands()


def main() -> None:
    """Run the CLI; bad input becomes one sentence on stderr and exit code 2."""
    try:
        if _broken_data is not None:
            raise _broken_data
        app()
    except BadInput as error:
        print(f"sketchlab: {error}", file=sys.stderr)
        sys.exit(2)
