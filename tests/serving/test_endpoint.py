"""The serving process, for real: a separate process on a free port, reading the test database."""

import hashlib
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
from django.conf import settings

from tests.serving.offline import TIE, expected_cascade, sample_texts
from webapp.approvals.models import ApprovalRequest, ServedDecision
from webapp.approvals.services import (
    deployment_create,
    deployment_key_rotate,
    deployment_revoke,
    request_create,
    request_decide,
)
from webapp.economics.models import Scenario
from webapp.registry.models import Teacher

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_concurrent_requests_get_the_offline_cascade_answers_and_each_decision_is_logged_once(
    serving, deployment_and_key
):
    deployment, key = deployment_and_key
    texts = sample_texts(96)
    expected = dict(zip(texts, expected_cascade(deployment, texts), strict=True))
    assert 0.2 < sum(e.kept for e in expected.values()) / len(texts) < 0.9  # both tiers are exercised
    # 32 clients at once, 1 to 5 texts each; the barrier sends them together, so rows share forward passes.
    requests = [texts[i : i + 1 + i % 5] for i in range(0, len(texts), 3)][:32]
    sent = [text for request in requests for text in request]
    before = serving.health()
    barrier = Barrier(len(requests))

    def ask(request: list[str]):
        barrier.wait()
        return serving.predict(deployment.pk, {"texts": request}, key=key)

    with ThreadPoolExecutor(len(requests)) as pool:
        replies = list(pool.map(ask, requests))

    for request, reply in zip(requests, replies, strict=True):
        assert reply.status == 200, reply
        assert reply.body["deployment"] == deployment.pk and reply.body["tau"] == deployment.tau
        assert len(reply.body["predictions"]) == len(request)
        for text, answer in zip(request, reply.body["predictions"], strict=True):
            want = expected[text]
            assert answer["confidence"] == pytest.approx(want.confidence, abs=TIE)
            assert answer["student_label"] == want.student_label
            if abs(want.confidence - deployment.tau) < TIE:
                continue
            if want.kept:
                assert answer == {
                    "label": want.student_label, "confidence": answer["confidence"], "tier": "student",
                    "student_label": want.student_label,
                }  # fmt: skip
            else:
                assert answer["tier"] == "teacher"
                assert answer["label"] == answer["teacher_label"] == want.teacher_label
                assert "escalate" not in answer
    after = serving.health()
    rows = after["rows"] - before["rows"]
    assert after["forward_passes"] - before["forward_passes"] < rows  # batches held more than one row

    logged = ServedDecision.objects.filter(deployment=deployment)
    assert logged.count() == len(sent)
    assert Counter(logged.values_list("text_sha256", flat=True)) == Counter(_sha(text) for text in sent)
    for row in logged:
        text = next(t for t in sent if _sha(t) == row.text_sha256)
        assert row.source == ServedDecision.Source.ENDPOINT and not row.shadow
        assert row.student_label == expected[text].student_label
        assert row.confidence == pytest.approx(expected[text].confidence, abs=TIE)
        assert row.latency_ms > 0
        if abs(expected[text].confidence - deployment.tau) >= TIE:
            assert row.tier == ("student" if expected[text].kept else "teacher")
            assert row.teacher_label == ("" if expected[text].kept else expected[text].teacher_label)


def test_one_text_can_be_sent_as_text(serving, deployment_and_key):
    deployment, key = deployment_and_key
    reply = serving.predict(deployment.pk, {"text": "bank card"}, key=key)
    assert reply.status == 200
    assert len(reply.body["predictions"]) == 1


def test_shadow_rate_one_sends_every_kept_row_to_the_teacher_and_logs_its_label(serving, approved_request, member):
    deployment, key = deployment_create(request=approved_request, user=member, shadow_rate=1.0)
    texts = sample_texts(24, seed=1)
    expected = expected_cascade(deployment, texts)
    reply = serving.predict(deployment.pk, {"texts": texts}, key=key)
    assert reply.status == 200
    logged = {row.text_sha256: row for row in ServedDecision.objects.filter(deployment=deployment)}
    kept = [(text, want, answer) for text, want, answer in zip(texts, expected, reply.body["predictions"], strict=True)
            if want.kept and abs(want.confidence - deployment.tau) >= TIE]  # fmt: skip
    assert kept
    for text, want, answer in kept:
        # The answer is the student's, as without shadowing; the log holds the teacher's label too.
        assert answer["tier"] == "student" and answer["label"] == want.student_label and "teacher_label" not in answer
        row = logged[_sha(text)]
        assert row.shadow and row.tier == "student" and row.teacher_label == want.teacher_label
    assert not any(row.shadow for row in logged.values() if row.tier == "teacher")


def test_rows_for_a_teacher_without_a_model_go_back_to_the_caller_marked_escalate(
    serving, teacher, approval_request, approver
):
    # Arranged before the request froze its evidence: the fallback teacher is one whose outputs were uploaded.
    Teacher.objects.filter(pk=teacher.pk).update(backend=Teacher.Backend.PRECOMPUTED)
    request = _approved_again(approval_request, approver)
    deployment, key = deployment_create(request=request, user=request.requested_by, shadow_rate=1.0)
    assert deployment.manifest["fallback_teacher"]["precomputed"]
    texts = sample_texts(24, seed=2)
    expected = expected_cascade(deployment, texts)
    reply = serving.predict(deployment.pk, {"texts": texts}, key=key)
    assert reply.status == 200
    for want, answer in zip(expected, reply.body["predictions"], strict=True):
        if abs(want.confidence - deployment.tau) < TIE:
            continue
        if want.kept:
            assert answer["tier"] == "student" and answer["label"] == want.student_label and "escalate" not in answer
        else:
            assert answer == {
                "label": None, "confidence": answer["confidence"], "tier": "teacher",
                "student_label": want.student_label, "escalate": True,
            }  # fmt: skip
    logged = ServedDecision.objects.filter(deployment=deployment)
    assert logged.count() == len(texts)
    assert not logged.filter(shadow=True).exists()  # no teacher to shadow with
    assert set(logged.filter(tier="teacher").values_list("teacher_label", flat=True)) <= {""}


# --- refusals ----------------------------------------------------------------------------------------------------


def test_it_answers_401_without_a_key_or_with_one_that_opens_nothing(serving, deployment_and_key):
    deployment, _ = deployment_and_key
    for key in (None, "", "not-a-serving-key", "dsv_" + "x" * 43):
        reply = serving.predict(deployment.pk, {"text": "bank"}, key=key)
        assert reply.status == 401, key
        assert reply.body["detail"]
    reply = serving.request("POST", f"/v1/deployments/{deployment.pk}/predict", body=b"{}",
                            headers={"Authorization": "Basic dXNlcjpwYXNz"})  # fmt: skip
    assert reply.status == 401


def test_a_key_answers_only_for_its_own_deployment_and_never_says_whether_another_exists(
    serving, deployment_and_key, approver
):
    first, first_key = deployment_and_key
    second, second_key = deployment_create(request=_approved_again(first.request, approver), user=first.created_by)
    for deployment_id, key in ((first.pk, second_key), (second.pk, first_key), (999_999, second_key)):
        reply = serving.predict(deployment_id, {"text": "bank"}, key=key)
        assert reply.status == 404
        assert reply.body == {"detail": f"No deployment #{deployment_id} answers to this key."}
    assert ServedDecision.objects.count() == 0


def test_revoking_stops_a_running_process_answering_at_once(serving, deployment_and_key, approver):
    deployment, key = deployment_and_key
    assert serving.predict(deployment.pk, {"text": "hotel trip"}, key=key).status == 200
    deployment_revoke(deployment=deployment, user=approver, reason="Drift on the monitoring page")
    reply = serving.predict(deployment.pk, {"text": "hotel trip"}, key=key)
    assert reply.status == 410
    assert "revoked" in reply.body["detail"]
    assert ServedDecision.objects.filter(deployment=deployment).count() == 1


def test_a_rotated_key_stops_at_once_and_a_superseded_deployment_answers_410(serving, deployment_and_key, approver):
    deployment, key = deployment_and_key
    new_key = deployment_key_rotate(deployment=deployment, user=approver)
    assert serving.predict(deployment.pk, {"text": "bank"}, key=key).status == 401
    assert serving.predict(deployment.pk, {"text": "bank"}, key=new_key).status == 200
    deployment_create(request=_approved_again(deployment.request, approver), user=deployment.created_by)
    reply = serving.predict(deployment.pk, {"text": "bank"}, key=new_key)
    assert reply.status == 410
    assert "superseded" in reply.body["detail"]


def test_a_body_over_the_limits_is_refused_413(serving, deployment_and_key):
    deployment, key = deployment_and_key
    reply = serving.predict(deployment.pk, {"texts": ["bank"] * 257}, key=key)
    assert reply.status == 413 and "257 texts" in reply.body["detail"]
    reply = serving.predict(deployment.pk, {"text": "bank " * (1024 * 1024 // 5 + 1)}, key=key)
    assert reply.status == 413 and "larger than" in reply.body["detail"]
    assert ServedDecision.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"texts": "bank"}', "must be a list"),
        (b'{"texts": []}', "empty"),
        (b'{"texts": ["bank", 3]}', '"texts"[1] must be a string'),
        (b'{"texts": ["bank", "  "]}', '"texts"[1] is empty'),
        (b'{"text": ""}', '"text" is empty'),
        (b'{"text": null}', "not null"),
        (b'{"text": "a", "texts": ["b"]}', "exactly one"),
        (b'{"txt": "bank"}', "Unknown field"),
        (b"\xff\xfe", "not"),
    ],
)
def test_a_malformed_body_is_refused_400_saying_what_is_wrong(serving, deployment_and_key, body, says):
    deployment, key = deployment_and_key
    reply = serving.request("POST", f"/v1/deployments/{deployment.pk}/predict", body=body, key=key)
    assert reply.status == 400
    assert says in reply.body["detail"]


def test_an_artifact_changed_since_the_approval_is_refused_at_load(serving, deployment_and_key):
    deployment, key = deployment_and_key
    config = Path(settings.MODEL_ROOT) / deployment.student.artifact / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "num_hidden_layers": 1}))
    reply = serving.predict(deployment.pk, {"text": "bank card"}, key=key)
    assert reply.status == 503
    assert "changed on disk since the evidence was measured" in reply.body["detail"]
    assert ServedDecision.objects.count() == 0


def test_wrong_methods_and_paths_get_json_errors(serving, deployment_and_key):
    deployment, key = deployment_and_key
    reply = serving.request("GET", f"/v1/deployments/{deployment.pk}/predict", key=key)
    assert reply.status == 405
    assert serving.request("GET", "/v1/nothing").status == 404


def test_healthz_says_the_database_answers(serving):
    assert serving.health()["database"] == "ok"


def _approved_again(request: ApprovalRequest, approver) -> ApprovalRequest:
    """A new approved request on the same scenario, its evidence read afresh from the database."""
    again = request_create(scenario=Scenario.objects.get(pk=request.scenario_id), user=request.requested_by)
    overrides = {gate["key"]: "accepted for a pilot" for gate in again.failed_gates}
    request_decide(request=again, user=approver, outcome="approved", comment="Go", overrides=overrides)
    again.refresh_from_db()
    return again


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_it_answers_again_after_a_postgresql_restart(serving, deployment_and_key):
    """Its database connections are kept open between requests: one broken by a restart must be replaced,
    not fail the next request."""
    from tests.outages import outage

    deployment, key = deployment_and_key
    assert serving.predict(deployment.pk, {"text": "bank card"}, key=key).status == 200
    with outage("postgres"):
        pass  # stopped and started again: every open connection is gone
    assert serving.health()["database"] == "ok"
    reply = serving.predict(deployment.pk, {"text": "hotel trip"}, key=key)
    assert reply.status == 200, reply
