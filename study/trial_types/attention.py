"""Attention checks (Prolific-compliant), spread evenly through the main trials; their images
leave the test set. A check without `answer` is a catch trial (an unambiguous sketch, its
class is right); with `answer` it is an instructional check ("please select 'tree'"), which
tests attention to the question itself. More than `max_failures` wrong answers end the study
(status failed_attention); the analysis excludes such sessions."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from sketchlab.contracts import ATTENTION, FAILED_ATTENTION
from sketchlab.errors import BadInput
from study.trial_type import CHECK, ChoiceTrialType, ListContext, Placement
from study.yaml_fields import Strict


class AttentionCheck(Strict):
    """One check on a stimulus from stimuli.csv (module docstring)."""

    stimulus: str
    answer: str | None = None
    prompt: str | None = None


class AttentionConfig(Strict):
    """study.yaml's `attention`. `failed_markdown` is the older place of
    `outcomes.failed_attention.text`."""

    checks: list[AttentionCheck] = []
    max_failures: int = Field(default=1, ge=0)
    failed_markdown: str | None = None


class Attention(ChoiceTrialType):
    name = ATTENTION
    description = (
        "Catch trials and instructional checks, spread evenly; more than max_failures wrong "
        "ends the study."
    )
    settings = {"attention": (AttentionConfig, AttentionConfig())}
    role = CHECK
    fails_when_wrong = True

    def reserved_stimuli(self, config) -> dict[str, list[str]]:
        return {"attention.checks": [check.stimulus for check in config.attention.checks]}

    def check(self, config, path: Path) -> None:
        for check in config.attention.checks:
            if check.answer is not None and check.answer not in config.options:
                raise BadInput(
                    f"{path}: field 'attention.checks' answer {check.answer!r} is not among "
                    "the options"
                )
        outcomes = config.outcomes
        if (
            outcomes is not None
            and outcomes.failed_attention.text is not None
            and config.attention.failed_markdown is not None
        ):
            raise BadInput(
                f"{path}: gives the failed-attention text twice (attention.failed_markdown and "
                "outcomes.failed_attention.text); keep the second"
            )

    def outcome_text(self, config, outcome: str) -> str | None:
        return config.attention.failed_markdown if outcome == FAILED_ATTENTION else None

    def place(self, context: ListContext) -> Placement:
        spread = []
        for check in context.config.attention.checks:
            stimulus = context.catalog.stimuli[check.stimulus]
            if check.answer is None:
                trial = context.trial(stimulus, ATTENTION, stimulus.class_name, prompt=check.prompt)
            else:
                prompt = check.prompt or (
                    f"Attention check: please select “{check.answer}”, whatever the sketch shows."
                )
                trial = context.trial(stimulus, ATTENTION, check.answer, prompt=prompt,
                                      dictated=True)  # fmt: skip
            spread.append(trial)
        return Placement(spread=tuple(spread))

    def simulate(self, responder, trial) -> str:
        return responder.attend(trial)

    def summary(self, config) -> str | None:
        checks = config.attention.checks
        if not checks:
            return None
        return (
            f"attention: {len(checks)} check{'s' if len(checks) > 1 else ''} spread through the "
            f"trials; more than {config.attention.max_failures} wrong ends the study"
        )
