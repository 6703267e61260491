"""Confidence ratings: after each answer, "How sure are you?" on a 1-N scale (study.yaml's
`confidence: {scale: 5, labels: [...]}`), answered by a click, a tap or the number keys, with
its own answer time. Stored on the rated trial's row: `confidence` (1 = least sure) and
`confidence_rt_ms` (from the rating question being shown to the reply).

Every answered sketch is rated (practice, test, foil and catch trials alike, so a rating
never tells a participant which trials were special); instructional checks (whose answer the
prompt dictates) and timed-out trials are not. The sketch is not shown again while the
participant rates: the rating is about the answer just given. Practice feedback comes after
the rating, so it cannot colour it. The analysis (analysis/metacognition.py) reports accuracy
by confidence, calibration per level and condition, and type-2 sensitivity.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from sketchlab.contracts import ResponseColumn, class_name_problem
from sketchlab.errors import BadInput
from study.trial_type import FollowUp
from study.yaml_fields import Strict

MAX_SCALE = 10
"""The longest scale (a 10-point scale's buttons still fit a 320 x 568 phone)."""


class ConfidenceConfig(Strict):
    """study.yaml's `confidence`: a `scale` of 2-10 points, their `labels` (low to high;
    default: the numbers, the ends named), and the `question`."""

    scale: int = Field(default=5, ge=2, le=MAX_SCALE)
    labels: list[str] | None = None
    question: str = "How sure are you of your answer?"

    @field_validator("labels")
    @classmethod
    def _plain_labels(cls, value: list[str] | None) -> list[str] | None:
        for label in value or []:
            problem = class_name_problem(label)
            if problem:
                raise ValueError(problem.replace("class name", "label"))
        return value

    @model_validator(mode="after")
    def _one_label_per_point(self) -> ConfidenceConfig:
        if self.labels is not None and len(self.labels) != self.scale:
            raise ValueError(
                f"confidence gives {len(self.labels)} labels for a scale of {self.scale}; "
                "give one per point, lowest first"
            )
        return self

    def label(self, point: int) -> str:
        """What the button of rating `point` (1..scale) says."""
        if self.labels is not None:
            return self.labels[point - 1]
        ends = {1: "Guessing", self.scale: "Certain"}
        return f"{point} · {ends[point]}" if point in ends else str(point)


class Confidence(FollowUp):
    name = "confidence"
    description = (
        "After each answer, a 1-N rating with its own answer time (keys, clicks, taps); "
        "accuracy by confidence, calibration, type-2 sensitivity."
    )
    settings = {"confidence": (ConfidenceConfig | None, None)}
    columns = (
        ResponseColumn(
            "confidence",
            "integer",
            doc="the rating after the answer, 1 (least sure) to scale",
            minimum=1,
        ),
        ResponseColumn(
            "confidence_rt_ms", "integer", doc="from the rating question being shown to the reply"
        ),
    )
    reply_column = "confidence"
    rt_column = "confidence_rt_ms"
    seconds = 2.0

    def enabled(self, config) -> bool:
        return config.confidence is not None

    def follows(self, config, trial) -> bool:
        return config.confidence is not None and not trial.dictated

    def read_answer(self, config, trial, raw: object) -> dict[str, Any]:
        scale = config.confidence.scale
        if isinstance(raw, str) and raw.isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= scale:
            raise BadInput(f"the confidence rating must be a whole number from 1 to {scale}")
        return {"confidence": raw}

    def how_to_answer(self, config, trial) -> str | None:
        settings = config.confidence
        return (
            f"After each answer, say how sure you are, from {settings.label(1)} to "
            f"{settings.label(settings.scale)}: click, or press 1-{min(settings.scale, 9)}."
        )

    def page(self, flow, trial) -> None:
        from study.trial_page import rating_page

        rating_page(flow, trial, self)

    def shapes(self, config, trials) -> list:
        from study.layout import RatingShape

        settings = config.confidence
        labels = tuple(settings.label(point) for point in range(1, settings.scale + 1))
        return [RatingShape(labels, settings.question)]

    def simulate_reply(self, responder, trial, row) -> tuple[object, float]:
        return responder.rate(trial, row, responder.config.confidence.scale)

    def summary(self, config) -> str | None:
        settings = config.confidence
        if settings is None:
            return None
        ends = f"{settings.label(1)} … {settings.label(settings.scale)}"
        return f"confidence: a 1-{settings.scale} rating after each answer ({ends})"
