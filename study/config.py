"""study.yaml: the study a researcher runs, validated up front against its stimuli.

`load_study` reads the YAML, checks every field (unknown keys are errors), reads the
stimuli manifest (stimuli.csv, as written by `sketchlab generate`) and builds the
`Catalog` the design draws from. Every problem a researcher can fix raises `BadInput`
with one sentence naming the file and the field (or the CSV row and column).

Paths in the YAML resolve relative to the YAML's folder; a relative `sqlite:///` storage
URL does too, so a study folder can be moved as a whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from sketchlab.contracts import (
    COMPLETED,
    DECLINED,
    FAILED_ATTENTION,
    OUTCOMES,
    STUDY_FULL,
    TIMED_OUT,
    WITH_NONE,
    WITHOUT_NONE,
)
from sketchlab.errors import BadInput
from sketchlab.stimuli import read_stimuli
from study.layout import MAX_OPTIONS
from study.timing import DEFAULT_MIN_ANSWER_MS
from study.yaml_fields import Id, Strict, class_names

MIN_PREVIEW_TOKEN_LENGTH = 16
"""A preview token is a secret in a URL: long enough that it cannot be guessed."""


class Exit(Strict):
    """Where a participant goes when the study ends for them: a code to paste on Prolific
    and/or a redirect (e.g. https://app.prolific.com/submissions/complete?cc=CODE)."""

    code: Id | None = None
    redirect_url: str | None = None

    @field_validator("redirect_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s<>\"']+$", value):
            raise ValueError("must be an http(s) URL without spaces, quotes or angle brackets")
        return value


class CompletionConfig(Exit):
    """The older form of `outcomes` (still read): the exit for completing the study (`code`
    is required), plus optional exits for failing the attention checks and for declining
    consent."""

    code: Id
    failed_attention: Exit | None = None
    declined: Exit | None = None


class Outcome(Exit):
    """One way the study can end for a participant: the page's `title` and `text`
    (Markdown; defaults in OUTCOME_TEXTS) and the exit. The page itself says what to do next
    (copy the code, wait for the redirect, or, with neither, return the submission on
    Prolific), so the text need only say what happened."""

    title: str | None = None
    text: str | None = None


OUTCOME_TEXTS = {
    COMPLETED: ("Thank you!", "You have finished the study and all your answers are saved."),
    FAILED_ATTENTION: (
        "Thank you for your time",
        "You did not pass the attention checks, so the study ends here.",
    ),
    TIMED_OUT: (
        "Thank you for your time",
        "This session has ended because it was inactive for too long.",
    ),
    DECLINED: (
        "Thank you for your time",
        "You chose not to take part, so the study ends here and no answers were recorded.",
    ),
    STUDY_FULL: (
        "This study is full",
        "Thank you for your interest. All places in this study have been taken, so it cannot "
        "start, and nothing about you was recorded.",
    ),
}
"""The default title and text of each outcome's page."""


class OutcomesConfig(Strict):
    """Each outcome's page and exit, so each lands on its own Prolific completion code (e.g.
    "approve", "reject", "ask to return") or redirect; only `completed` must have one."""

    completed: Outcome
    failed_attention: Outcome = Outcome()
    timed_out: Outcome = Outcome()
    declined: Outcome = Outcome()
    study_full: Outcome = Outcome()

    @field_validator("completed")
    @classmethod
    def _completion_exit(cls, value: Outcome) -> Outcome:
        if value.code is None and value.redirect_url is None:
            raise ValueError("needs a code or a redirect_url (how Prolific learns who finished)")
        return value


class StudyConfig(Strict):
    """The validated study; `catalog` holds the stimuli the design draws from."""

    study_id: Id
    title: str = "Sketch recognition study"
    stimuli: Path
    options: list[str] = Field(min_length=2, max_length=MAX_OPTIONS)
    option_order: Literal["fixed", "shuffled"] = "fixed"
    none_label: str = "None of these"
    question: str = "Which of these does the sketch show?"
    # Listed order is allocation order; the default allocates with "none" first. Trial types
    # may bring conditions of their own (config_model).
    conditions: list[str] = Field(default=[WITH_NONE, WITHOUT_NONE], min_length=1)
    levels: list[int] | None = None
    design: Literal["latin_square"] = "latin_square"
    # practice, attention, foil_classes, confidence, naming, ...: the trial types' fields
    # (study/trial_types/), added by config_model.
    consent: str
    instructions: str
    time_limit_s: float | None = Field(default=None, gt=0)
    # A double key press must not answer the next trial: answers this soon after a trial is
    # drawn are ignored; the too-fast flag and the analysis's speed rules derive from it
    # (study/timing.py).
    min_answer_ms: int = Field(default=DEFAULT_MIN_ANSWER_MS, ge=0, le=10_000)
    # A tab left open on a timed study ends as timed_out (its slot freed), never "completed".
    max_consecutive_timeouts: int = Field(default=3, ge=1)
    outcomes: OutcomesConfig | None = None
    completion: CompletionConfig | None = None  # the older form of `outcomes`
    target_per_cell: int | None = Field(default=None, ge=1)
    preview_token: Annotated[Id, Field(min_length=MIN_PREVIEW_TOKEN_LENGTH)] | None = None
    abandon_after_minutes: float = Field(default=30.0, gt=0)
    seed_salt: str | None = None
    storage: str | None = None

    _catalog: Catalog | None = PrivateAttr(default=None)
    _source: Path | None = PrivateAttr(default=None)

    @field_validator("options")
    @classmethod
    def _plain_class_names(cls, value: list[str]) -> list[str]:
        return class_names(value)

    @model_validator(mode="after")
    def _one_table_of_outcomes(self) -> StudyConfig:
        if self.outcomes is None and self.completion is None:
            raise ValueError(
                "needs 'outcomes' (at least outcomes.completed with a code or redirect_url; "
                "the older 'completion' works too)"
            )
        if self.outcomes is not None and self.completion is not None:
            raise ValueError("gives both 'outcomes' and the older 'completion'; keep 'outcomes'")
        return self

    def outcome(self, name: str) -> Outcome:
        """The page and exit of outcome `name` (`sketchlab.contracts.OUTCOMES`), with the
        default title and text where study.yaml gives none."""
        if self.outcomes is not None:
            given = getattr(self.outcomes, name)
        else:
            completion = self.completion
            exits = {
                COMPLETED: Exit(code=completion.code, redirect_url=completion.redirect_url),
                FAILED_ATTENTION: completion.failed_attention,
                DECLINED: completion.declined,
            }
            given = Outcome(**(exits.get(name) or Exit()).model_dump())
        from study.trial_types import TRIAL_TYPES

        title, text = OUTCOME_TEXTS[name]
        for trial_type in TRIAL_TYPES.values():
            text = trial_type.outcome_text(self, name) or text
        return given.model_copy(update={"title": given.title or title, "text": given.text or text})

    @field_validator("conditions")
    @classmethod
    def _unique_conditions(cls, value: list[str]) -> list[str]:
        from study.trial_types import conditions

        known = conditions()
        unknown = [condition for condition in value if condition not in known]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a condition; use {', '.join(known)}")
        if len(set(value)) != len(value):
            raise ValueError("lists a condition twice")
        return value

    @field_validator("levels")
    @classmethod
    def _positive_levels(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (
            not value or any(level < 1 for level in value) or len(set(value)) != len(value)
        ):
            raise ValueError("must be distinct stroke counts >= 1")
        return value

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("StudyConfig was not built by load_study, so it has no catalog")
        return self._catalog

    @property
    def source(self) -> Path:
        """The YAML file this config came from (for error messages)."""
        return self._source or Path("study.yaml")

    @property
    def salt(self) -> str:
        """Mixed into every per-participant seed, so two studies shuffle differently."""
        return self.seed_salt or self.study_id

    @property
    def consent_version(self) -> str:
        """Short hash of the consent text, stored with each consent (which text was agreed to)."""
        return hashlib.sha256(self.consent.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Stimulus:
    """One row of stimuli.csv; `png_path` is absolute (server side only)."""

    stimulus_id: str
    image_id: str
    class_name: str
    n_strokes: int
    png_path: Path
    final_loss: float = float("inf")


@dataclass(frozen=True)
class Catalog:
    """Stimuli sorted into their roles; built and checked by `load_study`.

    `test_images` is the fixed sorted order the Latin square rotates over;
    `by_image_level[image_id][n_strokes]` is the sketch shown for that image at that level.
    """

    stimuli: dict[str, Stimulus]
    levels: tuple[int, ...]
    test_images: tuple[str, ...]
    foil_images: tuple[str, ...]
    """Images of the classes that are not options but that trial types bring (foils)."""
    by_image_level: dict[str, dict[int, Stimulus]] = field(repr=False)
    reserved: tuple[str, ...] = ()
    """Stimuli trial types show apart from the test set (practice, attention checks)."""


def outcome_warnings(config: StudyConfig) -> list[str]:
    """Outcome texts that contradict their exit: a text asking participants to return their
    submission on an outcome that gives them a code or a redirect (the page adds what to do
    with those itself)."""
    warnings = []
    for name in OUTCOMES:
        outcome = config.outcome(name)
        has_exit = outcome.code is not None or outcome.redirect_url is not None
        if has_exit and re.search(r"\breturn\b.{0,20}\bsubmission", outcome.text, re.I | re.S):
            warnings.append(
                f"outcome {name}: its text asks participants to return their submission, but "
                "it gives them a code or a redirect"
            )
    return warnings


_MODELS: dict[tuple, type[StudyConfig]] = {}


def config_model() -> type[StudyConfig]:
    """StudyConfig with every registered trial type's study.yaml fields (`settings`): the
    model study.yaml is validated against. Built once per set of registered types."""
    from study.trial_types import TRIAL_TYPES

    key = tuple((name, id(trial_type)) for name, trial_type in TRIAL_TYPES.items())
    if key not in _MODELS:
        fields = {}
        for trial_type in TRIAL_TYPES.values():
            fields.update(trial_type.settings)
        _MODELS[key] = create_model("StudyConfig", __base__=StudyConfig, **fields)
    return _MODELS[key]


def load_study(
    path: str | Path, storage: str | None = None, *, verify_images: bool = True
) -> StudyConfig:
    """Read and validate study.yaml and its stimuli; `storage` (a URL) overrides the YAML's.

    With `verify_images` every PNG the design uses is opened and checked by Pillow.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: study file does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadInput(
            f"{path}: malformed YAML{where} ({getattr(error, 'problem', error)})"
        ) from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: is not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise BadInput(
            f"{path}: must be a YAML mapping of fields (study_id, stimuli, options, ...)"
        )
    folder = path.resolve().parent
    for key in ("consent", "instructions"):
        if isinstance(raw.get(key), str):
            raw[key] = _markdown(raw[key], folder, path, key)
    try:
        config = config_model().model_validate(raw)
    except ValidationError as error:
        raise BadInput(_one_sentence(path, error)) from None
    updates: dict = {"stimuli": (folder / config.stimuli).resolve()}
    url = storage or config.storage or f"sqlite:///{folder / (config.study_id + '.db')}"
    updates["storage"] = resolve_sqlite_url(url, folder if not storage else Path.cwd())
    config = config.model_copy(update=updates)
    config._source = path
    config._catalog = _build_catalog(config, path, verify_images)
    return config


def resolve_sqlite_url(url: str, folder: Path) -> str:
    """Make a relative `sqlite:///file` URL absolute against `folder`; other URLs unchanged."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((folder / url[len(prefix) :]).resolve())
    return url


def _markdown(value: str, folder: Path, path: Path, key: str) -> str:
    """A value ending in .md (one line) names a Markdown file next to the YAML."""
    if "\n" in value or not value.strip().endswith(".md"):
        return value
    file = folder / value.strip()
    if not file.is_file():
        raise BadInput(f"{path}: field '{key}' names {file}, which does not exist")
    return file.read_text(encoding="utf-8")


def _one_sentence(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{path}: unknown field '{where}' (check the spelling against docs/study.md)"
    if first["type"] == "missing":
        return f"{path}: required field '{where}' is missing"
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:  # a rule across fields
        return f"{path}: {message}"
    return f"{path}: field '{where}' is invalid: {message}"


def _read_stimuli(config: StudyConfig, path: Path) -> dict[str, Stimulus]:
    """stimuli.csv through the shared reader, then this study's rule: every class is among
    the options or the classes a trial type brings (foils), or the stimulus is one a trial
    type reserves (practice, attention checks)."""
    from study.trial_types import TRIAL_TYPES

    if not config.stimuli.is_file():
        raise BadInput(
            f"{path}: field 'stimuli' names {config.stimuli}, which does not exist "
            "(stimuli.csv is written by `sketchlab generate`)"
        )
    table = read_stimuli(config.stimuli)
    known = set(config.options) | _extra_classes(config)
    special = {
        stimulus_id
        for trial_type in TRIAL_TYPES.values()
        for ids in trial_type.reserved_stimuli(config).values()
        for stimulus_id in ids
    }
    stimuli: dict[str, Stimulus] = {}
    for number, row in enumerate(table.to_dict("records"), start=2):
        if row["class"] not in known and row["stimulus_id"] not in special:
            raise BadInput(
                f"{config.stimuli} row {number}: field 'class' {row['class']!r} is not among the "
                f"options in {path} ({', '.join(config.options)}) nor in foil_classes"
            )
        stimuli[row["stimulus_id"]] = Stimulus(
            row["stimulus_id"],
            row["image_id"],
            row["class"],
            row["n_strokes"],
            row["png_file"],
            row["final_loss"],
        )
    return stimuli


def _extra_classes(config: StudyConfig) -> set[str]:
    from study.trial_types import TRIAL_TYPES

    return {name for t in TRIAL_TYPES.values() for name in t.extra_classes(config)}


def _build_catalog(config: StudyConfig, path: Path, verify_images: bool) -> Catalog:
    from study.trial_types import TRIAL_TYPES

    stimuli = _read_stimuli(config, path)
    reserved_images: set[str] = set()
    reserved_stimuli: set[str] = set()
    for trial_type in TRIAL_TYPES.values():
        for key, ids in trial_type.reserved_stimuli(config).items():
            for stimulus_id in ids:
                if stimulus_id not in stimuli:
                    raise BadInput(
                        f"{path}: field '{key}' names stimulus {stimulus_id!r}, "
                        f"which is not in {config.stimuli}"
                    )
                if stimuli[stimulus_id].class_name not in config.options:
                    raise BadInput(
                        f"{path}: field '{key}' stimulus {stimulus_id!r} has class "
                        f"{stimuli[stimulus_id].class_name!r}, which is not among the options"
                    )
                reserved_images.add(stimuli[stimulus_id].image_id)
                reserved_stimuli.add(stimulus_id)
    for trial_type in TRIAL_TYPES.values():
        trial_type.check(config, path)

    extra = _extra_classes(config)
    rows_by_image = _group_by_image(stimuli, config, reserved_images)
    test_groups = {i: g for i, g in rows_by_image.items() if g[0] in config.options}
    foil_groups = {i: g for i, g in rows_by_image.items() if g[0] in extra}
    present = sorted({level for _, by_level in test_groups.values() for level in by_level})
    levels = tuple(config.levels) if config.levels is not None else tuple(present)
    if not levels:
        raise BadInput(f"{config.stimuli}: has no test stimuli of the option classes")
    by_image_level: dict[str, dict[int, Stimulus]] = {}
    for image_id, (_, by_level) in {**test_groups, **foil_groups}.items():
        missing = [level for level in levels if level not in by_level]
        if missing:
            raise BadInput(
                f"{config.stimuli}: image {image_id!r} has no sketch with n_strokes={missing[0]} "
                f"(field 'levels' in {path} asks for {', '.join(map(str, levels))})"
            )
        by_image_level[image_id] = {level: by_level[level] for level in levels}
    test_images = tuple(sorted(test_groups))
    if len(test_images) < len(levels):
        raise BadInput(
            f"{config.stimuli}: has {len(test_images)} test images but the Latin square needs at "
            f"least {len(levels)} (one per list; field 'levels' in {path})"
        )
    catalog = Catalog(
        stimuli,
        levels,
        test_images,
        tuple(sorted(foil_groups)),
        by_image_level,
        tuple(sorted(reserved_stimuli)),
    )
    if verify_images:
        _verify_pngs(catalog, config)
    return catalog


def _group_by_image(
    stimuli: dict[str, Stimulus], config: StudyConfig, reserved: set[str]
) -> dict[str, tuple[str, dict[int, Stimulus]]]:
    """image_id -> (class, {level: stimulus}); of several seeds at one level the lowest
    final_loss wins (ties: the smallest stimulus_id), as the paper keeps the best seed."""
    groups: dict[str, tuple[str, dict[int, Stimulus]]] = {}
    for stimulus in sorted(stimuli.values(), key=lambda s: (s.final_loss, s.stimulus_id)):
        if stimulus.image_id in reserved:
            continue
        class_name, by_level = groups.setdefault(stimulus.image_id, (stimulus.class_name, {}))
        if class_name != stimulus.class_name:
            raise BadInput(
                f"{config.stimuli}: image {stimulus.image_id!r} has two classes "
                f"({class_name!r} and {stimulus.class_name!r}; field 'class')"
            )
        by_level.setdefault(stimulus.n_strokes, stimulus)
    return groups


def _verify_pngs(catalog: Catalog, config: StudyConfig) -> None:
    from PIL import Image, UnidentifiedImageError

    used = {s.png_path for by_level in catalog.by_image_level.values() for s in by_level.values()}
    used |= {catalog.stimuli[i].png_path for i in catalog.reserved}
    for png in sorted(used):
        try:
            with Image.open(png) as image:
                image.verify()
        except (OSError, UnidentifiedImageError, SyntaxError):
            raise BadInput(
                f"{config.stimuli}: field 'png_path' {png} is not a readable image"
            ) from None
