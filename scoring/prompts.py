"""Prompt sets as data: scoring/prompts.json holds the templates, each `{c}` a class name.

Every score row records its prompt set's name and a short hash of its templates, so an
edited set never mixes with old scores (docs/scoring.md, "Prompt sets"). A new prompt set
is a new entry in prompts.json.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sketchlab.bundled import package_file
from sketchlab.errors import BadInput

PROMPTS_FILE = package_file("scoring", "prompts.json")


@dataclass(frozen=True)
class PromptSet:
    """A named list of templates with a `{c}` placeholder for the class name."""

    name: str
    templates: tuple[str, ...]

    @property
    def hash(self) -> str:
        """First 12 hex digits of the sha256 of the templates as JSON; changes with any edit."""
        return text_hash(self.templates)


def text_hash(texts: Iterable[str]) -> str:
    """Stable short hash of a list of strings (order matters)."""
    return hashlib.sha256(json.dumps(list(texts)).encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1)
def _prompt_data() -> dict:
    return json.loads(PROMPTS_FILE.read_text())


def prompt_set_names() -> list[str]:
    """Names of the bundled prompt sets, in file order (photo, sketch, imagenet80)."""
    return list(_prompt_data()["prompt_sets"])


def load_prompt_sets(names: Sequence[str] = ("all",)) -> list[PromptSet]:
    """The bundled prompt sets called `names` ('all' = every set), without duplicates."""
    sets = _prompt_data()["prompt_sets"]
    wanted: list[str] = []
    for name in names:
        for item in prompt_set_names() if name == "all" else [name]:
            if item not in sets:
                raise BadInput(
                    f"unknown prompt set {item!r} in --prompts; choose from {', '.join(sets)} "
                    "or 'all'"
                )
            if item not in wanted:
                wanted.append(item)
    return [PromptSet(name, tuple(sets[name])) for name in wanted]


def default_distractors() -> list[str]:
    """Whole prompts ("random scribbles.") used as extra pseudo-classes for the "none" analogue."""
    return list(_prompt_data()["distractors"])


def fill_template(template: str, class_name: str) -> str:
    """'a photo of a {c}.' -> 'a photo of a teddy bear.' (underscores in class names become
    spaces)."""
    return template.replace("{c}", class_name.replace("_", " "))
