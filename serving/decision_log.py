"""Every decision the endpoint makes becomes a ServedDecision row before the caller gets its answer.

Writes are micro-batched like forward passes: the decisions of the requests that finish while one insert runs
go into the next insert together (one bulk insert, in a database thread). The text itself is never stored,
only its sha256 (production traffic may be personal data)."""

from __future__ import annotations

import hashlib
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from django.db import close_old_connections

from serving.batching import MicroBatcher
from serving.cascade import Decision
from webapp.approvals.models import ServedDecision
from webapp.approvals.services import served_decisions_record

ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class _Entry:
    deployment_id: int
    at: datetime
    decision: Decision
    latency_ms: float
    text_sha256: str


class DecisionLog:
    def __init__(self, *, executor: Executor) -> None:
        self._writes: MicroBatcher[_Entry, None] = MicroBatcher(
            _write, executor=executor, max_items=ROWS_PER_INSERT, max_wait_s=0
        )

    async def record(
        self, *, deployment_id: int, at: datetime, texts: list[str], decisions: list[Decision], latency_ms: float
    ) -> None:
        """Returns once the rows are stored; raises the database's error when they could not be."""
        await self._writes.submit(
            [
                _Entry(deployment_id, at, decision, latency_ms, hashlib.sha256(text.encode()).hexdigest())
                for text, decision in zip(texts, decisions, strict=True)
            ]
        )


def _write(entries: list[_Entry]) -> list[None]:
    close_old_connections()  # this thread keeps its connection; drop it if it broke (see serving.asgi)
    served_decisions_record(
        decisions=[
            ServedDecision(
                deployment_id=entry.deployment_id,
                created_at=entry.at,
                source=ServedDecision.Source.ENDPOINT,
                tier=entry.decision.tier,
                confidence=entry.decision.confidence,
                student_label=entry.decision.student_label,
                teacher_label=entry.decision.teacher_label or "",
                shadow=entry.decision.shadow,
                latency_ms=entry.latency_ms,
                text_sha256=entry.text_sha256,
            )
            for entry in entries
        ]
    )
    return [None] * len(entries)
