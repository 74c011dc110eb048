"""Pages that show figures after temperature scaling say when T is suspect: fitted on an end of its search
range, or making the scored set worse."""

import html
import re

import pytest
import torch
from django.urls import reverse

from workers.ml.evidence import dataset_evidence, fit_calibration

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def at_bound_evaluation(evaluation):
    """The 3-row evaluation re-scored with a T fitted on a validation set the model gets all right (so the
    fit runs into the lower end of its range), as the evaluate job would store it."""
    calibration = fit_calibration(torch.tensor([[5.0, 0.0], [0.0, 5.0], [3.0, 1.0]]), torch.tensor([0, 1, 0]))
    evidence = dataset_evidence(
        torch.tensor([[0.0, 2.0], [1.5, 0.0], [1.0, 0.0]]), torch.tensor([1, 0, 1]), ["banking", "travel"], calibration
    )
    evaluation.metrics, evaluation.temperature = evidence, calibration.temperature
    evaluation.ece_after = evidence["after_scaling"]["ece"]
    evaluation.save()
    return evaluation


def test_the_detail_page_says_when_t_sits_on_a_bound_and_makes_the_set_worse(web, member, at_bound_evaluation):
    page = text(web(member).get(reverse("evaluation-detail", args=[at_bound_evaluation.pk])))

    assert "T = 0.01 is the lower end of the search range [0.01, 100]" in page
    assert "makes this set worse: NLL" in page


def test_the_calibration_page_flags_the_after_t_figures(web, member, task, at_bound_evaluation):
    response = web(member).get(reverse("evaluation-calibration", args=[task.pk]))

    assert response.status_code == 200
    assert "lower end of the search range" in text(response)
    assert response.content.decode().count('class="temperature-warning"') >= 2  # badge and note


def test_a_harmless_t_shows_no_warning(web, member, task, evaluation):
    assert evaluation.metrics["temperature_warning"] is None  # T = 1: nothing fitted to doubt
    for page in ("evaluation-calibration", "evaluation-overview"):
        assert "temperature-warning" not in web(member).get(reverse(page, args=[task.pk])).content.decode()
    detail = web(member).get(reverse("evaluation-detail", args=[evaluation.pk])).content.decode()
    assert "temperature-warning" not in detail
