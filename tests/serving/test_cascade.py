import itertools

from serving.cascade import Prediction, Route, decide, route


def answers(*confidences: float) -> list[Prediction]:
    return [Prediction(label=f"label-{i}", confidence=c) for i, c in enumerate(confidences)]


def test_rows_at_or_above_tau_stay_with_the_student_and_the_rest_escalate():
    routes = route(answers(0.95, 0.8, 0.79), tau=0.8, shadow_rate=0.0, teacher_runs=True, draw=lambda: 0.0)
    assert routes == [Route.KEEP, Route.KEEP, Route.ESCALATE]


def test_a_shadow_share_of_kept_rows_also_goes_to_the_teacher():
    draws = itertools.cycle([0.1, 0.6])  # under 0.5, over 0.5, ...
    routes = route(answers(0.9, 0.9, 0.9, 0.1), tau=0.5, shadow_rate=0.5, teacher_runs=True, draw=lambda: next(draws))
    assert routes == [Route.SHADOW, Route.KEEP, Route.SHADOW, Route.ESCALATE]


def test_nothing_is_shadowed_when_no_teacher_can_run():
    routes = route(answers(0.9, 0.1), tau=0.5, shadow_rate=1.0, teacher_runs=False, draw=lambda: 0.0)
    assert routes == [Route.KEEP, Route.ESCALATE]


def test_decisions_answer_from_the_student_when_kept_and_from_the_teacher_when_escalated():
    student = answers(0.9, 0.9, 0.3)
    decisions = decide(student, [Route.KEEP, Route.SHADOW, Route.ESCALATE], [None, "t-1", "t-2"])
    assert [d.as_response() for d in decisions] == [
        {"label": "label-0", "confidence": 0.9, "tier": "student", "student_label": "label-0"},
        # A shadowed row answers exactly as a kept one; its teacher label is only logged.
        {"label": "label-1", "confidence": 0.9, "tier": "student", "student_label": "label-1"},
        {"label": "t-2", "confidence": 0.3, "tier": "teacher", "student_label": "label-2", "teacher_label": "t-2"},
    ]
    assert [(d.shadow, d.teacher_label) for d in decisions] == [(False, None), (True, "t-1"), (False, "t-2")]


def test_an_escalated_row_without_a_teacher_answer_goes_back_to_the_caller():
    [decision] = decide(answers(0.3), [Route.ESCALATE], [None])
    assert decision.as_response() == {
        "label": None, "confidence": 0.3, "tier": "teacher", "student_label": "label-0", "escalate": True,
    }  # fmt: skip
