"""The data contracts: the one home of every rule and column list the packages share.

The files flow images.csv -> stimuli.csv (+ svg/, png/) -> study.yaml -> responses ->
scores.csv -> report/. Every reader and validator in `sketchgen`, `study`, `analysis` and
`scoring` takes its rules from here, so whatever `generate` accepts, `study check`,
`analyze` and `score` accept too. The columns of each file are documented in the doc of the
step that writes it (docs/generation.md, docs/study.md, docs/analysis.md, docs/scoring.md).

Two kinds of names:

- **ids** (image, stimulus, study, participant ids, completion codes) reach file names,
  URLs and database keys, so they stay plain: 1-64 of A-Z a-z 0-9 _ - (`is_valid_id`).
  `sketchlab images` derives image ids from file names with `slug_ids`.
- **class names** are display text (button labels, report headings): any printable Unicode
  up to 64 characters without markup characters or the option separator `|`
  (`class_name_problem`), always HTML-escaped where shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

CANVAS = 224
"""Side of the square canvas every sketch is optimised and stored on, in pixels."""

# --- ids ----------------------------------------------------------------------------------

MAX_ID_LENGTH = 64
ID_CHARACTERS = "A-Z a-z 0-9 _ -"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

MAX_STROKES = 1024
"""The largest stroke count a level may have."""


def is_valid_id(value: object) -> bool:
    """True for a str of 1-64 of A-Z a-z 0-9 _ - (a full match: no trailing newline)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def id_problem(value: object) -> str | None:
    """Why `value` is not a valid id (a phrase to follow the field name), or None."""
    if is_valid_id(value):
        return None
    return f"{value!r} must be 1-{MAX_ID_LENGTH} of {ID_CHARACTERS}"


def stimulus_id(image_id: str, n_strokes: int) -> str:
    """The id of an image's sketch at one level, e.g. `duck_4strokes`."""
    return f"{image_id}_{n_strokes}strokes"


MAX_IMAGE_ID_LENGTH = MAX_ID_LENGTH - len(stimulus_id("", MAX_STROKES))
"""Image ids leave room for the longest stimulus-id suffix (`_1024strokes`)."""


def image_id_problem(value: object) -> str | None:
    """Why `value` cannot be an image id (its stimulus ids must be valid ids too), or None."""
    if not is_valid_id(value):
        return f"{value!r} must be 1-{MAX_IMAGE_ID_LENGTH} of {ID_CHARACTERS}"
    if len(value) > MAX_IMAGE_ID_LENGTH:
        return (
            f"{value!r} is {len(value)} characters; at most {MAX_IMAGE_ID_LENGTH}, so that its "
            f"stimulus ids ({stimulus_id(value, MAX_STROKES)!r}) stay within {MAX_ID_LENGTH}"
        )
    return None


def slug_ids(names: Iterable[str], max_length: int = MAX_IMAGE_ID_LENGTH) -> list[str]:
    """Valid, distinct ids for `names` (e.g. file names without extension), in order.

    Accents are transliterated to ASCII ("Café" -> "Cafe"), every other character outside
    A-Z a-z 0-9 _ - becomes "_" ("Mona.Lisa" -> "Mona_Lisa", "Tree One" -> "Tree_One"), and
    a name that would repeat an earlier id gets a numeric suffix ("Tree_One_2").
    """
    taken: set[str] = set()
    ids = []
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = re.sub(r"[^A-Za-z0-9_-]", "_", ascii_name).strip("_") or "image"
        base = base[:max_length]
        candidate, number = base, 1
        while candidate.lower() in taken:  # case-insensitive: file systems often are
            number += 1
            suffix = f"_{number}"
            candidate = base[: max_length - len(suffix)] + suffix
        taken.add(candidate.lower())
        ids.append(candidate)
    return ids


# --- class names --------------------------------------------------------------------------

MAX_CLASS_LENGTH = 64
MARKUP_CHARACTERS = "<>"
OPTION_SEPARATOR = "|"
"""Separates the buttons in responses.options_shown, so no class name may contain it."""


def class_name_problem(name: object) -> str | None:
    """Why `name` cannot be a class name (a phrase naming the value), or None.

    Allowed: 1-64 printable Unicode characters (letters with accents, spaces, dots, digits,
    apostrophes...), no leading or trailing space, none of < > |, and not a reserved answer.
    """
    if not isinstance(name, str) or not name:
        return f"{name!r} is not a class name (it is empty)"
    if len(name) > MAX_CLASS_LENGTH:
        return f"class name {name!r} is longer than {MAX_CLASS_LENGTH} characters"
    if name != name.strip():
        return f"class name {name!r} starts or ends with a space"
    if not name.isprintable():
        return f"class name {name!r} contains a control or non-printable character"
    bad = sorted(set(name) & set(MARKUP_CHARACTERS + OPTION_SEPARATOR))
    if bad:
        return f"class name {name!r} contains {' '.join(bad)} (markup or the option separator)"
    if name.lower() in RESERVED_ANSWERS:
        return f"class name {name!r} is reserved: it is the answer {name.lower()!r} in responses"
    return None


# --- answers, conditions, trial types -----------------------------------------------------

NONE = "none"
"""The response (and option value) of the "None of these" button."""
TIMEOUT = "timeout"
"""The response stored when a trial's time limit ran out before an answer."""
RESERVED_ANSWERS = (NONE, TIMEOUT)

CORRECT, WRONG = "correct", "wrong"
ANSWER_CATEGORIES = (CORRECT, WRONG, NONE, TIMEOUT)
"""What a trial's answer was, for the analysis: the right option, another class, "none", or
no answer in time. A timeout is neither wrong nor a false alarm: it is not an answer."""

SIMULATED_PREFIX = "sim-"
"""Participant ids the simulators write start with this; the report reads it as 'simulated'."""

WITHOUT_NONE = "without_none"
WITH_NONE = "with_none"
CONDITIONS = (WITHOUT_NONE, WITH_NONE)
"""Between-subjects conditions, forced choice first (the order of tables and figures)."""

PRACTICE, ATTENTION, FOIL, TEST = "practice", "attention", "foil", "test"
"""The built-in trial types' names (`responses.trial_type`): practice (with feedback),
attention checks, foils (no correct class shown: "none" is right) and test trials (the only
ones counted towards forced-choice accuracy). Every trial type, these included, is a module
in the study's trial-type registry (`study.trial_types.TRIAL_TYPES`), which is the list."""

COMPLETED, IN_PROGRESS, TIMED_OUT, FAILED_ATTENTION = SESSION_STATUSES = (
    "completed", "in_progress", "timed_out", "failed_attention",
)  # fmt: skip
"""participants.status of someone who consented: finished; still answering; left (abandoned
for `abandon_after_minutes`, or too many timeouts in a row); stopped by failed attention checks."""
DECLINED = "declined"
"""participants.status of someone who did not consent (no trials)."""
PARTICIPANT_STATUSES = (*SESSION_STATUSES, DECLINED)
STUDY_FULL = "study_full"
"""How the study ends for a newcomer when every cell is full (nothing about them is stored)."""
OUTCOMES = (COMPLETED, FAILED_ATTENTION, TIMED_OUT, DECLINED, STUDY_FULL)
"""How the study can end for a participant: study.yaml's `outcomes` give each its page, its
completion code and its redirect."""

# --- columns ------------------------------------------------------------------------------

IMAGES_REQUIRED = ("image_id", "class", "path")
PHOTO_SIZE_COLUMNS = ("width", "height", "orientation")
"""The photo as read: width x height upright, in pixels, and its file's EXIF orientation
(1 = stored upright, 6 = a phone's portrait shot stored on its side; 1-8 as in EXIF)."""
IMAGES_COLUMNS = (*IMAGES_REQUIRED, "mask_path", "file_name", *PHOTO_SIZE_COLUMNS)
"""images.csv; `mask_path`, `file_name` (the photo's original file name) and the
PHOTO_SIZE_COLUMNS (all written by `sketchlab images`) are optional: readers fill the last
from the file and refuse a CSV whose values no longer match it."""

STIMULI_COLUMNS = (
    "stimulus_id", "image_id", "class", "n_strokes", "seed", "method", "svg_path", "png_path",
    "final_loss", "best_iteration", "iterations", "loss_model", "preset", "seconds", "device",
)  # fmt: skip
"""stimuli.csv as `sketchlab generate` writes it, one row per sketch."""
STIMULI_REQUIRED = ("stimulus_id", "image_id", "class", "n_strokes", "png_path")
"""The columns every reader of stimuli.csv needs (a hand-made one may have only these)."""


@dataclass(frozen=True)
class ResponseColumn:
    """One column of the responses table: its name, its type (`integer`, `text`, or `string`
    of at most `length` characters), whether every row has a value (`required`; a column
    added after the first release never is, so older tables can gain it), and what it holds.
    The database table (study/storage.py), `study export` and the analysis's reader all take
    the columns from these declarations."""

    name: str
    type: Literal["integer", "string", "text"]
    length: int | None = None
    required: bool = False
    doc: str = ""
    minimum: int = 0
    """The smallest value an integer column may hold."""


def _column(name: str, type_: str, length: int | None = None, doc: str = "") -> ResponseColumn:
    return ResponseColumn(name, type_, length, required=True, doc=doc)


RESPONSE_SCHEMA = (
    _column("participant_id", "string", 64),
    _column("study_id", "string", 64),
    _column("session_id", "string", 64),
    _column("condition", "string", 16),
    _column("list_id", "integer"),
    _column("trial_index", "integer"),
    _column("trial_type", "string", 16),
    _column("stimulus_id", "string", 64),
    _column("image_id", "string", 128),
    _column("true_class", "string", 64),
    _column("n_strokes", "integer"),
    _column("options_shown", "text"),
    _column("response", "string", 64),
    _column("correct", "integer"),
    _column("is_none", "integer"),
    _column("rt_ms", "integer"),
    _column("started_at", "string", 24),
    _column("answered_at", "string", 24),
    ResponseColumn("too_fast", "integer", doc="1 when rt_ms is under the study's too-fast time"),
    ResponseColumn("interrupted_ms", "integer", doc="connection lost while on screen, ms"),
    ResponseColumn("save_failures", "integer", doc="failed attempts to store the answer"),
)
"""The responses columns every trial has, in order, with their types. Trial types add
columns of their own after these (`study.trial_types`, each type's `columns`)."""
RESPONSE_COLUMNS = tuple(column.name for column in RESPONSE_SCHEMA)
"""The responses long table, one row per trial, in this order (`study export` writes it,
then the registered trial types' columns).
Columns added after the first release are appended: `too_fast` is 1 when rt_ms is under the
study's too-fast time (study/timing.py); `interrupted_ms` is how long the participant's
connection was lost while the trial was on screen (the trial was then shown afresh, and rt_ms
runs from that; 0: never); `save_failures` is how often storing the answer failed before it
was stored (the participant saw the error page and sent it again; rt_ms still runs to their
click). Rows from older versions have them empty."""
PARTICIPANT_COLUMNS = (
    "participant_id", "study_id", "session_id", "condition", "list_id", "status",
    "consent_version", "consented_at", "instructions_done_at", "started_at", "completed_at",
    "last_seen_at", "attention_failures", "n_answered", "duration_s", "prolific_study_id",
    "screen_width", "screen_height", "viewport_width", "viewport_height",
)  # fmt: skip
"""`<responses>.participants.csv`, one row per participant (`study export` writes it);
`prolific_study_id` is Prolific's STUDY_ID (a pilot and the main run apart); the last four
are the CSS pixels the participant's browser reported (empty if it never did)."""
DEVICE_COLUMNS = PARTICIPANT_COLUMNS[-4:]
REVIEW_COLUMNS = (
    "participant_id", "prolific_study_id", "session_id", "status", "attention",
    "attention_failures", "n_answered", "duration_s", "flags", "action",
)  # fmt: skip
"""`study export --participants` and the admin page: one row per participant for approving
or rejecting on Prolific (`action`: approve, review, reject, return or wait)."""
RESPONSE_REQUIRED = (
    "participant_id", "condition", "trial_type", "true_class", "n_strokes", "response",
    "correct",
)  # fmt: skip
"""The columns the analysis cannot do without; the others switch on extra analyses."""

SCORE_REQUIRED = (
    "stimulus_id", "class", "n_strokes", "model", "pretrained", "prompt_set", "correct_top1",
)  # fmt: skip
"""The columns of scores.csv the report reads (`sketchlab score` writes many more)."""
SCORE_CARRIED_COLUMNS = (
    "stimulus_id", "image_id", "class", "n_strokes", "kind", "seed", "method", "loss_model",
    "png_path", "photo_path",
)  # fmt: skip
"""Columns of the scored images (stimuli.csv's, and `kind`/`photo_path`) copied into every
score row (those present), so scores join to responses on their own."""
SKETCH, PHOTO = SCORE_KINDS = ("sketch", "photo")
"""scores.csv's `kind`: a sketch of stimuli.csv, or (`score --photos images.csv`) the photo a
sketch was drawn from, with `n_strokes` PHOTO_STROKES, no stimulus_id and its `photo_path`.
Tables without the column hold sketches only."""
PHOTO_STROKES = 0
SCORE_SERIES = ("model", "pretrained", "prompt_set")
"""The columns that name one scorer: a model, its weights and a prompt set."""
