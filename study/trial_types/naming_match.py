"""Matching a typed name to a class: case, spaces and punctuation, an article, English plurals,
the study's synonyms, then small typos (rapidfuzz's optimal-string-alignment distance, so a
swapped pair of letters is one typo). An answer that matches no class, or two classes equally
well, is left unmatched for the researcher to code (`study code`).

Why these rules: name agreement studies (Snodgrass & Vanderwart 1980 and after) score a name
as right when it is the class's name or an accepted synonym, whatever its case, number or
spelling slips; anything else needs a person. Typos are allowed only where they cannot turn
one short word into another: none in names of up to 3 letters ("cat" / "car"), one up to 6,
two from 7 ("bycicle").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz.distance import OSA

EXACT, SYNONYM, FUZZY, UNMATCHED, CODED = MATCHES = (
    "exact", "synonym", "fuzzy", "unmatched", "coded",
)  # fmt: skip
"""How a typed answer was matched (`naming_match`): the class's own name, a synonym, within a
typo or two of either, not at all, or by the researcher's code (`study code`)."""

ARTICLES = ("a", "an", "the", "some")
IRREGULAR_PLURALS = {
    "mice": "mouse", "geese": "goose", "people": "person", "children": "child", "men": "man",
    "women": "woman", "feet": "foot", "teeth": "tooth", "oxen": "ox", "dice": "die",
}  # fmt: skip


def normalise(text: str) -> str:
    """Lower case (Unicode case folding), punctuation and hyphens as spaces, single spaces,
    no leading article: "  The Ice-Cream! " -> "ice cream"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    words = re.sub(r"[^\w\s']|_", " ", text).replace("'", "").split()
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(words)


def singular_forms(phrase: str) -> set[str]:
    """`phrase` and what its last word would be as a singular ("horses" -> horse, horses,
    horse's stem "hors" is among them too: only exact comparisons follow)."""
    *head, last = phrase.split(" ") if phrase else [""]
    forms = {last}
    if last in IRREGULAR_PLURALS:
        forms.add(IRREGULAR_PLURALS[last])
    if last.endswith("ies") and len(last) > 4:
        forms.add(last[:-3] + "y")
    if last.endswith("ves") and len(last) > 4:
        forms |= {last[:-3] + "f", last[:-3] + "fe"}
    if last.endswith("es") and len(last) > 3:
        forms.add(last[:-2])
    if last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 2:
        forms.add(last[:-1])
    return {" ".join([*head, form]) for form in forms}


def typos_allowed(name: str) -> int:
    """Typos tolerated in an answer to `name` (module docstring)."""
    return 0 if len(name) <= 3 else 1 if len(name) <= 6 else 2


@dataclass(frozen=True)
class Match:
    """A typed answer, matched: the class (None: unmatched), how, and the answer normalised."""

    class_name: str | None
    kind: str
    answer: str


class NameMatcher:
    """The classes' names and synonyms, normalised, and the rules of the module docstring."""

    def __init__(self, classes: Iterable[str], synonyms: Mapping[str, Iterable[str]]):
        self.names: dict[str, tuple[str, str]] = {}  # normalised name -> (class, kind)
        self.conflicts: list[tuple[str, str, str]] = []
        """(synonym, its class, the other class it already names): no answer could tell."""
        for name in classes:
            self.names[normalise(name)] = (name, EXACT)
        for name, others in synonyms.items():
            for other in others:
                known = self.names.setdefault(normalise(other), (name, SYNONYM))
                if known[0] != name:
                    self.conflicts.append((other, name, known[0]))

    def match(self, typed: str) -> Match:
        answer = normalise(typed)
        forms = singular_forms(answer)
        for kind in (EXACT, SYNONYM):
            found = {
                self.names[f][0] for f in forms if f in self.names and self.names[f][1] == kind
            }
            if len(found) == 1:
                return Match(found.pop(), kind, answer)
        closest: dict[str, int] = {}
        for name, (class_name, _) in self.names.items():
            allowed = typos_allowed(name)
            if not allowed:
                continue
            distance = min(OSA.distance(form, name, score_cutoff=allowed + 1) for form in forms)
            if distance <= allowed:
                closest[class_name] = min(distance, closest.get(class_name, distance))
        if closest:
            best = min(closest.values())
            winners = [name for name, distance in closest.items() if distance == best]
            if len(winners) == 1:
                return Match(winners[0], FUZZY, answer)
        return Match(None, UNMATCHED, answer)
