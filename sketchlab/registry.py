"""Registries: the one list of each kind of thing a user picks by name (presets, methods, prompt
sets), which every help text, choice, error message, docs table and test reads.

A registry keeps its entries in order. Its entries are either given in code (the methods) or
read from a data file on first use (`source`, e.g. sketchgen/presets.json); pointing `source`
at another file (a test's temporary copy) reloads it. `defaults` are the entries used when the
user names none: explicit data, so a new entry never joins a default by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from sketchlab.errors import BadInput

T = TypeVar("T")

Read = Callable[[Path], tuple[dict[str, T], tuple[str, ...]]]
"""A data registry's reader: its file -> (entries by name, default names); BadInput naming the
file, entry and field on a bad value."""


def words(names: Sequence[str], conjunction: str = "or") -> str:
    """["a", "b", "c"] -> "a, b or c" (for messages and help texts)."""
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


class Registry(MutableMapping[str, T], Generic[T]):
    """Entries of one kind by name, in order.

    kind: what an entry is, for messages ("preset"); flag: the option that picks one
    ("--preset"). Give either `entries` (and `defaults`) in code, or a `source` file and the
    `read` function that parses it.
    """

    def __init__(
        self,
        kind: str,
        flag: str,
        *,
        entries: Mapping[str, T] | None = None,
        defaults: Sequence[str] = (),
        source: Path | None = None,
        read: Read | None = None,
    ) -> None:
        if (entries is None) == (source is None or read is None):
            raise ValueError("a registry takes either entries, or a source file and its reader")
        self.kind, self.flag = kind, flag
        self.source, self._read = source, read
        self._loaded_from: Path | None = None
        self._entries: dict[str, T] = dict(entries or {})
        self._defaults = tuple(defaults)

    def _current(self) -> dict[str, T]:
        if self.source is not None and self._loaded_from != self.source:
            self._entries, self._defaults = self._read(self.source)
            self._loaded_from = self.source
            unknown = [name for name in self._defaults if name not in self._entries]
            if unknown:
                raise BadInput(
                    f"{self.source} names {words(unknown, 'and')} as a default {self.kind}, "
                    f"but has no such entry; use {words(list(self._entries))}."
                )
        return self._entries

    def __getitem__(self, name: str) -> T:
        return self._current()[name]

    def __setitem__(self, name: str, entry: T) -> None:
        self._current()[name] = entry

    def __delitem__(self, name: str) -> None:
        del self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._current()))

    def __len__(self) -> int:
        return len(self._current())

    @property
    def defaults(self) -> tuple[str, ...]:
        """The names used when the user names none (empty when the flag has no default)."""
        self._current()
        return self._defaults

    @property
    def default(self) -> str:
        """The one default of a registry whose flag picks one entry."""
        (name,) = self.defaults
        return name

    def entry(self, name: str) -> T:
        """The entry called `name`; BadInput naming the known ones otherwise."""
        if name not in self:
            raise BadInput(f"{self.flag} {name!r} is not known; use {self.words()}.")
        return self[name]

    def words(self, conjunction: str = "or") -> str:
        """The registered names as words for a message: "paper, fast or demo"."""
        return words(list(self), conjunction)

    def listing(self, describe: Callable[[T], str]) -> str:
        """Every entry with its description, defaults marked, for a help text:
        "paper (default): ...; fast: ..."."""
        return "; ".join(
            f"{name}{' (default)' if name in self.defaults else ''}: " + describe(entry).rstrip(".")
            for name, entry in self.items()
        )

    def table(self, columns: Mapping[str, Callable[[str, T], object]]) -> str:
        """A Markdown table of every entry, one column per (heading, name, entry -> cell)."""
        lines = [
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
            *(
                "| " + " | ".join(str(cell(name, entry)) for cell in columns.values()) + " |"
                for name, entry in self.items()
            ),
        ]
        return "\n".join(lines)
