"""Foils: sketches of classes that are not among the options (study.yaml's `foil_classes`),
for which "None of these" is the right answer, so sensitivity and response bias can be told
apart. Shown in the with_none condition only, rotated over the levels like the test images."""

from __future__ import annotations

from pathlib import Path

from sketchlab.contracts import FOIL, NONE, WITH_NONE
from sketchlab.errors import BadInput
from study.trial_type import FOIL as FOIL_ROLE
from study.trial_type import ChoiceTrialType, ListContext, Placement
from study.yaml_fields import ClassNames


class Foil(ChoiceTrialType):
    name = FOIL
    description = (
        'Sketches of classes that are not options ("None of these" is right), with_none only; '
        "signal detection."
    )
    settings = {"foil_classes": (ClassNames, [])}
    role = FOIL_ROLE
    appears_in = (WITH_NONE,)

    def extra_classes(self, config) -> list[str]:
        return list(config.foil_classes)

    def check(self, config, path: Path) -> None:
        if config.foil_classes and WITH_NONE not in config.conditions:
            raise BadInput(
                f"{path}: field 'foil_classes' needs the with_none condition "
                "(a foil's correct answer is 'none')"
            )

    def place(self, context: ListContext) -> Placement:
        catalog = context.catalog
        main = []
        for j, image_id in enumerate(catalog.foil_images):
            stimulus = catalog.by_image_level[image_id][context.level(j)]
            main.append(context.trial(stimulus, FOIL, NONE))
        return Placement(main=tuple(main))

    def simulate(self, responder, trial) -> str:
        return responder.judge_foil(trial)
