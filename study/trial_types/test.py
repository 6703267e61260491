"""Test trials: every test image once, at the stroke level the participant's Latin-square list
gives it, shuffled among the other main trials. What the study measures: forced-choice
accuracy, with and without a "None of these" button."""

from __future__ import annotations

from sketchlab.contracts import CONDITIONS, TEST
from study.trial_type import TARGET, ChoiceTrialType, ListContext, Placement


class Test(ChoiceTrialType):
    name = TEST
    description = (
        "Every test image once, at its Latin-square level, shuffled; the class buttons (and "
        '"None of these" with_none). Forced-choice accuracy.'
    )
    role = TARGET
    appears_in = CONDITIONS

    def place(self, context: ListContext) -> Placement:
        return Placement(main=context.test_image_trials(TEST))
