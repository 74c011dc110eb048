"""How ML code reports progress and learns it should stop, without knowing who listens.

The worker wraps a Django/Channels-backed reporter around this protocol; ML code only sees the protocol,
which keeps workers/ml free of Django and easy to test with ListReporter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Reporter(Protocol):
    def report(self, step: int, total: int, metrics: Mapping[str, float] | None = None, message: str = "") -> None: ...

    def log(self, line: str) -> None: ...

    def should_stop(self) -> bool: ...


class StopRequested(Exception):
    """Raised by ML code when reporter.should_stop() is true, so the job unwinds cleanly."""


@dataclass(frozen=True)
class ReportRecord:
    step: int
    total: int
    metrics: dict[str, float]
    message: str


@dataclass
class ListReporter:
    """Records everything in lists; for tests and local runs.

    stop_after: should_stop() turns true once that many reports have been made (None: never).
    """

    stop_after: int | None = None
    reports: list[ReportRecord] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def report(self, step: int, total: int, metrics: Mapping[str, float] | None = None, message: str = "") -> None:
        self.reports.append(ReportRecord(step, total, dict(metrics or {}), message))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after
