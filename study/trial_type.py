"""What a trial type is: one module that declares everything sketchlab needs to run, store,
simulate and analyse its trials. This is jsPsych's plugin idea: a plugin declares its
parameters and its data, and the core never changes for a new one.

A trial type (`TrialType`, registered in `study.trial_types.TRIAL_TYPES`) declares:

- `settings`: its study.yaml fields (pydantic annotations and defaults), validated with the
  rest of study.yaml; `check` for rules across fields; `reserved_stimuli` and `extra_classes`
  for the stimuli it takes out of the test set or brings in from other classes;
- `place`: where its trials go in a participant's list (ahead of the main trials, shuffled
  among them, or spread evenly through them), and `appears_in`: in which conditions;
- `page` and `read_answer`: how its page shows, and what an answer is (the column values it
  stores; anything else is refused);
- `columns`: the responses columns it adds, with their types (the database table and the
  export are built from them);
- `correct` and `fails_when_wrong`: its right answer, and whether a wrong one counts as a
  failed attention check;
- `simulate`: how a simulated participant answers it;
- `role`: how the analysis counts its rows (TARGET, FOIL, CHECK or PRACTICE).

A follow-up (`FollowUp`: confidence ratings) adds no trials: it asks one more question after
the answer to each trial it `follows`, and stores the reply, and the time it took, in its own
columns of that trial's row. docs/study.md, "Writing a trial type", has the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sketchlab.contracts import NONE, ResponseColumn
from sketchlab.errors import BadInput

if TYPE_CHECKING:
    from study.config import Catalog, Stimulus, StudyConfig
    from study.flow import ParticipantFlow
    from study.layout import TrialShape
    from study.simulate import Responder

TARGET, FOIL, CHECK, PRACTICE = ROLES = ("target", "foil", "check", "practice")
"""How the analysis counts a trial type's rows. TARGET: the study's measurements (accuracy;
a complete session has one per test image; the speed, time-out and interruption rules apply);
FOIL: measured, but no class shown is right (signal detection; time-out and interruption
rules apply); CHECK: attention checks (their failures exclude a session); PRACTICE: not
analysed."""


@dataclass(frozen=True)
class Trial:
    """One screen of the study. `image_path` stays on the server: the page gets the image
    bytes, never a file name, class or stimulus id that could reveal the answer."""

    trial_index: int
    trial_type: str
    stimulus_id: str
    image_id: str
    true_class: str
    n_strokes: int
    image_path: Path
    options: tuple[str, ...]  # screen order; "none" (last) in the with_none condition
    correct_response: str  # true_class; "none" for foils; the asked-for option in checks
    prompt: str | None = None  # replaces the standard question (instructional checks)
    feedback: bool = False  # show right/wrong after answering (practice)
    page: str = ""
    """The trial type whose page shows this trial and reads its answer (default: its own;
    the naming condition shows every trial as a naming page)."""
    follow_ups: tuple[str, ...] = ()
    """Follow-up questions asked after its answer, in order (e.g. ("confidence",))."""
    dictated: bool = False
    """The answer is dictated by the prompt (an instructional check): nothing to recognise."""

    @property
    def shown_by(self) -> str:
        return self.page or self.trial_type


@dataclass(frozen=True)
class ListContext:
    """What a trial type needs to place its trials in one participant's list."""

    config: StudyConfig
    condition: str
    list_id: int
    options: tuple[str, ...]
    """This participant's buttons, in screen order ("none" last where offered)."""

    @property
    def catalog(self) -> Catalog:
        return self.config.catalog

    def level(self, position: int) -> int:
        """The Latin square: the stroke level of the image at `position` in this list."""
        levels = self.catalog.levels
        return levels[(position + self.list_id) % len(levels)]

    def test_image_trials(self, trial_type: str) -> tuple[Trial, ...]:
        """One `trial_type` trial per test image, at its Latin-square level, whose right
        answer is the image's class (test and naming trials)."""
        trials = []
        for i, image_id in enumerate(self.catalog.test_images):
            stimulus = self.catalog.by_image_level[image_id][self.level(i)]
            trials.append(self.trial(stimulus, trial_type, stimulus.class_name))
        return tuple(trials)

    def trial(self, stimulus: Stimulus, trial_type: str, correct: str, **extra: Any) -> Trial:
        """A trial of this list (its index is set when the list is complete)."""
        return Trial(
            trial_index=-1,
            trial_type=trial_type,
            stimulus_id=stimulus.stimulus_id,
            image_id=stimulus.image_id,
            true_class=stimulus.class_name,
            n_strokes=stimulus.n_strokes,
            image_path=stimulus.png_path,
            options=self.options,
            correct_response=correct,
            **extra,
        )


@dataclass(frozen=True)
class Placement:
    """Where a type's trials go in one participant's list."""

    before: tuple[Trial, ...] = ()
    """Ahead of everything else, in this order (practice)."""
    main: tuple[Trial, ...] = ()
    """Shuffled together with the other types' main trials (test, foil)."""
    spread: tuple[Trial, ...] = ()
    """At evenly spaced positions among the shuffled main trials (attention checks)."""


class TrialType:
    """A trial type (module docstring). Subclasses set the class attributes and override
    the methods they need; the defaults describe a type that adds nothing."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    """One sentence for the docs' table of trial types."""
    settings: ClassVar[Mapping[str, tuple[Any, Any]]] = {}
    """study.yaml fields: name -> (pydantic annotation, default)."""
    columns: ClassVar[tuple[ResponseColumn, ...]] = ()
    """Responses columns it adds (after the core columns, in registry order)."""
    role: ClassVar[str] = PRACTICE
    fails_when_wrong: ClassVar[bool] = False
    conditions: ClassVar[tuple[str, ...]] = ()
    """Between-subjects conditions this type brings (the naming condition)."""
    appears_in: ClassVar[tuple[str, ...] | None] = None
    """The conditions its trials appear in (None: every condition)."""
    follow_up: ClassVar[bool] = False
    seconds: ClassVar[float] = 0.0
    """Planning estimate: seconds its page (or question) adds to a trial, for `study check`'s
    expected minutes (a recognition trial itself: study.design.SECONDS_PER_TRIAL)."""

    # --- study.yaml -----------------------------------------------------------------------

    def enabled(self, config: StudyConfig) -> bool:
        """Whether this study uses the type at all (its settings are given)."""
        return True

    def reserved_stimuli(self, config: StudyConfig) -> dict[str, list[str]]:
        """field -> stimulus ids it shows whose images leave the test set (their class must
        be an option)."""
        return {}

    def extra_classes(self, config: StudyConfig) -> list[str]:
        """Classes that are not options but whose sketches it shows (foils)."""
        return []

    def check(self, config: StudyConfig, path: Path) -> None:
        """Rules across fields (BadInput naming `path` and the field); the catalog is built."""

    def outcome_text(self, config: StudyConfig, outcome: str) -> str | None:
        """A text for an outcome's page that this type's settings give (older fields)."""
        return None

    def summary(self, config: StudyConfig) -> str | None:
        """One line for `study check` when the study uses it (None: nothing to say)."""
        return None

    # --- the participant's list -----------------------------------------------------------

    def place(self, context: ListContext) -> Placement:
        """Its trials in this participant's list."""
        return Placement()

    def adapt(self, trial: Trial) -> Trial:
        """A trial of another type in one of this type's `conditions`, as shown there."""
        return trial

    # --- the page and its answer ----------------------------------------------------------

    def page(self, flow: ParticipantFlow, trial: Trial) -> None:
        """Draw the trial (Streamlit); the answer goes to `flow.answer` in a callback."""
        raise NotImplementedError(f"trial type {self.name!r} has no page")

    def read_answer(self, config: StudyConfig, trial: Trial, raw: object) -> dict[str, Any]:
        """The column values an answer `raw` stores (`response` at least); BadInput when
        `raw` is not an answer this trial can have."""
        raise NotImplementedError(f"trial type {self.name!r} reads no answers")

    def correct(self, trial: Trial, values: Mapping[str, Any]) -> bool:
        return values["response"] == trial.correct_response

    def how_to_answer(self, config: StudyConfig, trial: Trial) -> str | None:
        """The instructions page's sentence on how to answer this page (None: nothing)."""
        return None

    def unknown(self, rows):
        """Which answers (a row's values, or a table's columns) cannot be judged right or
        wrong yet (a typed name the matcher could not place): they never count as a failed
        check. Works on a dict (a bool) and on a DataFrame (an array)."""
        return False

    def shapes(self, config: StudyConfig, trials: list[Trial]) -> list[TrialShape]:
        """What decides how much room its pages need (study/layout.py), for `study check`."""
        return []

    # --- simulated participants and the export --------------------------------------------

    def simulate(self, responder: Responder, trial: Trial) -> str:
        """What a simulated participant means to answer: an option ("none" included), or for a
        typed answer the class they name ("none": they name nothing of the classes)."""
        return responder.recognise(trial)

    def render(self, responder: Responder, trial: Trial, meant: str) -> tuple[object, float]:
        """The answer `meant`, as this page takes it (`read_answer`), and the seconds it adds
        (typing)."""
        return meant, 0.0

    def export_files(self, config: StudyConfig, responses, out: Path) -> list[Path]:
        """Files `study export` writes beside `out` for this type (e.g. a coding sheet)."""
        return []


class ChoiceTrialType(TrialType):
    """A trial answered by clicking one of the buttons (the class options, "None of these"
    where offered), or pressing its number key: practice, test, foil and attention trials."""

    def page(self, flow: ParticipantFlow, trial: Trial) -> None:
        from study.trial_page import choice_page

        choice_page(flow, trial)

    def how_to_answer(self, config: StudyConfig, trial: Trial) -> str | None:
        from study.trial_page import key_range

        return (
            "Answer by clicking a button, or on a keyboard by pressing the number shown on it "
            f"({key_range(trial.options)})."
        )

    def read_answer(self, config: StudyConfig, trial: Trial, raw: object) -> dict[str, Any]:
        if not isinstance(raw, str) or raw not in trial.options:
            raise BadInput("the response must be one of the options shown on this trial")
        return {"response": raw}

    def shapes(self, config: StudyConfig, trials: list[Trial]) -> list[TrialShape]:
        from study.layout import TrialShape

        shapes = []
        for question in dict.fromkeys(trial.prompt or config.question for trial in trials):
            options = trials[0].options
            shapes.append(
                TrialShape(
                    labels=tuple(config.none_label if o == NONE else o for o in options),
                    with_none=NONE in options,
                    question=question,
                    timed=config.time_limit_s is not None,
                    shuffled=config.option_order == "shuffled",
                )
            )
        return shapes


class FollowUp(TrialType):
    """A question asked after the answer to each trial it `follows`, stored in its own
    `columns` of that trial's row: the reply in `reply_column`, the time from the question
    being shown to the reply (ms) in `rt_column`. A trial that timed out gets none."""

    follow_up: ClassVar[bool] = True
    reply_column: ClassVar[str] = ""
    rt_column: ClassVar[str] = ""

    def follows(self, config: StudyConfig, trial: Trial) -> bool:
        return False

    def place(self, context: ListContext) -> Placement:
        return Placement()

    def simulate_reply(
        self, responder: Responder, trial: Trial, row: Mapping[str, Any]
    ) -> tuple[object, float]:
        """A simulated participant's reply to the trial answered in `row`, and its seconds."""
        raise NotImplementedError(f"follow-up {self.name!r} cannot be simulated")


def with_follow_ups(trial: Trial, names: tuple[str, ...]) -> Trial:
    return replace(trial, follow_ups=trial.follow_ups + names) if names else trial
