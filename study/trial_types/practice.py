"""Practice: sketches shown first, in the listed order, with feedback if asked; their images
leave the test set. Not analysed."""

from __future__ import annotations

from sketchlab.contracts import PRACTICE
from study.trial_type import PRACTICE as NOT_ANALYSED
from study.trial_type import ChoiceTrialType, ListContext, Placement
from study.yaml_fields import Strict


class PracticeConfig(Strict):
    """study.yaml's `practice`: stimulus ids shown first, in order; `feedback` tells the
    participant whether each answer was right."""

    stimuli: list[str] = []
    feedback: bool = True


class Practice(ChoiceTrialType):
    name = PRACTICE
    description = "Sketches shown first, in the listed order, with feedback; not analysed."
    settings = {"practice": (PracticeConfig, PracticeConfig())}
    role = NOT_ANALYSED

    def reserved_stimuli(self, config) -> dict[str, list[str]]:
        return {"practice.stimuli": list(config.practice.stimuli)}

    def place(self, context: ListContext) -> Placement:
        config = context.config
        stimuli = (context.catalog.stimuli[i] for i in config.practice.stimuli)
        return Placement(
            before=tuple(
                context.trial(s, PRACTICE, s.class_name, feedback=config.practice.feedback)
                for s in stimuli
            )
        )

    def summary(self, config) -> str | None:
        n = len(config.practice.stimuli)
        if not n:
            return None
        feedback = "with feedback" if config.practice.feedback else "without feedback"
        return f"practice: {n} sketch{'es' if n > 1 else ''} first, {feedback}"
