"""Uploaded decision files: CSV and JSONL in, rows out, or one clear message naming the file and the line."""

import io
from datetime import UTC, datetime

import pytest

from webapp.approvals import decision_files
from webapp.approvals.decision_files import DecisionFileError, parse_decisions

LABELS = ["banking", "travel"]


def parse(content: str, name: str = "decisions.csv"):
    return parse_decisions(io.BytesIO(content.encode()), filename=name, labels=LABELS)


def refused(content: str, name: str = "decisions.csv") -> DecisionFileError:
    with pytest.raises(DecisionFileError) as caught:
        parse(content, name)
    return caught.value


def test_it_reads_a_csv_with_every_column() -> None:
    rows = parse(
        "confidence,prediction,tier,teacher_prediction,label,timestamp\n"
        "0.97,travel,student,,travel,2026-03-01T09:30:00Z\n"
        "0.41,banking,teacher,travel,,2026-03-01T09:31:00\n"
        "0.9,banking,Student,banking,oos,\n"
    )
    assert [(r.line, r.confidence, r.prediction, r.tier) for r in rows] == [
        (2, 0.97, "travel", "student"),
        (3, 0.41, "banking", "teacher"),
        (4, 0.9, "banking", "student"),
    ]
    assert rows[0].timestamp == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert rows[1].timestamp == datetime(2026, 3, 1, 9, 31, tzinfo=UTC)  # no zone: UTC
    assert rows[2].timestamp is None and rows[2].label == "oos"  # a label outside the task's is out of scope
    assert rows[1].teacher_prediction == "travel" and rows[0].teacher_prediction == ""


def test_it_reads_jsonl_with_only_the_required_keys() -> None:
    rows = parse(
        '{"confidence": 0.8, "prediction": "travel", "tier": "student"}\n\n'
        '{"confidence": "0.2", "prediction": "banking", "tier": "teacher", "label": "banking"}\n',
        "log.jsonl",
    )
    assert [(r.line, r.confidence, r.label) for r in rows] == [(1, 0.8, ""), (3, 0.2, "banking")]


def test_it_rejects_a_csv_without_a_tier_column() -> None:
    error = refused("confidence,prediction\n0.9,travel\n")
    assert "no 'tier' column" in str(error) and error.line == 1
    assert "Required: confidence, prediction, tier" in str(error)


def test_it_rejects_a_jsonl_line_without_a_confidence() -> None:
    error = refused('{"confidence": 0.8, "prediction": "travel", "tier": "student"}\n{"prediction": "x"}\n', "a.jsonl")
    assert error.line == 2 and "a.jsonl line 2 has no 'confidence' or 'tier'" in str(error)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("1.3", "is not a probability in [0, 1]"), ("-0.1", "not a probability"), ("high", "is not a number"),
     ("nan", "not a probability"), ("", "is not a number")],
)  # fmt: skip
def test_it_rejects_a_confidence_outside_0_1_naming_the_line(value: str, problem: str) -> None:
    error = refused(f"confidence,prediction,tier\n0.5,travel,student\n{value},travel,student\n")
    assert error.line == 3 and "decisions.csv line 3: confidence" in str(error) and problem in str(error)


def test_it_rejects_a_prediction_the_task_does_not_know() -> None:
    error = refused("confidence,prediction,tier\n0.5,trvel,student\n")
    assert "line 2: prediction 'trvel' is not one of the task's labels (banking, travel)" in str(error)


def test_it_rejects_an_unknown_teacher_prediction_and_tier() -> None:
    assert "teacher_prediction 'x'" in str(
        refused("confidence,prediction,tier,teacher_prediction\n0.5,travel,teacher,x\n")
    )
    assert "tier 'router' must be 'student' or 'teacher'" in str(
        refused("confidence,prediction,tier\n0.5,travel,router\n")
    )


def test_it_rejects_a_malformed_json_line() -> None:
    error = refused('{"confidence": 0.8, "prediction": "travel", "tier": "student"}\n{"confidence": 0.8,\n', "d.jsonl")
    assert error.line == 2 and "d.jsonl line 2 is not valid JSON" in str(error)


def test_it_rejects_a_malformed_timestamp() -> None:
    error = refused("confidence,prediction,tier,timestamp\n0.5,travel,student,yesterday\n")
    assert "timestamp 'yesterday' is not an ISO 8601 time" in str(error)


def test_it_rejects_a_csv_row_with_too_many_fields() -> None:
    error = refused("confidence,prediction,tier\n0.5,travel,student,extra\n")
    assert error.line == 2 and "line 2 has 4 fields" in str(error)


def test_it_rejects_a_huge_file_before_parsing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decision_files, "MAX_BYTES", 64)
    error = refused("confidence,prediction,tier\n" + "0.5,travel,student\n" * 10)
    assert "a decisions upload takes at most" in str(error) and "Upload a sample, or split the file" in str(error)


def test_it_rejects_an_empty_file_and_a_header_alone() -> None:
    assert "is empty" in str(refused("\n"))
    assert "has no decisions" in str(refused("confidence,prediction,tier\n"))


def test_it_rejects_text_that_is_not_utf8() -> None:
    with pytest.raises(DecisionFileError, match="line 3 is not UTF-8"):
        parse_decisions(io.BytesIO(b"confidence,prediction,tier\n0.5,travel,student\n0.5,trav\xe9l,student\n"),
                        filename="d.csv", labels=LABELS)  # fmt: skip
