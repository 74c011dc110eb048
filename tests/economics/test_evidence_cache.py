"""Stored predictions never change, so a slider step reuses the set (and its routing curve) read by the last one,
and still refuses a set whose file has gone."""

import pytest
from django.core.exceptions import ValidationError

from webapp.economics.evidence import prediction_sets_forget, routing_evidence
from webapp.economics.routing import routing_curve
from webapp.economics.services import assumptions_from, scenario_compute
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import prediction_file

pytestmark = pytest.mark.django_db


def test_a_second_step_reuses_the_predictions_and_curve_read_by_the_first(task, roi_student) -> None:
    prediction_sets_forget()
    first, second = routing_evidence(task, roi_student), routing_evidence(task, roi_student)
    assert second.validation.predictions is first.validation.predictions
    assert routing_curve(second.validation.predictions) is routing_curve(first.validation.predictions)
    prediction_sets_forget()
    cold = routing_evidence(task, roi_student)
    assert cold.validation.predictions is not first.validation.predictions
    assert cold.validation.predictions == first.validation.predictions  # the same rows, read again


def test_the_figures_are_the_same_read_cold_or_reused(task, roi_student) -> None:
    assumptions = assumptions_from({"tau_rule": "manual", "manual_tau": 0.8}, task=task)
    prediction_sets_forget()
    cold = scenario_compute(task=task, student=roi_student, assumptions=assumptions)
    assert scenario_compute(task=task, student=roi_student, assumptions=assumptions) == cold


def test_a_predictions_file_deleted_after_it_was_read_is_refused(task, roi_student) -> None:
    evidence = routing_evidence(task, roi_student)
    path = prediction_file(Evaluation.objects.get(pk=evidence.validation.evaluation_id))
    assert path is not None
    path.unlink()
    with pytest.raises(ValidationError, match="no longer stored"):
        scenario_compute(
            task=task, student=roi_student, assumptions=assumptions_from({"tau_rule": "manual"}, task=task)
        )
