"""The routing curve, the τ rules and τ applied to other sets, on tiny prediction sets checked by hand."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.economics.routing import (
    PredictionSet,
    RoutingInputError,
    apply_tau,
    prediction_set_from_rows,
    routing_curve,
    routing_point,
    tau_for_quality_bar,
    upfront_routing,
    upfront_routing_model,
    user_tau,
)

LABELS = ("a", "b")


def prediction_set(rows: list[tuple[float, str, str, str | None]], labels: tuple[str, ...] = LABELS) -> PredictionSet:
    """rows: (confidence, student prediction, teacher prediction, label), row ids in order."""
    return PredictionSet(
        row_ids=tuple(range(len(rows))),
        confidence=tuple(r[0] for r in rows),
        prediction=tuple(r[1] for r in rows),
        teacher_prediction=tuple(r[2] for r in rows),
        label=tuple(r[3] for r in rows),
        in_scope=tuple(r[3] in labels for r in rows),
    )


# Six rows, worked by hand below. Student right on rows 0 and 5; teacher right on 0, 1 and 4; row 2 is out of
# scope, row 3 unlabelled. Scorable rows: 0, 1, 2, 4, 5 (five); in scope: 0, 1, 4, 5 (four).
HAND = prediction_set(
    [
        (0.9, "a", "a", "a"),
        (0.8, "b", "a", "a"),
        (0.8, "a", "a", "oos"),
        (0.6, "b", "b", None),
        (0.4, "a", "b", "b"),
        (0.2, "b", "a", "b"),
    ]
)
# (τ, kept, kept accuracy, kept agreement, cascade quality); coverage = kept / 6.
HAND_CURVE = [
    # keeps row 0 (right); the teacher handles escalated 1, 2 (oos) and 4 but not 5: (1 + 3) / 5
    (0.9, 1, 1.0, 1.0, 4 / 5),
    # keeps 0, 1 and the oos row 2 (a wrong answer when kept); escalated: 4 handled, 5 not: (1 + 1) / 5
    (0.8, 3, 1 / 2, 2 / 3, 2 / 5),
    # also keeps the unlabelled row 3: no change to quality, one more agreement
    (0.6, 4, 1 / 2, 3 / 4, 2 / 5),
    # also keeps 4 (student wrong); escalated 5 the teacher gets wrong: 1 / 5
    (0.4, 5, 1 / 3, 3 / 5, 1 / 5),
    # keeps everything: the student handles 0 and 5
    (0.2, 6, 2 / 4, 3 / 6, 2 / 5),
]


def test_the_curve_matches_the_hand_worked_example_in_every_column() -> None:
    curve = routing_curve(HAND)

    assert (curve.rows, curve.scorable_rows, curve.in_scope_rows) == (6, 5, 4)
    assert curve.teacher_quality == pytest.approx(4 / 5)  # 0, 1, 4 right and the oos row escalated
    assert curve.teacher_accuracy == pytest.approx(3 / 4)
    assert curve.student_accuracy == pytest.approx(2 / 4)
    got = [(p.tau, p.kept, p.kept_accuracy, p.kept_agreement, p.cascade_quality) for p in curve.points]
    assert got == [pytest.approx(row) for row in HAND_CURVE]
    assert [p.coverage for p in curve.points] == pytest.approx([1 / 6, 3 / 6, 4 / 6, 5 / 6, 1])


def test_an_out_of_scope_row_counts_as_handled_only_when_escalated() -> None:
    rows = prediction_set([(0.5, "a", "a", "a"), (0.3, "a", "a", "oos")])

    escalated, kept = routing_point(rows, 0.5), routing_point(rows, 0.3)

    assert escalated.cascade_quality == 1.0  # the student answers row 0, the oos row goes to the fallback
    assert kept.cascade_quality == 0.5  # the student answers the oos row with an in-scope label: wrong
    assert kept.kept_accuracy == 1.0  # kept accuracy is on in-scope rows only
    assert kept.kept_agreement == 1.0


def test_unlabelled_rows_are_traffic_but_never_scored() -> None:
    rows = prediction_set([(0.9, "a", "b", None), (0.1, "a", "a", "a")])

    point = routing_point(rows, 0.5)

    assert (point.coverage, point.kept_accuracy, point.kept_agreement) == (0.5, None, 0.0)
    assert point.cascade_quality == 1.0  # only row 1 is scored, and the teacher gets it right


def test_a_tau_above_every_confidence_leaves_the_teacher_alone() -> None:
    point = routing_point(HAND, 0.95)

    assert (point.kept, point.coverage, point.kept_accuracy, point.kept_agreement) == (0, 0.0, None, None)
    assert point.cascade_quality == pytest.approx(routing_curve(HAND).teacher_quality)


def test_ties_are_one_threshold_keeping_all_tied_rows() -> None:
    taus = [p.tau for p in routing_curve(HAND).points]

    assert taus == [0.9, 0.8, 0.6, 0.4, 0.2]  # rows 1 and 2 share 0.8
    assert routing_point(HAND, 0.8).kept == 3


# --- the τ rules ----------------------------------------------------------------------------------------------


def test_the_quality_bar_rule_takes_the_most_coverage_that_meets_the_bar_even_past_a_dip() -> None:
    # Required: max(0.4, 0.5 × 0.8) = 0.4, met at τ 0.9, 0.8, 0.6 and 0.2 (not 0.4): the most coverage is τ = 0.2.
    choice = tau_for_quality_bar(routing_curve(HAND), min_quality=0.4, min_retention=0.5)

    assert choice.found and choice.rule == "quality_bar"
    assert choice.tau == 0.2 and choice.point is not None and choice.point.coverage == 1.0
    assert "≥ 40.00%" in choice.reason


def test_the_quality_bar_rule_applies_retention_against_the_teacher() -> None:
    # Full retention of the teacher's 0.8 is only met by keeping row 0 alone.
    choice = tau_for_quality_bar(routing_curve(HAND), min_quality=0.0, min_retention=1.0)

    assert choice.tau == 0.9
    assert choice.point is not None and choice.point.coverage == pytest.approx(1 / 6)


def test_the_quality_bar_rule_says_why_when_no_tau_meets_it() -> None:
    choice = tau_for_quality_bar(routing_curve(HAND), min_quality=0.9, min_retention=0.5)

    assert not choice.found and choice.point is None
    assert "No τ meets" in choice.reason and "80.00%" in choice.reason and "16.7%" in choice.reason


def test_the_quality_bar_rule_needs_labels() -> None:
    unlabelled = prediction_set([(0.9, "a", "a", None)])

    choice = tau_for_quality_bar(routing_curve(unlabelled), min_quality=0.5, min_retention=0.5)

    assert not choice.found and "no labelled rows" in choice.reason


def test_a_user_set_tau_reports_what_validation_says_at_it() -> None:
    choice = user_tau(HAND, 0.7)

    assert choice.rule == "user" and choice.tau == 0.7
    assert choice.point == routing_point(HAND, 0.7)
    assert choice.point.kept == 3


@pytest.mark.parametrize("tau", [-0.1, 1.5, math.nan, math.inf])
def test_a_tau_outside_zero_one_is_refused(tau: float) -> None:
    with pytest.raises(RoutingInputError, match="τ must be a confidence in"):
        user_tau(HAND, tau)


@pytest.mark.parametrize(("quality", "retention"), [(1.2, 0.9), (0.9, -0.1), (math.nan, 0.9)])
def test_a_bar_outside_zero_one_is_refused(quality: float, retention: float) -> None:
    with pytest.raises(RoutingInputError, match=r"must be in \[0, 1\]"):
        tau_for_quality_bar(routing_curve(HAND), min_quality=quality, min_retention=retention)


# --- τ applied to another set ---------------------------------------------------------------------------------


def test_applying_tau_to_another_set_shows_predicted_realised_and_the_gaps() -> None:
    # On "test" the student is less sure: at τ = 0.6 it keeps 1 of 4 rows (validation: 4 of 6).
    test = prediction_set(
        [
            (0.7, "a", "a", "a"),
            (0.5, "b", "b", "a"),
            (0.3, "a", "b", "b"),
            (0.1, "b", "b", "oos"),
        ]
    )

    applied = apply_tau(0.6, validation=HAND, other=test)

    assert applied.predicted == routing_point(HAND, 0.6)
    assert (applied.realised.kept, applied.realised.coverage) == (1, 0.25)
    # kept row 0 right; escalated: teacher wrong on 1, right on 2, oos row 3 handled: 3 / 4
    assert applied.realised.cascade_quality == 0.75
    assert applied.coverage_gap == pytest.approx(0.25 - 4 / 6)
    assert applied.cascade_quality_gap == pytest.approx(0.75 - 2 / 5)
    assert applied.kept_accuracy_gap == pytest.approx(1.0 - 1 / 2)
    assert applied.kept_agreement_gap == pytest.approx(1.0 - 3 / 4)


def test_a_gap_is_none_when_one_side_has_nothing_to_measure() -> None:
    nothing_kept = prediction_set([(0.1, "a", "a", "a")])

    applied = apply_tau(0.6, validation=HAND, other=nothing_kept)

    assert applied.kept_accuracy_gap is None and applied.kept_agreement_gap is None
    assert applied.coverage_gap == pytest.approx(-4 / 6)


# --- upfront routing (modelled) -------------------------------------------------------------------------------


def test_upfront_routing_is_modelled_from_the_stated_router_accuracy() -> None:
    # p = 0.6, t_s = 0.9, t_u = 0.5, a = 0.8: s = 0.48 + 0.08 = 0.56; q = 0.48 + 0.2·0.6·0.9 + 0.8·0.4·0.5 = 0.748
    model = upfront_routing_model(
        router_accuracy=0.8, suitable_share=0.6, teacher_if_suitable=0.9, teacher_if_unsuitable=0.5
    )

    assert model.modelled is True and "not measured" in model.note
    assert model.student_share == pytest.approx(0.56)
    assert model.quality == pytest.approx(0.748)


def test_a_perfect_router_sends_exactly_the_rows_the_student_handles() -> None:
    model = upfront_routing_model(
        router_accuracy=1.0, suitable_share=0.6, teacher_if_suitable=0.9, teacher_if_unsuitable=0.5
    )

    assert model.student_share == pytest.approx(0.6)
    assert model.quality == pytest.approx(0.6 + 0.4 * 0.5)


def test_upfront_routing_measures_the_student_and_teacher_on_the_rows() -> None:
    # Scorable rows of HAND: the student handles 0 and 5 (p = 2/5); the teacher handles 0 of those (t_s = 1/2)
    # and 1, 2 (oos), 4 of the other three (t_u = 1).
    model = upfront_routing(HAND, router_accuracy=0.9)

    assert (model.suitable_share, model.teacher_if_suitable, model.teacher_if_unsuitable) == pytest.approx(
        (2 / 5, 1 / 2, 1.0)
    )
    assert model.modelled


def test_upfront_routing_refuses_a_router_accuracy_outside_zero_one() -> None:
    with pytest.raises(RoutingInputError, match="router accuracy"):
        upfront_routing(HAND, router_accuracy=1.1)


def test_upfront_routing_needs_labels() -> None:
    with pytest.raises(RoutingInputError, match="labelled rows"):
        upfront_routing(prediction_set([(0.9, "a", "a", None)]), router_accuracy=0.9)


# --- loading evaluation rows ----------------------------------------------------------------------------------


def student_row(row: int, confidence: float, prediction: str, label: str | None, **extra: object) -> dict[str, object]:
    return {
        "row": row,
        "text": f"text {row}",
        "label": label,
        "prediction": prediction,
        "confidence": confidence,
        **extra,
    }


def teacher_row(row: int, prediction: str, label: str | None) -> dict[str, object]:
    return {"row": row, "text": f"text {row}", "label": label, "prediction": prediction, "confidence": 0.99}


def test_it_matches_the_teachers_predictions_by_row_id() -> None:
    students = [student_row(1, 0.4, "b", "oos"), student_row(0, 0.9, "a", "a"), student_row(2, 0.5, "a", None)]
    teachers = [teacher_row(2, "b", None), teacher_row(0, "b", "a"), teacher_row(1, "a", "oos")]

    loaded = prediction_set_from_rows(students, labels=LABELS, teacher_rows=teachers)

    assert loaded.row_ids == (0, 1, 2)
    assert loaded.confidence == (0.9, 0.4, 0.5)
    assert loaded.prediction == ("a", "b", "a")
    assert loaded.teacher_prediction == ("b", "a", "b")
    assert loaded.label == ("a", "oos", None)
    assert loaded.in_scope == (True, False, False)


def test_without_teacher_rows_it_uses_the_teacher_prediction_the_evaluation_stored() -> None:
    students = [student_row(0, 0.9, "a", "a", teacher_prediction="b", p_teacher_label=0.1)]

    assert prediction_set_from_rows(students, labels=LABELS).teacher_prediction == ("b",)


def test_it_refuses_teacher_predictions_on_other_rows() -> None:
    students = [student_row(i, 0.9, "a", "a") for i in range(4)]
    teachers = [teacher_row(i, "a", "a") for i in (0, 1, 7)]

    with pytest.raises(RoutingInputError, match=r"not on the same rows: 2 only in the student's \(e\.g\. 2, 3\)"):
        prediction_set_from_rows(students, labels=LABELS, teacher_rows=teachers)


def test_it_refuses_teacher_predictions_from_another_dataset() -> None:
    with pytest.raises(RoutingInputError, match="not from the same dataset"):
        prediction_set_from_rows(
            [student_row(0, 0.9, "a", "a")], labels=LABELS, teacher_rows=[teacher_row(0, "a", "b")]
        )


@pytest.mark.parametrize(
    ("confidence", "message"),
    [(math.nan, "is NaN"), (1.5, r"1\.5 is not a probability in \[0, 1\]"), ("high", "must be a number")],
)
def test_it_refuses_a_bad_confidence_naming_the_row(confidence: object, message: str) -> None:
    rows = [
        student_row(0, 0.9, "a", "a", teacher_prediction="a"),
        {**student_row(1, 0.5, "a", "a"), "confidence": confidence},
    ]

    with pytest.raises(
        RoutingInputError, match=rf"^The student's predictions, line 2 \(row 1\): 'confidence' {message}"
    ):
        prediction_set_from_rows(rows, labels=LABELS)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "empty"),
        ([student_row(0, 0.9, "a", "a"), student_row(0, 0.8, "a", "a")], "row 0 appears twice"),
        ([{**student_row(0, 0.9, "a", "a"), "row": True}], "'row' must be an integer"),
        ([student_row(0, 0.9, "a", "a")], "no 'teacher_prediction'"),
    ],
)
def test_it_refuses_bad_rows(rows: list[dict[str, object]], message: str) -> None:
    with pytest.raises(RoutingInputError, match=message):
        prediction_set_from_rows(rows, labels=LABELS)


def test_it_refuses_an_empty_label_set() -> None:
    with pytest.raises(RoutingInputError, match="no labels"):
        prediction_set_from_rows([student_row(0, 0.9, "a", "a", teacher_prediction="a")], labels=[])


def test_a_prediction_set_refuses_columns_of_different_lengths_and_nan() -> None:
    with pytest.raises(RoutingInputError, match="different lengths"):
        PredictionSet((0, 1), (0.5,), ("a",), ("a",), ("a",), (True,))
    with pytest.raises(RoutingInputError, match="Row 0: 'confidence' is NaN"):
        PredictionSet((0,), (math.nan,), ("a",), ("a",), ("a",), (True,))
    with pytest.raises(RoutingInputError, match="empty"):
        PredictionSet((), (), (), (), (), ())


def test_the_error_is_a_value_error() -> None:
    assert issubclass(RoutingInputError, ValueError)


# --- properties -----------------------------------------------------------------------------------------------

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]),  # repeated values: ties are common in practice
        st.sampled_from(LABELS),
        st.sampled_from(LABELS),
        st.sampled_from([*LABELS, "oos", None]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(rows_strategy)
def test_every_point_of_the_sorted_curve_equals_the_direct_computation(
    rows: list[tuple[float, str, str, str | None]],
) -> None:
    predictions = prediction_set(rows)

    curve = routing_curve(predictions)

    assert [p.tau for p in curve.points] == sorted({r[0] for r in rows}, reverse=True)
    for point in curve.points:
        direct = routing_point(predictions, point.tau)
        assert (point.kept, point.coverage) == (direct.kept, direct.coverage)
        for got, want in (
            (point.kept_accuracy, direct.kept_accuracy),
            (point.kept_agreement, direct.kept_agreement),
            (point.cascade_quality, direct.cascade_quality),
        ):
            assert got == (None if want is None else pytest.approx(want))
    assert curve.points[-1].coverage == 1.0
    assert all(a.coverage < b.coverage for a, b in zip(curve.points, curve.points[1:], strict=False))
