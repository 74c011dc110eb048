"""Job specs: what Job.params stores round-trips, and anything that does not fit is refused naming it."""

import pytest

from domain.specs import (
    DistillSpec,
    EvaluateSpec,
    SpecError,
    StudentOptions,
    SweepSpec,
    TeacherGate,
    TrainingOptions,
    spec_from_params,
)


def test_a_spec_round_trips_through_the_params_a_job_stores() -> None:
    spec = DistillSpec(
        teacher_id=1,
        train_dataset_id=2,
        validation_dataset_id=3,
        student=StudentOptions(layers=1, alpha=0.7),
        training=TrainingOptions(epochs=4, checkpoint_every_steps=10),
        gate=TeacherGate(score=0.9, source="validation accuracy", bar=0.85),
    )
    assert spec_from_params("distill_student", spec.to_params()) == spec
    evaluate = EvaluateSpec(dataset_ids=(4, 5), student_id=6, coverage=0.9)
    assert spec_from_params("evaluate", evaluate.to_params()) == evaluate


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"dataset_id": 1, "teacher_id": 2, "max_length": 64, "max_lenght": 3}, "max_lenght", "Unknown parameter"),
        ({"dataset_id": 1, "max_length": 64}, "teacher_id", "Missing parameter teacher_id"),
        ({"dataset_id": "1", "teacher_id": 2, "max_length": 64}, "dataset_id", "must be a whole number"),
        ({"dataset_id": 1, "teacher_id": 2, "max_length": 4}, "max_length", "between 8 and 8192"),
        ({"dataset_id": True, "teacher_id": 2, "max_length": 64}, "dataset_id", "must be a whole number"),
    ],
)
def test_params_that_do_not_fit_the_spec_are_refused_naming_the_field(params, field, words) -> None:
    with pytest.raises(SpecError, match=words) as raised:
        spec_from_params("profile_dataset", params)
    assert raised.value.field == field


def test_a_nested_misspelling_names_where_it_is() -> None:
    params = DistillSpec(teacher_id=1, train_dataset_id=2).to_params()
    params["training"]["learning_rte"] = 1e-3
    with pytest.raises(SpecError, match="Unknown parameter learning_rte in training") as raised:
        spec_from_params("distill_student", params)
    assert raised.value.field == "training.learning_rte"


def test_the_bounds_are_one_source() -> None:
    with pytest.raises(SpecError, match="learning rate must be between 1e-07 and 0.5"):
        TrainingOptions(learning_rate=0.9)
    with pytest.raises(SpecError, match="pretrained student needs a model"):
        StudentOptions(construction="pretrained")
    with pytest.raises(SpecError, match="exactly one model"):
        EvaluateSpec(dataset_ids=(1,), teacher_id=1, student_id=2)
    with pytest.raises(SpecError, match="between 1 and 8 student sizes"):
        SweepSpec(teacher_id=1, sizes=tuple(range(1, 10)))


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(SpecError, match="Unknown job kind 'cache_teacher_outputs'"):
        spec_from_params("cache_teacher_outputs", {})


def test_a_gate_passes_only_on_a_measured_score_at_the_bar() -> None:
    assert TeacherGate(score=0.85, source="x", bar=0.85).passes
    assert not TeacherGate(score=0.849, source="x", bar=0.85).passes
    assert not TeacherGate(score=None, source="", bar=0.85, confirmed_below_bar=True).passes
