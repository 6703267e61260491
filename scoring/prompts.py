"""Prompt sets as data: scoring/prompts.json holds the templates, each `{c}` a class name.

Every score row records its prompt set's name and a short hash of its templates, so an
edited set never mixes with old scores (docs/scoring.md, "Prompt sets"). A new prompt set
is a new entry in prompts.json; it is scored when asked for (`--prompts NAME`, or `all`),
and by default only once its name is added to the file's explicit `default` list.
`PROMPT_SETS` is the registry every help text, docs table and test reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sketchlab.bundled import package_file
from sketchlab.errors import BadInput
from sketchlab.registry import Registry

PROMPTS_FILE = package_file("scoring", "prompts.json")
ALL = "all"
"""`--prompts all`: every registered set, the default ones and the rest."""


@dataclass(frozen=True)
class PromptSet:
    """A named list of templates with a `{c}` placeholder for the class name."""

    name: str
    templates: tuple[str, ...]
    description: str = ""

    @property
    def hash(self) -> str:
        """First 12 hex digits of the sha256 of the templates as JSON; changes with any edit."""
        return text_hash(self.templates)


def text_hash(texts: Iterable[str]) -> str:
    """Stable short hash of a list of strings (order matters)."""
    return hashlib.sha256(json.dumps(list(texts)).encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=4)
def _file(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        if not isinstance(data["prompt_sets"], dict) or not isinstance(data["default"], list):
            raise TypeError("'prompt_sets' must be an object and 'default' a list")
        return data
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadInput(
            f"{path} is not a prompts file: a JSON object with 'default', 'prompt_sets' and "
            f"'distractors' ({error})."
        ) from error


def read_prompt_sets(path: Path) -> tuple[dict[str, PromptSet], tuple[str, ...]]:
    """prompts.json -> (every prompt set by name, the default sets' names); BadInput naming
    the file and the set for a set without templates or a template without `{c}`."""
    data = _file(path)
    sets = {}
    for name, entry in data["prompt_sets"].items():
        templates = entry.get("templates") if isinstance(entry, dict) else None
        if not templates or not all(isinstance(t, str) and "{c}" in t for t in templates):
            raise BadInput(
                f"{path}: prompt set {name!r}, field templates: it must be a non-empty list of "
                "texts, each with {c} where the class name goes."
            )
        sets[name] = PromptSet(name, tuple(templates), entry.get("description", ""))
    if ALL in sets:
        raise BadInput(f"{path}: a prompt set cannot be called {ALL!r} (--prompts all means all).")
    return sets, tuple(data["default"])


PROMPT_SETS: Registry[PromptSet] = Registry(
    "prompt set", "--prompts", source=PROMPTS_FILE, read=read_prompt_sets
)


def load_prompt_sets(names: Sequence[str] | None = None) -> list[PromptSet]:
    """The registered prompt sets called `names` (None: the default sets; 'all': every set),
    in the order asked, without duplicates."""
    wanted: list[str] = []
    for name in PROMPT_SETS.defaults if names is None else names:
        for item in PROMPT_SETS if name == ALL else [name]:
            if item not in PROMPT_SETS:
                raise BadInput(
                    f"--prompts {item!r} is not known; use {PROMPT_SETS.words()}, or {ALL}."
                )
            if item not in wanted:
                wanted.append(item)
    return [PROMPT_SETS[name] for name in wanted]


def default_distractors() -> list[str]:
    """Whole prompts ("random scribbles.") used as extra pseudo-classes for the "none" analogue."""
    return list(_file(PROMPT_SETS.source)["distractors"])


def fill_template(template: str, class_name: str) -> str:
    """'a photo of a {c}.' -> 'a photo of a teddy bear.' (underscores in class names become
    spaces)."""
    return template.replace("{c}", class_name.replace("_", " "))
