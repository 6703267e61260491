"""The researcher's codes for typed names: the coding sheet `study export` writes, and `study
code coded.csv`, which reads it back into the database.

The sheet has one row per distinct answer (normalised: naming_match.py) that a person should
look at: every unmatched answer, every fuzzy guess of the matcher, and every answer already
coded (so that the sheet read back again changes nothing). Its `code` column is filled with
a class (the answer names it), `none` (it names none of the classes: wrong), or left empty
(not coded yet). Reading it back is idempotent and never overwrites silently: a code equal to
what is stored changes nothing, a code for an unmatched answer or against a fuzzy guess is
applied and listed, and a code that differs from an earlier code of the researcher is
refused (nothing is changed) unless `--replace` is given, and then listed too. Coded rows get
`naming_match` = coded, `response` = the class (or, for `none`, the normalised answer) and
`correct` recomputed against the trial's right answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sketchlab.contracts import NONE
from sketchlab.errors import BadInput
from sketchlab.files import atomic_path
from study.trial_types.naming_match import CODED, FUZZY, UNMATCHED, normalise

SHEET_COLUMNS = ("answer", "status", "matched", "trials", "typed", "sketch_classes", "code")
"""The coding sheet: the normalised answer, why it is on the sheet (unmatched, fuzzy or
coded), the class it is matched to now (empty: none), how many trials gave it, its typed
spellings, the classes of the sketches it was given to, and the code to fill in."""
REVIEWED = (UNMATCHED, FUZZY, CODED)


def _reviewed(responses: pd.DataFrame) -> pd.DataFrame:
    if "naming_match" not in responses.columns:
        return responses.iloc[0:0]
    rows = responses[responses["naming_match"].isin(REVIEWED)].copy()
    rows["answer"] = rows["typed_response"].astype(str).map(normalise)
    return rows


def coding_sheet(responses: pd.DataFrame, options: list[str]) -> pd.DataFrame:
    """The sheet (SHEET_COLUMNS) of the responses table's typed answers to review."""
    rows = _reviewed(responses)
    sheet = []
    for answer, group in rows.groupby("answer", sort=True):
        stored = {_code_of(row, options) for _, row in group.iterrows()}
        statuses = set(group["naming_match"])
        status = next(s for s in (UNMATCHED, FUZZY, CODED) if s in statuses)
        current = next(iter(stored)) if len(stored) == 1 else ""
        classes = Counter(group["true_class"].astype(str))
        sheet.append(
            {
                "answer": answer,
                "status": status,
                "matched": current,
                "trials": len(group),
                "typed": " / ".join(list(dict.fromkeys(group["typed_response"].astype(str)))[:5]),
                "sketch_classes": "; ".join(f"{c} ×{n}" for c, n in classes.most_common()),
                "code": current if status != UNMATCHED else "",
            }
        )
    return pd.DataFrame(sheet, columns=list(SHEET_COLUMNS))


def _code_of(row, options: list[str]) -> str:
    if row["naming_match"] == UNMATCHED:
        return ""
    return row["response"] if row["response"] in options else NONE


def write_coding_sheet(responses: pd.DataFrame, out: Path, options: list[str]) -> Path:
    """The coding sheet written atomically to `out`."""
    with atomic_path(out) as tmp:
        coding_sheet(responses, options).to_csv(tmp, index=False)
    return out


def read_codes(path: Path, options: list[str]) -> dict[str, str]:
    """answer -> code from a filled-in coding sheet (rows without a code are skipped);
    BadInput naming the file, row and field on anything else."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: the coding sheet does not exist")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot be read as a coding sheet ({error})") from None
    for column in ("answer", "code"):
        if column not in table.columns:
            raise BadInput(
                f"{path}: missing column '{column}' (the coding sheet `study export` writes "
                "has answer and code)"
            )
    codes: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for number, (answer, code) in enumerate(
        zip(table["answer"], table["code"], strict=True), start=2
    ):
        answer, code = normalise(answer), code.strip()
        if not answer:
            raise BadInput(f"{path} row {number}: field 'answer' is empty")
        if not code:
            continue
        if code.lower() == NONE:
            code = NONE
        elif code not in options:
            raise BadInput(
                f"{path} row {number}: field 'code' {code!r} is neither one of the options "
                f"({', '.join(options)}) nor 'none' (names none of them)"
            )
        if answer in codes and codes[answer] != code:
            raise BadInput(
                f"{path} row {number}: field 'code' codes answer {answer!r} as {code!r}, but row "
                f"{first_row[answer]} codes it as {codes[answer]!r}"
            )
        codes.setdefault(answer, code)
        first_row.setdefault(answer, number)
    return codes


@dataclass(frozen=True)
class Change:
    """One responses row to recode: its key, the values it must still have, the new values."""

    participant_id: str
    trial_index: int
    expected: dict
    values: dict


@dataclass
class CodingPlan:
    """What a coding sheet does to the responses: the row changes, and in words per answer."""

    changes: list[Change] = field(default_factory=list)
    coded: dict[str, int] = field(default_factory=dict)
    """answer -> trials newly coded (they were unmatched)."""
    regraded: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """answer -> (the matcher's guess, the code, trials): fuzzy guesses the code changes."""
    replaced: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """answer -> (earlier code, new code, trials): the researcher's earlier codes changed."""
    unchanged: list[str] = field(default_factory=list)
    """Answers whose rows already had this code."""

    def summary(self) -> str:
        trials = sum(self.coded.values())
        parts = [f"coded {len(self.coded)} answer{'s' if len(self.coded) != 1 else ''} "
                 f"({trials} trial{'s' if trials != 1 else ''})"]  # fmt: skip
        for label, changed in (("changed the matcher's guess for", self.regraded),
                               ("replaced earlier codes of", self.replaced)):  # fmt: skip
            if changed:
                listed = "; ".join(
                    f"{answer!r}: {old} -> {new} ({n} trial{'s' if n != 1 else ''})"
                    for answer, (old, new, n) in changed.items()
                )
                parts.append(f"{label} {len(changed)} ({listed})")
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already had these codes (unchanged)")
        return "; ".join(parts)


def plan_codes(
    responses: pd.DataFrame,
    codes: dict[str, str],
    right_answer,
    options: list[str],
    *,
    replace: bool,
    source: Path,
) -> CodingPlan:
    """The changes `codes` make to the stored responses. `right_answer(row)` is the trial's
    right answer (its class, or an instructional check's asked-for option). A code that
    differs from an earlier code of the researcher is BadInput unless `replace`; an answer
    that is not on the sheet is BadInput."""
    rows = _reviewed(responses)
    known = set(rows["answer"])
    unknown = [answer for answer in codes if answer not in known]
    if unknown:
        raise BadInput(
            f"{source}: answer {unknown[0]!r} is not a typed answer of this study that needs a "
            "code (the coding sheet of `study export` lists them); nothing was changed"
        )
    plan = CodingPlan()
    for answer, group in rows.groupby("answer", sort=True):
        code = codes.get(answer)
        if code is None:
            continue
        changed = []
        for _, row in group.iterrows():
            stored = _code_of(row, options)
            if stored == code:
                continue
            if row["naming_match"] == CODED and not replace:
                raise BadInput(
                    f"{source}: answer {answer!r} was coded {stored!r} before, the sheet says "
                    f"{code!r}; pass --replace to change earlier codes (nothing was changed)"
                )
            response = code if code != NONE else answer[:64]
            changed.append(row)
            plan.changes.append(
                Change(
                    row["participant_id"],
                    int(row["trial_index"]),
                    {"naming_match": row["naming_match"], "response": row["response"]},
                    {
                        "naming_match": CODED,
                        "response": response,
                        "correct": int(response == right_answer(row)),
                        "is_none": int(response == NONE),
                    },
                )
            )
        if not changed:
            plan.unchanged.append(answer)
            continue
        kinds = Counter(row["naming_match"] for row in changed)
        if kinds[UNMATCHED]:
            plan.coded[answer] = kinds[UNMATCHED]
        for kind, record in ((FUZZY, plan.regraded), (CODED, plan.replaced)):
            if kinds[kind]:
                earlier = next(_code_of(r, options) for r in changed if r["naming_match"] == kind)
                record[answer] = (earlier, code, kinds[kind])
    return plan


def apply_codes(config, storage, sheet: Path, *, replace: bool = False) -> str:
    """Read `sheet` (a filled-in coding sheet) and apply its codes to `storage`'s responses
    in one transaction (module docstring); returns what changed, in words. BadInput (nothing
    changed) on a bad sheet, an unknown answer, or an earlier code it would change without
    `replace`."""
    from study.design import trials_for

    codes = read_codes(sheet, list(config.options))
    responses = storage.responses_frame()
    lists: dict[tuple, list] = {}

    def right_answer(row) -> str:
        key = (row["participant_id"], row["condition"], int(row["list_id"]))
        if key not in lists:
            lists[key] = trials_for(config, *key)
        return lists[key][int(row["trial_index"])].correct_response

    plan = plan_codes(
        responses, codes, right_answer, list(config.options), replace=replace, source=sheet
    )
    storage.update_responses(plan.changes)
    return plan.summary()
