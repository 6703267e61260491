"""The docs' tables of registered things (presets, methods, prompt sets, report figures,
trial types, storage backends), made from the registries.

Each table sits in its doc between `<!-- table: NAME -->` and `<!-- end table -->`.
`python -m sketchlab.doc_tables`, run in the repository's root, rewrites every table from the
registries; a test fails while any table is out of date, so a new preset, method, prompt set,
figure or trial type cannot miss the docs. The docs are not installed with the package, so the
checkout is named by the caller (the current folder here), never found from this file's place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from analysis.figures import FIGURES
from scoring.prompts import PROMPT_SETS
from sketchgen.methods import METHODS
from sketchgen.presets import PRESETS, Preset
from sketchlab.files import atomic_write
from study.storage_backends import BACKENDS
from study.trial_type import TrialType
from study.trial_types import TRIAL_TYPES


def _named(registry) -> Callable[[str, object], str]:
    return lambda name, entry: f"`{name}`" + (" (default)" if name in registry.defaults else "")


def _weights(weights: dict[str, float]) -> str:
    return ", ".join(f"{term} {weight:g}" for term, weight in weights.items()) or "—"


def _views(preset: Preset) -> str:
    return f"1 clean + {preset.augmentations} augmented" if preset.augmentations else "1 clean"


def _draws(preset: Preset) -> str:
    if not preset.augmentations:
        return "—"
    return (
        "one per iteration, shared by the batch"
        if preset.shared_augmentations
        else "own per sketch"
    )


def preset_table() -> str:
    """docs/generation.md's preset table: every field that tells presets apart."""
    return PRESETS.table(
        {
            "preset": _named(PRESETS),
            "based on": lambda name, p: f"`{p.base}`" if p.base else "—",
            "method": lambda name, p: p.method,
            "levels": lambda name, p: " ".join(map(str, p.levels)),
            "seeds": lambda name, p: " ".join(map(str, p.seeds)),
            "iterations": lambda name, p: p.iterations,
            "views per step": lambda name, p: _views(p),
            "augmentation draws": lambda name, p: _draws(p),
            "precision": lambda name, p: f"`{p.precision}`",
            "fit": lambda name, p: p.fit,
            "loss weights": lambda name, p: _weights(p.term_weights()),
            "description": lambda name, p: p.description,
        }
    )


def method_table() -> str:
    """docs/generation.md's methods table."""
    return METHODS.table(
        {
            "method": _named(METHODS),
            "terms (default weight)": lambda name, m: _weights(dict(m.term_weights)),
            "needs CLIP weights": lambda name, m: "yes" if m.uses_clip else "no",
            "sketches per batch on CPU": lambda name, m: m.cpu_batch_sketches,
            "description": lambda name, m: m.description,
        }
    )


def prompt_set_table() -> str:
    """docs/scoring.md's prompt-set table."""
    return PROMPT_SETS.table(
        {
            "prompt set": _named(PROMPT_SETS),
            "templates": lambda name, s: len(s.templates),
            "hash": lambda name, s: f"`{s.hash}`",
            "description": lambda name, s: s.description,
        }
    )


def figure_table() -> str:
    """docs/analysis.md's figure table: every figure of the report, in page order within its
    section."""
    return FIGURES.table(
        {
            "figure": lambda name, f: f"`figures/{name}.png`",
            "report section": lambda name, f: f"`{f.section}`",
            "drawn by": lambda name, f: f"`{f.draw.__module__}.{f.draw.__name__}`",
            "shows": lambda name, f: f.caption,
        }
    )


def _trial_type_role(trial_type: TrialType) -> str:
    return "follow-up question" if trial_type.follow_up else trial_type.role


def trial_type_table() -> str:
    """docs/study.md's trial-type table: every registered type, in registry order."""
    return TRIAL_TYPES.table(
        {
            "trial type": lambda name, t: f"`{name}`",
            "study.yaml": lambda name, t: ", ".join(f"`{f}`" for f in t.settings) or "—",
            "counted as": lambda name, t: _trial_type_role(t),
            "conditions": lambda name, t: ", ".join(t.appears_in) if t.appears_in else "all",
            "columns it adds": lambda name, t: ", ".join(f"`{c.name}`" for c in t.columns) or "—",
            "description": lambda name, t: t.description,
        }
    )


def storage_table() -> str:
    """docs/study.md's storage-backend table."""
    return BACKENDS.table(
        {
            "backend": _named(BACKENDS),
            "URL": lambda name, b: f"`{b.example}`",
            "use it for": lambda name, b: b.use,
        }
    )


TABLES: dict[str, tuple[str, Callable[[], str]]] = {
    "presets": ("docs/generation.md", preset_table),
    "methods": ("docs/generation.md", method_table),
    "prompt-sets": ("docs/scoring.md", prompt_set_table),
    "figures": ("docs/analysis.md", figure_table),
    "trial-types": ("docs/study.md", trial_type_table),
    "storage-backends": ("docs/study.md", storage_table),
}
"""Each table's name -> (its doc, relative to the repository, and the function that makes it)."""


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- table: {re.escape(name)} -->\n)(.*?)(<!-- end table -->)", re.S)


def _with_table(text: str, name: str, table: str, doc: Path) -> str:
    block = _block(name)
    if not block.search(text):
        raise ValueError(f"{doc} has no `<!-- table: {name} -->` ... `<!-- end table -->` block")
    return block.sub(lambda match: match[1] + table + "\n" + match[3], text)


def stale_tables(root: Path) -> list[str]:
    """The names of the tables whose doc under `root` differs from what the registries make."""
    stale = []
    for name, (doc, make) in TABLES.items():
        text = (root / doc).read_text()
        if _with_table(text, name, make(), root / doc) != text:
            stale.append(name)
    return stale


def write_tables(root: Path) -> list[str]:
    """Rewrite every stale table under `root` from the registries; returns their names."""
    stale = stale_tables(root)
    for name in stale:
        doc, make = TABLES[name]
        text = (root / doc).read_text()
        with atomic_write(root / doc) as handle:
            handle.write(_with_table(text, name, make(), root / doc))
    return stale


if __name__ == "__main__":
    if not (Path.cwd() / "docs").is_dir():
        raise SystemExit("python -m sketchlab.doc_tables: run it in the repository's root")
    written = write_tables(Path.cwd())
    print(f"rewrote {', '.join(written)}" if written else "every table is up to date")
