"""Free naming: the participant types what the sketch shows (study.yaml's
`naming: {synonyms: {cat: [kitten, kitty], ...}}` with `naming` among the `conditions`).

**How naming sits in the design: a between-subjects condition.** Participants in the `naming`
condition type a name for every sketch and never see the class buttons; the other conditions
choose as before. A person who has seen the buttons once knows the answer vocabulary, so free
naming after (or beside) forced choice would no longer be free; as its own condition it gets
the same Latin-square lists, allocation and exclusions as the others, and the analysis puts
its accuracy per level beside the forced-choice conditions' (analysis/naming_accuracy.py). Its
trials are `naming` trials (one per test image, at the list's level; no foils: they exist to
separate caution from recognition where "None of these" is offered). Practice and attention
checks stay what they are, but are typed too (an instructional check asks to type the word);
a typed check counts as failed only when the answer matched another class, since an
unmatched answer may be a name the synonyms miss.

A typed answer is stored as typed (`typed_response`) and matched (naming_match.py): `response`
is the matched class, or the normalised answer when nothing matched, and `naming_match` says
how (exact, synonym, fuzzy, unmatched, or coded by the researcher). `study export` writes a
coding sheet of the answers a person should look at (unmatched, and the fuzzy guesses), and
`study code coded.csv` reads the codes back into the database (naming_codes.py).
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sketchlab.contracts import ResponseColumn
from sketchlab.errors import BadInput
from study.trial_type import TARGET, ListContext, Placement, TrialType
from study.trial_types.naming_match import UNMATCHED, NameMatcher
from study.yaml_fields import Strict

NAMING = "naming"
"""The trial type, and the condition in which every trial is typed."""
MAX_ANSWER_LENGTH = 64
UNRELATED = ("blob", "squiggle", "lines", "shape", "scribble", "dont know", "abstract", "thing")
"""What simulated participants type when they recognise nothing."""


class NamingConfig(Strict):
    """study.yaml's `naming`: accepted `synonyms` per class, and the `question` shown."""

    synonyms: dict[str, list[str]] = {}
    question: str = "What does the sketch show? Type its name."


@lru_cache(maxsize=64)
def _matcher(classes: tuple[str, ...], synonyms: tuple[tuple[str, tuple[str, ...]], ...]):
    return NameMatcher(classes, dict(synonyms))


def matcher(config) -> NameMatcher:
    """The study's matcher (built once per study)."""
    synonyms = config.naming.synonyms if config.naming is not None else {}
    key = tuple((name, tuple(others)) for name, others in synonyms.items())
    return _matcher(tuple(config.options), key)


class Naming(TrialType):
    name = NAMING
    description = (
        "The naming condition: type what the sketch shows; matched to a class (case, plurals, "
        "synonyms, typos) or coded by the researcher. Naming accuracy."
    )
    settings = {"naming": (NamingConfig | None, None)}
    columns = (
        ResponseColumn("typed_response", "text", doc="a typed answer, as typed"),
        ResponseColumn(
            "naming_match", "string", 16, doc="exact, synonym, fuzzy, unmatched or coded"
        ),
    )
    role = TARGET
    conditions = (NAMING,)
    appears_in = (NAMING,)
    seconds = 4.0

    def enabled(self, config) -> bool:
        return config.naming is not None

    def check(self, config, path: Path) -> None:
        if (NAMING in config.conditions) != (config.naming is not None):
            raise BadInput(
                f"{path}: field 'naming' (the synonyms) and the condition 'naming' in field "
                "'conditions' go together; give both, e.g. conditions: [with_none, "
                "without_none, naming]"
                if config.naming is not None
                else f"{path}: field 'conditions' lists naming; add a 'naming' section "
                "(naming: {synonyms: {}} accepts the class names only)"
            )
        if config.naming is None:
            return
        for name, others in config.naming.synonyms.items():
            if name not in config.options:
                raise BadInput(
                    f"{path}: field 'naming.synonyms' names class {name!r}, which is not among "
                    "the options"
                )
            if any(not other.strip() or len(other) > MAX_ANSWER_LENGTH for other in others):
                raise BadInput(
                    f"{path}: field 'naming.synonyms.{name}' has an empty or over-long synonym"
                )
        conflicts = matcher(config).conflicts
        if conflicts:
            synonym, name, other = conflicts[0]
            raise BadInput(
                f"{path}: field 'naming.synonyms.{name}' lists {synonym!r}, which already names "
                f"{other!r}; an answer could not tell them apart"
            )

    def place(self, context: ListContext) -> Placement:
        return Placement(main=context.test_image_trials(NAMING))

    def adapt(self, trial):
        prompt = trial.prompt
        if trial.dictated and prompt:
            prompt = prompt.replace("select", "type")
        return replace(trial, options=(), page=NAMING, prompt=prompt)

    # --- the page and its answer ----------------------------------------------------------

    def page(self, flow, trial) -> None:
        from study.trial_page import naming_page

        naming_page(flow, trial, self)

    def how_to_answer(self, config, trial) -> str | None:
        return "Type what each sketch shows, then press Enter (or Continue)."

    def question(self, config, trial) -> str:
        return trial.prompt or config.naming.question

    def read_answer(self, config, trial, raw: object) -> dict[str, Any]:
        typed = raw.strip() if isinstance(raw, str) else ""
        if not typed or len(typed) > MAX_ANSWER_LENGTH or not typed.isprintable():
            raise BadInput(f"type the name (1-{MAX_ANSWER_LENGTH} characters)")
        found = matcher(config).match(typed)
        response = found.class_name or found.answer[:MAX_ANSWER_LENGTH] or typed
        return {"response": response, "typed_response": typed, "naming_match": found.kind}

    def unknown(self, rows):
        return np.asarray(rows.get("naming_match")) == UNMATCHED

    def shapes(self, config, trials) -> list:
        from study.layout import TypedShape

        questions = dict.fromkeys(self.question(config, t) for t in trials if t.page == NAMING)
        return [TypedShape(q, timed=config.time_limit_s is not None) for q in questions]

    # --- simulated participants and the export --------------------------------------------

    def render(self, responder, trial, meant: str) -> tuple[object, float]:
        """Typing `meant`: the class's name (sometimes capitalised or plural), a synonym, a
        typo; something unrelated when the participant recognised no class."""
        rng = responder.rng
        config = responder.config
        if meant not in config.options:
            text = UNRELATED[int(rng.integers(len(UNRELATED)))]
        else:
            synonyms = config.naming.synonyms.get(meant, []) if config.naming else []
            draw = rng.random()
            if synonyms and draw < 0.15:
                text = synonyms[int(rng.integers(len(synonyms)))]
            elif draw < 0.25:
                text = meant.capitalize() + ("s" if rng.random() < 0.5 else "")
            elif draw < 0.3 and len(meant) > 4:
                text = _typo(meant, random.Random(int(rng.integers(2**31))))
            else:
                text = meant
        return text, 1.0 + 0.18 * len(text)

    def export_files(self, config, responses, out: Path) -> list[Path]:
        from study.trial_types.naming_codes import write_coding_sheet

        if config.naming is None:
            return []
        sheet = out.with_name(f"{out.stem}.coding.csv")
        return [write_coding_sheet(responses, sheet, list(config.options))]

    def summary(self, config) -> str | None:
        if config.naming is None:
            return None
        n = sum(len(others) for others in config.naming.synonyms.values())
        return (
            f"naming: participants in the naming condition type each sketch's name (matched "
            f"with {n} synonym{'s' if n != 1 else ''}, plurals and small typos)"
        )


def _typo(word: str, rng: random.Random) -> str:
    """`word` with two neighbouring letters swapped."""
    at = rng.randrange(1, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
