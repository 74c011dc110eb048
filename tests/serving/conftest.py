"""Deployments for the serving process (tests/serving_process.py) to serve:
the tiny student of tests/deployable.py (with weights spread enough that τ keeps some texts and escalates
others) and a second tiny BERT as the fallback teacher, saved under MODEL_ROOT.

Tests that talk to the process need `transactional_db`: it only sees committed rows."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.deployable import save_tiny_classifier
from webapp.registry.models import Student, Teacher
from webapp.registry.services import teacher_register

# Which words the tiny models know (tests/deployable.py WORDS); other words are [UNK].
WORDS = ["message", "bank", "card", "trip", "hotel", "flight"]


@pytest.fixture
def teacher(task, member) -> Teacher:
    """The fallback teacher: a real (tiny) classifier for the same two labels, which the process can run."""
    relative = f"teachers/tiny-{task.pk}"
    save_tiny_classifier(Path(settings.MODEL_ROOT) / relative, seed=1, initializer_range=0.3)
    return teacher_register(task=task, user=member, name="Tiny teacher", model_ref=f"./{relative}")


@pytest.fixture
def deployable_student(roi_student) -> Student:
    """The approved student, with confidences spread over (0.5, 1) on texts of WORDS: τ = 0.8 keeps about two
    in three and escalates the rest."""
    relative = f"students/serving-{roi_student.pk}"
    roi_student.artifact = relative
    roi_student.artifact_sha256 = save_tiny_classifier(Path(settings.MODEL_ROOT) / relative, initializer_range=0.5)
    roi_student.save(update_fields=["artifact", "artifact_sha256"])
    return roi_student
