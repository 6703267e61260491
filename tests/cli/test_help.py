"""Every command's --help reads as sentences: a help text is never broken where its source
(a docstring wrapped at 100 columns) happens to break it."""

import re

import click
import typer
from typer.testing import CliRunner

from sketchlab import cli

BOX = re.compile(r"[│╭╮╰╯─]")
WIDE = {"COLUMNS": "2000", "TERMINAL_WIDTH": "2000"}  # nothing is wrapped for the terminal


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    """(path, click command) for every command and group under `command`."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _sentences(texts) -> list[str]:
    """Each paragraph of each help text on one line, as it should be shown."""
    return [
        " ".join(paragraph.split())
        for text in texts
        if text
        for paragraph in text.split("\n\n")
        if paragraph.strip()
    ]


def _shown_lines(output: str) -> list[str]:
    return [" ".join(BOX.sub(" ", line).split()) for line in output.splitlines()]


def _generate_texts() -> list[str]:
    from sketchlab.commands.generate import _parser

    parser = _parser()
    return [parser.description, *(action.help for action in parser._actions)]


def test_every_help_text_is_shown_without_a_break_inside_a_paragraph():
    root = typer.main.get_command(cli.app)
    runner = CliRunner()
    checked = 0
    for path, command in _commands(root):
        result = runner.invoke(cli.app, [*path, "--help"], env=WIDE)
        assert result.exit_code == 0, (path, result.output)
        if path == ("generate",):  # argparse's own help (several values per flag)
            texts = _generate_texts()
        else:
            shown = [param for param in command.params if not getattr(param, "hidden", False)]
            texts = [command.help, *(getattr(param, "help", None) for param in shown)]
        lines = _shown_lines(result.output)
        for sentence in _sentences(texts):
            assert any(sentence in line for line in lines), (
                f"`sketchlab {' '.join(path)} --help` breaks {sentence!r} across lines"
            )
            checked += 1
    assert checked > 100  # every command, group and option was looked at
