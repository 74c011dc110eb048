"""A student with real files (a tiny BERT saved with its tokenizer under MODEL_ROOT, fingerprinted), its ROI
evidence and a saved scenario: what approval, deployment and serving tests stand on."""

from pathlib import Path

import pytest
import torch
from django.conf import settings
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from domain.digests import folder_sha256
from tests.roi import LABELS
from webapp.accounts.models import Membership, Role
from webapp.registry.models import Student

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "message", "bank", "card", "trip", "hotel", "flight"]


def save_tiny_classifier(folder: Path, *, seed: int = 0, layers: int = 2, initializer_range: float = 0.02) -> str:
    """Save a tiny 2-label BERT classifier and its tokenizer to `folder`; returns the folder's sha256.

    At BERT's usual initializer_range (0.02) every text gets a confidence of about 0.5; around 1.0 the random
    weights give confidences spread over (0.5, 1), so a τ keeps some texts and escalates others."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
        initializer_range=initializer_range,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    BertTokenizer(vocab={word: i for i, word in enumerate(WORDS)}).save_pretrained(folder)
    return folder_sha256(folder)


@pytest.fixture
def approver(team):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="april-approver", password="not-used-here")
    Membership.objects.create(team=team, user=user, role=Role.APPROVER)
    return user


@pytest.fixture
def deployable_student(roi_student) -> Student:
    relative = f"students/deployable-{roi_student.pk}"
    sha256 = save_tiny_classifier(Path(settings.MODEL_ROOT) / relative)
    roi_student.artifact = relative
    roi_student.artifact_sha256 = sha256
    roi_student.save(update_fields=["artifact", "artifact_sha256"])
    return roi_student


@pytest.fixture
def deployable_scenario(task, member, deployable_student):
    from webapp.economics.services import assumptions_from, scenario_save

    values = {"tau_rule": "manual", "manual_tau": 0.8}
    return scenario_save(
        task=task, student=deployable_student, user=member, name="Deploy case",
        assumptions=assumptions_from(values, task=task),
    )  # fmt: skip


@pytest.fixture
def approval_request(deployable_scenario, member):
    from webapp.approvals.services import request_create

    return request_create(scenario=deployable_scenario, user=member, note="Ready for a pilot")


@pytest.fixture
def approved_request(approval_request, approver):
    from webapp.approvals.services import request_decide

    overrides = {gate["key"]: "accepted for a pilot" for gate in approval_request.failed_gates}
    request_decide(request=approval_request, user=approver, outcome="approved", comment="Go", overrides=overrides)
    approval_request.refresh_from_db()
    return approval_request


@pytest.fixture
def deployment_and_key(approved_request, member):
    from webapp.approvals.services import deployment_create

    return deployment_create(request=approved_request, user=member)
