"""The cascade's rule, row by row: the student keeps a row when its confidence is at least τ; the rest go to the
teacher. Of the kept rows, a `shadow_rate` share also goes to the teacher, to measure agreement in production;
the answer still comes from the student.

Pure functions over the models' answers (no torch, no Django), so the rule reads in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum


class Route(Enum):
    KEEP = "keep"
    SHADOW = "shadow"  # kept, and also sent to the teacher
    ESCALATE = "escalate"

    @property
    def needs_teacher(self) -> bool:
        return self is not Route.KEEP


@dataclass(frozen=True)
class Prediction:
    """A model's answer for one row."""

    label: str
    confidence: float  # the top class's probability after dividing the logits by the temperature


@dataclass(frozen=True)
class Decision:
    tier: str  # "student" or "teacher"
    label: str | None  # None: escalated, and the teacher can't run here (the caller asks its own)
    confidence: float  # the student's, whoever answered
    student_label: str
    teacher_label: str | None  # when the teacher ran (escalated or shadowed)
    shadow: bool
    escalate: bool  # the caller must send this row to its teacher

    def as_response(self) -> dict[str, object]:
        """What the caller sees. A shadow answer stays internal: the response is the student's, as without it."""
        answer: dict[str, object] = {
            "label": self.label,
            "confidence": self.confidence,
            "tier": self.tier,
            "student_label": self.student_label,
        }
        if self.tier == "teacher" and self.teacher_label is not None:
            answer["teacher_label"] = self.teacher_label
        if self.escalate:
            answer["escalate"] = True
        return answer


def route(
    student: Sequence[Prediction],
    *,
    tau: float,
    shadow_rate: float,
    teacher_runs: bool,
    draw: Callable[[], float],
) -> list[Route]:
    """Each row's route. draw() is a uniform number in [0, 1), called once per kept row when shadowing is on."""
    routes = []
    for answer in student:
        if answer.confidence < tau:
            routes.append(Route.ESCALATE)
        elif teacher_runs and shadow_rate > 0 and draw() < shadow_rate:
            routes.append(Route.SHADOW)
        else:
            routes.append(Route.KEEP)
    return routes


def decide(
    student: Sequence[Prediction], routes: Sequence[Route], teacher_labels: Sequence[str | None]
) -> list[Decision]:
    """The decision per row, given the teacher's label for the rows it ran on (None where it did not run)."""
    decisions = []
    for answer, row_route, teacher_label in zip(student, routes, teacher_labels, strict=True):
        escalated = row_route is Route.ESCALATE
        decisions.append(
            Decision(
                tier="teacher" if escalated else "student",
                label=teacher_label if escalated else answer.label,
                confidence=answer.confidence,
                student_label=answer.label,
                teacher_label=teacher_label,
                shadow=row_route is Route.SHADOW,
                escalate=escalated and teacher_label is None,
            )
        )
    return decisions
