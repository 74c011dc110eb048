"""Which timing an ROI stands on: the student's own evaluation that timed its teacher beside it (the speed-up a
per-round ratio, with its spread) is preferred; two separate jobs are the fallback, and say so."""

import re

import pytest

from tests.factories import evaluation_of
from tests.roi import side_by_side_speed
from webapp.economics.evidence import routing_evidence
from webapp.economics.services import assumptions_from, scenario_compute
from webapp.evaluation.models import Evaluation

pytestmark = pytest.mark.django_db

LATENCY_ROUNDS = [5.2, 7.4, 5.9, 6.3, 6.0]
THROUGHPUT_ROUNDS = [6.1, 6.8, 6.6, 7.5, 6.4]


def _timed_side_by_side(student, teacher, dataset, *, teacher_id=None) -> Evaluation:
    """The student evaluated again (on the 3-row train set, so routing's validation evidence is unchanged)."""
    speed = side_by_side_speed(teacher, latency_rounds=LATENCY_ROUNDS, throughput_rounds=THROUGHPUT_ROUNDS)
    if teacher_id is not None:
        speed["side_by_side"]["teacher_id"] = teacher_id
    return evaluation_of(
        student, dataset, logits=[[0.0, 2.0], [1.5, 0.0], [1.0, 0.0]], targets=[1, 0, 1], speed=speed,
        teacher_logits=[[0.0, 2.0], [1.5, 0.0], [0.0, 1.0]],
    )  # fmt: skip


def test_the_side_by_side_timing_of_the_students_own_evaluation_is_preferred(task, roi_student, teacher, dataset):
    side = _timed_side_by_side(roi_student, teacher, dataset)

    evidence = routing_evidence(task, roi_student)

    # Both models' figures from that one run, not the teacher's own evaluation (60 rows/s, 12 ms).
    assert evidence.teacher_throughput.value == 58.0 and evidence.teacher_latency_ms.value == 13.0
    assert evidence.student_throughput.value == 380.0
    assert f"evaluate job {side.job_id}" in evidence.teacher_throughput.source
    assert "beside the student" in evidence.teacher_throughput.source
    speedup = evidence.speedup
    assert speedup.side_by_side and speedup.rounds == 5 and speedup.warning == ""
    assert (speedup.latency, speedup.latency_range) == (6.0, (5.2, 7.4))
    assert (speedup.throughput, speedup.throughput_range) == (6.6, (6.1, 7.5))
    assert re.search(rf"evaluate job {side.job_id}, student and teacher timed side by side, \d{{4}}-\d\d-\d\d, CPU",
                     speedup.source)  # fmt: skip


def test_separate_jobs_are_the_fallback_and_are_labelled_less_reliable(task, roi_student, teacher):
    student_timing = Evaluation.objects.filter(student=roi_student).latest("created_at")
    teacher_timing = Evaluation.objects.filter(teacher=teacher).latest("created_at")

    evidence = routing_evidence(task, roi_student)

    speedup = evidence.speedup
    assert not speedup.side_by_side and speedup.rounds == 0 and speedup.latency_range is None
    assert speedup.latency == pytest.approx(12.0 / 2.0) and speedup.throughput == pytest.approx(400.0 / 60.0)
    day = teacher_timing.created_at.date().isoformat()
    assert speedup.warning.startswith(
        f"teacher and student timed in different jobs (#{teacher_timing.job_id} on {day}, "
        f"#{student_timing.job_id} on {student_timing.created_at.date().isoformat()}): ratio less reliable"
    )


def test_a_side_by_side_timing_of_another_teacher_is_not_used(task, roi_student, teacher, dataset):
    _timed_side_by_side(roi_student, teacher, dataset, teacher_id=teacher.pk + 1000)

    evidence = routing_evidence(task, roi_student)

    assert not evidence.speedup.side_by_side and "different jobs" in evidence.speedup.warning
    assert evidence.student_throughput.value == 380.0  # the student's newest timing, its own figures


def test_a_teacher_never_timed_gives_no_speed_up(task, roi_student, teacher):
    Evaluation.objects.filter(teacher=teacher).update(speed=None)

    evidence = routing_evidence(task, roi_student)

    assert evidence.speedup is None and evidence.teacher_throughput is None


def test_a_self_hosted_cost_ratio_carries_the_rounds_spread(task, roi_student, teacher, dataset):
    _timed_side_by_side(roi_student, teacher, dataset)
    values = {"tau_rule": "manual", "manual_tau": 0.8, "teacher_pricing": "self_hosted"}

    figures = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(values, task=task))

    costs = figures["costs"]
    low, high = costs["student_to_teacher_cost_range"]
    assert low < costs["student_to_teacher_cost"] < high
    # c_S / c_T moves inversely with the throughput ratio: the fastest round (7.5×) gives the lowest.
    measured = 380.0 / 58.0
    assert low == pytest.approx(costs["student_to_teacher_cost"] * measured / 7.5)
    assert high == pytest.approx(costs["student_to_teacher_cost"] * measured / 6.1)
    assert figures["evidence"]["speedup"]["latency_range"] == [5.2, 7.4]
