"""Answering texts for one deployment: the student on every row, the teacher on the rows the cascade sends it.

Both models are reached through their micro-batchers, so rows of concurrent requests share forward passes."""

from __future__ import annotations

import random

from serving.cascade import Decision, decide, route
from serving.runtime import DeploymentRuntime
from serving.selectors import ServingDeployment

# Which kept rows are shadowed: a fresh, unseeded generator per process (nothing to reproduce across processes).
_shadow_draws = random.Random()


async def predict_texts(runtime: DeploymentRuntime, deployment: ServingDeployment, texts: list[str]) -> list[Decision]:
    student = await runtime.student.submit(texts)
    routes = route(
        student,
        tau=deployment.tau,
        shadow_rate=deployment.shadow_rate,
        teacher_runs=runtime.teacher is not None,
        draw=_shadow_draws.random,
    )
    teacher_labels: list[str | None] = [None] * len(texts)
    asked = [i for i, row_route in enumerate(routes) if row_route.needs_teacher]
    if runtime.teacher is not None and asked:
        answers = await runtime.teacher.submit([texts[i] for i in asked])
        for i, answer in zip(asked, answers, strict=True):
            teacher_labels[i] = answer.label
    return decide(student, routes, teacher_labels)
