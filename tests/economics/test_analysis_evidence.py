"""The analysis of a recorded student: evidence gathered from stored evaluations and jobs, figures computed."""

import pytest
from django.core.exceptions import ValidationError

from webapp.economics.analysis import Assumptions
from webapp.economics.evidence import candidate_students, routing_evidence
from webapp.economics.services import assumptions_from, scenario_compute, scenario_save

pytestmark = pytest.mark.django_db


def test_the_evidence_comes_from_the_stored_predictions_speed_and_jobs(task, roi_student) -> None:
    evidence = routing_evidence(task, roi_student)
    assert len(evidence.validation.predictions) == 400 and [o.role for o in evidence.others] == ["test"]
    assert evidence.student_throughput.value == 400.0 and evidence.teacher_throughput.value == 60.0
    assert "evaluate job" in evidence.student_throughput.source and evidence.student_throughput.device_kind == "cpu"
    assert sorted(c.device_seconds for c in evidence.compute) == [900.0, 1800.0]
    assert candidate_students(task) == [roi_student]


def test_a_scenario_is_computed_and_saved_as_versions(task, member, roi_student) -> None:
    assumptions = assumptions_from({"tau_rule": "manual", "manual_tau": 0.8}, task=task)
    figures = scenario_compute(task=task, student=roi_student, assumptions=assumptions)
    assert 0 < figures["share"] < 1 and figures["breakeven"]["verdict"]
    assert figures["applied"][0]["name"].startswith("test")
    first = scenario_save(task=task, student=roi_student, user=member, name="Base", assumptions=assumptions)
    second = scenario_save(task=task, student=roi_student, user=member, name="Base", assumptions=assumptions)
    assert (first.version, second.version) == (1, 2) and first.figures["tau"] == 0.8


def test_a_certified_tau_on_too_few_rows_is_refused_with_the_reason(task, roi_student) -> None:
    with pytest.raises(ValidationError, match="certified"):
        scenario_compute(task=task, student=roi_student, assumptions=Assumptions(tau_rule="certified"))
