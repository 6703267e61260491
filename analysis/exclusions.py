"""Exclusion rules, applied in a fixed order and reported with counts.

Pre-registered criteria (docs/analysis.md "Exclusions"), each switchable: duplicate
participant ids (keep the first complete session), failed attention checks, incomplete
sessions, sessions with too many timeouts, participants whose median answer time is
implausibly fast, timed-out trials (no answer: neither wrong nor a false alarm), single
too-fast answers and, last, answers to interrupted trials. Which rows each rule looks at comes
from the trial types' roles (`study.trial_types`): the test answers a rule counts are the
TARGET rows (test trials, naming trials), foils are FOIL rows, and a failed attention check is
a wrong answer to a type that `fails_when_wrong` (`study.trial_types.failed`). Each rule is
one `Rule` entry in
`RULES` (its name in exclusions.csv and what it excludes, in words, which the report and a
preregistration render from here) and one block in `_exclude_sessions` (session rules) or
`_exclude_answers` (answer rules), which `apply_exclusions` runs in turn. Rules run in that
order; each row of the exclusions table counts what that rule removed among what the earlier
rules left, so the counts add up. A rule the data cannot support (no `rt_ms`, no
`session_id`, no attention trials) says "not applied" and
has no counts, rather than claiming it excluded nobody.

Nothing is emptied silently: `large_exclusions` names every loss of more than
`MAX_EXCLUDED_SHARE` of the participants, or of a whole condition or stroke level, and
`analyze` stops on it unless told `--allow-exclusions`.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sketchlab.contracts import COMPLETED, TIMEOUT
from sketchlab.errors import BadInput
from study.timing import TimingPolicy
from study.trial_type import CHECK, FOIL, TARGET
from study.trial_types import failed, roles

MAX_EXCLUDED_SHARE = 0.10
"""Excluding more than this share of the participants needs `--allow-exclusions`."""


@dataclass(frozen=True)
class Rule:
    """One exclusion rule: its name (exclusions.csv) and what it excludes, and why."""

    name: str
    unit: str
    """'session' (the whole session goes) or 'answer' (single test answers go)."""
    description: str


DUPLICATE = Rule(
    "duplicate participant id", "session",
    "A participant id seen in more than one session keeps only its first complete session "
    "(by start time), so nobody is counted twice or gets a second try.",
)  # fmt: skip
ATTENTION_CHECKS = Rule(
    "failed attention checks", "session",
    "Sessions with more wrong attention-check answers than allowed (study.yaml's "
    "attention.max_failures) are excluded: their answers may not reflect the sketches.",
)  # fmt: skip
INCOMPLETE = Rule(
    "incomplete session", "session",
    "Sessions that did not finish: the participants table's status when there is one, "
    "else fewer test trials than the design gives a session (study.yaml), or, without "
    "either, than most sessions have (the modal length; never the longest, so one stray "
    "extra row cannot make every other session incomplete).",
)  # fmt: skip
TOO_MANY_TIMEOUTS = Rule(
    "too many timeouts (participant)", "session",
    "Sessions with more timed-out test trials than allowed (off unless set).",
)  # fmt: skip
TOO_FAST_PARTICIPANT = Rule(
    "too fast (participant)", "session",
    "Sessions whose median test answer time is below the floor: too fast to have looked.",
)  # fmt: skip
TIMED_OUT = Rule(
    "timed out (answer)", "answer",
    "A test or foil trial whose time limit ran out is no answer: neither wrong nor, on a "
    "foil, a false alarm, so it leaves every accuracy and rate (always on).",
)  # fmt: skip
TOO_FAST_ANSWER = Rule(
    "too fast (answer)", "answer",
    "Single test answers faster than the floor: too fast to have seen the sketch.",
)  # fmt: skip
INTERRUPTED = Rule(
    "interrupted (answer)", "answer",
    "A test or foil answer given after the participant's connection dropped while the sketch "
    "was on screen (the trial was shown again, fresh) is left out: its time is not one look.",
)  # fmt: skip
RULES = (DUPLICATE, ATTENTION_CHECKS, INCOMPLETE, TOO_MANY_TIMEOUTS, TOO_FAST_PARTICIPANT,
         TIMED_OUT, TOO_FAST_ANSWER, INTERRUPTED)  # fmt: skip
"""Every rule, in the order `apply_exclusions` applies them."""


@dataclass(frozen=True)
class ExclusionRules:
    """Which exclusions to apply. `None` switches a threshold rule off."""

    duplicates: bool = True
    """Keep only the first complete session of a participant id seen more than once."""
    max_attention_errors: int | None = 0
    """Exclude sessions with more wrong attention-check answers than this."""
    incomplete: bool = True
    """Exclude sessions that did not finish (participants table status, else fewer test
    trials than `design_test_trials`, else than the modal session)."""
    design_test_trials: int | None = None
    """Test trials a complete session has by design (study.yaml's test images); None: the
    modal number of test trials among the sessions."""
    min_median_rt_ms: float | None = TimingPolicy().too_fast_ms
    """Exclude sessions whose median test-trial answer time (ms) is below this (default: the
    study's too-fast time, study/timing.py: 500 ms with the default min_answer_ms)."""
    min_rt_ms: float | None = TimingPolicy().too_fast_ms
    """Drop single test answers faster than this (ms): too fast to have seen the sketch (the
    answers the export flags `too_fast`)."""
    max_timeouts: int | None = None
    """Exclude sessions with more timed-out test trials than this (None: off)."""
    time_limit_s: float | None = None
    """The study's per-trial time limit (study.yaml `time_limit_s`), named in the table."""
    interrupted: bool = True
    """Drop test and foil answers to interrupted trials (`interrupted_ms` > 0: the
    participant's connection was lost while the sketch was on screen, so it was shown again
    and seen for longer than the answer time says)."""


@dataclass(frozen=True)
class ExclusionResult:
    trials: pd.DataFrame
    """All rows of included sessions, minus too-fast test answers."""
    table: pd.DataFrame
    """rule, setting, sessions_excluded, test_trials_excluded (one row per rule; counts
    empty where the rule was not applied)."""
    sessions_total: int
    sessions_included: int
    timed_out: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The timed-out test and foil trials of included sessions (not answers, so not in
    `trials`; the report shows them as their own answer category)."""
    participants_total: int = 0
    participants_included: int = 0
    """Participant ids with at least one included session."""
    complete_length: str = ""
    """What a complete session was judged against, in words (empty with a participants
    table or with the rule off)."""


def read_participants(path: str | Path) -> pd.DataFrame:
    """The participants table `study export` writes next to the responses (status per session)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError) as error:
        raise BadInput(f"{path}: cannot be read as a participants table ({error}).") from None
    for column in ("participant_id", "status"):
        if column not in table.columns:
            raise BadInput(f"{path}: missing column '{column}' in the participants table.")
    return table


def find_participants_table(responses_path: str | Path) -> Path | None:
    """`<name>.participants.csv` next to the responses file, as `study export` writes it."""
    responses_path = Path(responses_path)
    for candidate in (
        responses_path.with_suffix(".participants.csv"),
        responses_path.with_name(responses_path.name + ".participants.csv"),
    ):
        if candidate.is_file():
            return candidate
    return None


def complete_length(n_test: np.ndarray, design_test_trials: int | None) -> tuple[int, str]:
    """The number of test trials a complete session has, and where it comes from: the design
    when known, else the most common session length (the longer one on a tie)."""
    if design_test_trials is not None:
        return design_test_trials, f"the design's {design_test_trials} test trials (study.yaml)"
    counts = Counter(int(n) for n in n_test if n > 0) or Counter({1: 1})
    most = max(counts.values())
    modal = max(length for length, count in counts.items() if count == most)
    return modal, f"the modal {modal} test trials, as {most} of {len(n_test)} sessions do"


def _of_role(trials: pd.DataFrame, *wanted: str) -> np.ndarray:
    """Rows whose trial type has one of the `wanted` roles (study.trial_type.ROLES)."""
    kinds = [name for name, role in roles().items() if role in wanted]
    return trials["trial_type"].isin(kinds).to_numpy()


def _sessions(
    trials: pd.DataFrame, participants: pd.DataFrame | None, design_test_trials: int | None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Session code per row and one row per session with what the rules need."""
    keys = (
        ["participant_id", "session_id"] if "session_id" in trials.columns else ["participant_id"]
    )
    code = trials.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    n_sessions = int(code.max()) + 1
    position = np.arange(len(trials))
    first = np.full(n_sessions, len(trials))
    np.minimum.at(first, code, position)
    is_test = _of_role(trials, TARGET)
    failures = np.asarray(failed(trials), dtype=bool)
    timed_out = (trials["response"] == TIMEOUT).to_numpy()
    sessions = pd.DataFrame(
        {
            "participant_id": trials["participant_id"].to_numpy()[first],
            "first_row": first,
            "n_test": np.bincount(code, weights=is_test, minlength=n_sessions).astype(int),
            "attention_errors": np.bincount(code, weights=failures, minlength=n_sessions).astype(
                int
            ),
            "timeouts": np.bincount(code, weights=is_test & timed_out, minlength=n_sessions).astype(
                int
            ),
        }
    )
    if "session_id" in trials.columns:
        sessions["session_id"] = trials["session_id"].to_numpy()[first]
    sessions["start"] = _earliest_time(trials, code, n_sessions)
    if "rt_ms" in trials.columns:
        answered = is_test & ~timed_out
        test_rt = pd.Series(trials["rt_ms"].to_numpy()[answered], index=code[answered])
        sessions["median_rt_ms"] = (
            test_rt.groupby(level=0).median().reindex(range(n_sessions)).to_numpy()
        )
    else:
        sessions["median_rt_ms"] = np.nan

    if participants is not None:
        on = [k for k in keys if k in participants.columns]
        status = participants.drop_duplicates(on).set_index(on)["status"]
        index = pd.MultiIndex.from_frame(sessions[on]) if len(on) > 1 else sessions[on[0]]
        sessions["complete"] = status.reindex(index).to_numpy() == COMPLETED
    else:
        length, _ = complete_length(sessions["n_test"].to_numpy(), design_test_trials)
        sessions["complete"] = sessions["n_test"] >= length
    return code, sessions


def _earliest_time(trials: pd.DataFrame, code: np.ndarray, n_sessions: int) -> np.ndarray:
    """Earliest ISO-8601 time stamp per session (ISO strings sort as time), or None."""
    for column in ("started_at", "answered_at"):
        if column in trials.columns:
            stamps = trials[column].astype("category")
            labels = np.array(sorted(stamps.cat.categories), dtype=object)
            rank = stamps.cat.set_categories(labels).cat.codes.to_numpy().astype(np.int64)
            rank[rank < 0] = len(labels)
            earliest = np.full(n_sessions, len(labels))
            np.minimum.at(earliest, code, rank)
            return np.append(labels, None)[earliest]
    return np.full(n_sessions, None)


def apply_exclusions(
    trials: pd.DataFrame,
    rules: ExclusionRules = ExclusionRules(),
    participants: pd.DataFrame | None = None,
) -> ExclusionResult:
    """Apply `rules` in order to a validated responses table (see module docstring)."""
    code, sessions = _sessions(trials, participants, rules.design_test_trials)
    has_rt = "rt_ms" in trials.columns and bool(trials["rt_ms"].notna().any())
    rows: list[tuple] = []
    keep, judged = _exclude_sessions(trials, sessions, rules, participants, has_rt, rows)
    kept_rows, timed_out = _exclude_answers(trials, keep[code], rules, has_rt, rows)
    table = pd.DataFrame(
        rows, columns=["rule", "setting", "sessions_excluded", "test_trials_excluded"]
    ).astype({"sessions_excluded": "Int64", "test_trials_excluded": "Int64"})
    return ExclusionResult(
        trials=trials[kept_rows].reset_index(drop=True),
        table=table,
        sessions_total=len(sessions),
        sessions_included=int(keep.sum()),
        timed_out=trials[timed_out].reset_index(drop=True),
        participants_total=int(sessions["participant_id"].nunique()),
        participants_included=int(sessions.loc[keep, "participant_id"].nunique()),
        complete_length=judged,
    )


def _not_applied(rows: list[tuple], rule: Rule, why: str) -> None:
    rows.append((rule.name, f"not applied: {why}", pd.NA, pd.NA))


def _exclude_sessions(
    trials: pd.DataFrame,
    sessions: pd.DataFrame,
    rules: ExclusionRules,
    participants: pd.DataFrame | None,
    has_rt: bool,
    rows: list[tuple],
) -> tuple[np.ndarray, str]:
    """The session rules, in order, each on the sessions the ones before it kept: which
    sessions stay, and what "complete" was judged against ('' with a participants table).
    Appends one row per rule to `rows`."""
    n_test = sessions["n_test"].to_numpy()
    keep = np.ones(len(sessions), dtype=bool)

    def record(rule: Rule, setting: str, drop: np.ndarray) -> None:
        drop = drop & keep
        rows.append((rule.name, setting, int(drop.sum()), int(n_test[drop].sum())))
        keep[drop] = False

    if rules.duplicates:
        if "session_id" not in trials.columns:
            _not_applied(rows, DUPLICATE, "no session_id column to tell sessions apart")
        else:
            record(DUPLICATE, "keep the first complete session", _later_sessions(sessions))
    if rules.max_attention_errors is not None:
        if not _of_role(trials, CHECK).any():
            _not_applied(rows, ATTENTION_CHECKS, "no attention trials")
        else:
            drop = sessions["attention_errors"].to_numpy() > rules.max_attention_errors
            record(ATTENTION_CHECKS, f"more than {rules.max_attention_errors} wrong", drop)
    judged = ""
    if rules.incomplete:
        if participants is not None:
            source = "participants table status"
        else:
            judged = complete_length(n_test, rules.design_test_trials)[1]
            source = f"fewer test trials than {judged}"
        record(INCOMPLETE, source, ~sessions["complete"].to_numpy())
    if rules.max_timeouts is not None:
        drop = sessions["timeouts"].to_numpy() > rules.max_timeouts
        record(TOO_MANY_TIMEOUTS, f"more than {rules.max_timeouts}", drop)
    if rules.min_median_rt_ms is not None:
        if not has_rt:
            _not_applied(rows, TOO_FAST_PARTICIPANT, "no answer times (rt_ms)")
        else:
            drop = sessions["median_rt_ms"].to_numpy() < rules.min_median_rt_ms
            record(
                TOO_FAST_PARTICIPANT, f"median answer time < {rules.min_median_rt_ms:g} ms", drop
            )
    return keep, judged


def _later_sessions(sessions: pd.DataFrame) -> np.ndarray:
    """Every session of a participant but the first complete one (else the first)."""
    order = sessions.assign(incomplete=~sessions["complete"]).sort_values(
        ["incomplete", "start", "first_row"], na_position="last", kind="stable"
    )
    first_kept = ~order.duplicated("participant_id")
    drop = np.zeros(len(sessions), dtype=bool)
    drop[order.index[~first_kept.to_numpy()]] = True
    return drop


def _exclude_answers(
    trials: pd.DataFrame,
    kept_rows: np.ndarray,
    rules: ExclusionRules,
    has_rt: bool,
    rows: list[tuple],
) -> tuple[np.ndarray, np.ndarray]:
    """The answer rules on the kept sessions' rows, in order: (the rows that stay, the
    timed-out measured trials). Appends one row per rule to `rows`."""
    is_test = _of_role(trials, TARGET)
    measured = _of_role(trials, TARGET, FOIL)
    timed_out = kept_rows & (trials["response"] == TIMEOUT).to_numpy() & measured
    limit = f" of {rules.time_limit_s:g} s" if rules.time_limit_s else ""
    rows.append(
        (
            TIMED_OUT.name,
            f"no answer within the time limit{limit}: not an answer, so neither wrong nor a "
            "false alarm",
            0,
            int((timed_out & is_test).sum()),
        )
    )
    kept_rows = kept_rows & ~timed_out
    if rules.min_rt_ms is not None:
        if not has_rt:
            _not_applied(rows, TOO_FAST_ANSWER, "no answer times (rt_ms)")
        else:
            fast = kept_rows & is_test & (trials["rt_ms"].to_numpy() < rules.min_rt_ms)
            rows.append(
                (TOO_FAST_ANSWER.name, f"answer time < {rules.min_rt_ms:g} ms", 0, int(fast.sum()))
            )
            kept_rows &= ~fast
    if rules.interrupted:
        if "interrupted_ms" not in trials.columns:
            _not_applied(rows, INTERRUPTED, "no interrupted_ms column")
        else:
            lost = pd.to_numeric(trials["interrupted_ms"], errors="coerce").fillna(0).to_numpy()
            cut = kept_rows & measured & (lost > 0)
            setting = "connection lost while the sketch was on screen (shown again)"
            rows.append((INTERRUPTED.name, setting, 0, int((cut & is_test).sum())))
            kept_rows &= ~cut
    return kept_rows, timed_out


def large_exclusions(trials: pd.DataFrame, result: ExclusionResult) -> list[str]:
    """What the exclusions remove that `analyze` must not remove silently, one phrase each
    ("3 of 24 participants (12%, ...)", "every test answer of without_none"): more than
    MAX_EXCLUDED_SHARE of the participants, or every test answer of a condition or of a
    stroke level that the responses have."""
    found = []
    lost = result.participants_total - result.participants_included
    if lost > MAX_EXCLUDED_SHARE * result.participants_total:
        reasons = result.table.dropna(subset=["sessions_excluded"])
        reasons = reasons[reasons["sessions_excluded"] > 0]
        counts = zip(reasons["rule"], reasons["sessions_excluded"], strict=True)
        why = ", ".join(f"{rule}: {int(n)}" for rule, n in counts)
        found.append(
            f"{lost} of {result.participants_total} participants "
            f"({lost / max(result.participants_total, 1):.0%}, more than "
            f"{MAX_EXCLUDED_SHARE:.0%}; sessions by rule: {why})"
        )
    before = trials[_of_role(trials, TARGET)]
    after = result.trials[_of_role(result.trials, TARGET)]
    if len(before) and after.empty:
        return found + ["every test answer"]
    conditions = sorted(set(before["condition"]) - set(after["condition"]))
    if conditions:
        found.append(f"every test answer of {_listed(conditions)}")
    levels = sorted(set(before["n_strokes"].dropna()) - set(after["n_strokes"].dropna()))
    if levels:
        found.append(f"every test answer at {_listed([f'{int(v)}' for v in levels])} strokes")
    return found


def _listed(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]
