"""Routing decisions logged by a deployment somewhere else, uploaded as CSV or JSON Lines, into rows, or a
DecisionFileError naming the file, the line and what to fix.

Plain Python (no Django), like the dataset parser it borrows its CSV reader from. Columns:

    confidence          the student's temperature-scaled top-class probability, in [0, 1]      (required)
    prediction          the student's label, one of the task's labels                           (required)
    tier                "student" (the student answered) or "teacher" (it escalated)             (required)
    teacher_prediction  the teacher's label, when it was asked (escalated, or a shadow sample)   (optional)
    label               the true label where known; one outside the task's labels is out of scope (optional)
    timestamp           ISO 8601 (e.g. 2026-03-01T09:30:00Z); without a zone it is UTC; blank: upload time

The whole file is checked before anything is returned, so a caller stores all of it or none of it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from webapp.registry.parsing import DatasetFormatError, csv_records, detect_format, json_kind

REQUIRED = ("confidence", "prediction", "tier")
OPTIONAL = ("teacher_prediction", "label", "timestamp")
TIERS = ("student", "teacher")
# A monitoring upload is a sample, not a data lake: 20 MB is about 200,000 decisions.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000


class DecisionFileError(ValueError):
    """A problem the user can fix; str(err) is a full sentence naming the file and, where it applies, the line."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class UploadedDecision:
    line: int
    confidence: float
    prediction: str
    tier: str
    teacher_prediction: str  # "" when the teacher was not asked
    label: str  # "" when unknown
    timestamp: datetime | None  # None: the caller uses the upload time


def too_large_message(filename: str, size: int) -> str:
    return (
        f"{filename} is {size / 1024 / 1024:.1f} MB; a decisions upload takes at most {MAX_BYTES // 1024 // 1024} MB "
        f"(about {MAX_ROWS:,} decisions). Upload a sample, or split the file."
    )


def parse_decisions(raw: IO[bytes], *, filename: str, labels: Collection[str]) -> list[UploadedDecision]:
    """Every decision in the file, checked against the task's `labels`. Raises DecisionFileError."""
    head = raw.read(MAX_BYTES + 1)
    if len(head) > MAX_BYTES:
        raise DecisionFileError(too_large_message(filename, len(head) + len(raw.read())))
    if not head.strip():
        raise DecisionFileError(f"{filename} is empty: it has no decisions to upload.")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = head[: err.start].count(b"\n") + 1
        raise DecisionFileError(
            f"{filename} line {line} is not UTF-8 text: save the file as UTF-8 and upload it again.", line=line
        ) from None
    checker = _RowChecker(filename, frozenset(labels))
    try:
        rows: list[tuple[int, Mapping[str, Any]]]
        if detect_format(filename, head) == "csv":
            rows = list(_csv_rows(text, filename))
        else:
            rows = list(_jsonl_rows(text, filename))
    except DatasetFormatError as err:  # the shared CSV reader's messages name the file and line already
        raise DecisionFileError(err.message, line=err.line) from None
    if not rows:
        raise DecisionFileError(f"{filename} has no decisions: add at least one row.")
    if len(rows) > MAX_ROWS:
        raise DecisionFileError(
            f"{filename} has {len(rows):,} decisions; one upload takes at most {MAX_ROWS:,}. Split the file.",
            line=rows[MAX_ROWS][0],
        )
    return [checker.decision(line, values) for line, values in rows]


def _csv_rows(text: str, filename: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    header: list[str] | None = None
    for line, fields in csv_records(io.StringIO(text, newline=""), filename=filename):
        if header is None:
            header = [name.strip() for name in fields]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise DecisionFileError(
                    f"{filename} has no {_names(missing)} column{'s' if len(missing) > 1 else ''} (line {line} is "
                    f"the header: {', '.join(header)}). Required: {', '.join(REQUIRED)}; optional: "
                    f"{', '.join(OPTIONAL)}.",
                    line=line,
                )
            continue
        yield line, dict(zip(header, fields, strict=True))


def _jsonl_rows(text: str, filename: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            value = json.loads(content)
        except json.JSONDecodeError as err:
            raise DecisionFileError(
                f"{filename} line {line} is not valid JSON: {err.msg} (column {err.colno}). Each line must be one "
                "JSON object.",
                line=line,
            ) from None
        if not isinstance(value, dict):
            raise DecisionFileError(
                f"{filename} line {line} is {json_kind(value)}, expected an object with {', '.join(REQUIRED)}.",
                line=line,
            )
        missing = [name for name in REQUIRED if name not in value]
        if missing:
            raise DecisionFileError(f"{filename} line {line} has no {_names(missing)}.", line=line)
        yield line, value


class _RowChecker:
    def __init__(self, filename: str, labels: frozenset[str]) -> None:
        self.filename = filename
        self.labels = labels

    def decision(self, line: int, values: Mapping[str, Any]) -> UploadedDecision:
        where = f"{self.filename} line {line}"
        tier = _text(values.get("tier")).lower()
        if tier not in TIERS:
            raise DecisionFileError(
                f"{where}: tier {_shown(values.get('tier'))} must be 'student' or 'teacher'.", line=line
            )
        return UploadedDecision(
            line=line,
            confidence=_confidence(values.get("confidence"), where, line),
            prediction=self._label(values.get("prediction"), "prediction", where, line, required=True),
            tier=tier,
            teacher_prediction=self._label(values.get("teacher_prediction"), "teacher_prediction", where, line),
            label=_text(values.get("label")),
            timestamp=_timestamp(values.get("timestamp"), where, line),
        )

    def _label(self, value: Any, column: str, where: str, line: int, *, required: bool = False) -> str:
        label = _text(value)
        if not label:
            if required:
                raise DecisionFileError(
                    f"{where}: '{column}' is empty; it must be one of the task's labels.", line=line
                )
            return ""
        if label not in self.labels:
            known = ", ".join(sorted(self.labels)[:8]) + (", ..." if len(self.labels) > 8 else "")
            raise DecisionFileError(
                f"{where}: {column} '{label}' is not one of the task's labels ({known}).", line=line
            )
        return label


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _shown(value: Any) -> str:
    return "(empty)" if value is None or value == "" else repr(value)


def _confidence(value: Any, where: str, line: int) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value) if not isinstance(value, str) else float(value.strip())
    except (TypeError, ValueError):
        raise DecisionFileError(f"{where}: confidence {_shown(value)} is not a number.", line=line) from None
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise DecisionFileError(
            f"{where}: confidence {_shown(value)} is not a probability in [0, 1] (it is the student's calibrated "
            "top-class probability).",
            line=line,
        )
    return number


def _timestamp(value: Any, where: str, line: int) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DecisionFileError(
            f"{where}: timestamp {_shown(value)} is not an ISO 8601 time such as 2026-03-01T09:30:00Z.", line=line
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _names(names: Iterable[str]) -> str:
    return " or ".join(f"'{name}'" for name in names)
