"""The models of each deployment, loaded once per process and kept while it serves.

Loading checks the files first: the student's folder must still have the sha256 the approval was about
(`evidence.verify_artifact`), and so must a fine-tuned teacher's. A folder that changed is refused with the
reason (the request answers 503), never loaded: the process only ever serves the approved model. The check is
made at load, once; the loaded weights can't change afterwards.

A load runs in its own thread, so requests for loaded deployments keep being answered meanwhile; requests that
arrive for a deployment while it loads wait for that one load. A failed load is not remembered: the next
request tries again (someone may have put the right files back).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings

from domain.digests import folder_sha256
from domain.model_refs import ModelSourceError, resolve_model_ref
from serving import classifier
from serving.batching import MicroBatcher
from serving.cascade import Prediction
from serving.classifier import Classifier
from serving.config import ServingConfig
from serving.selectors import ServingDeployment, TeacherSpec
from webapp.approvals.evidence import EvidenceError, student_folder, verify_artifact

logger = logging.getLogger("distillery.serving")


class ModelRefused(Exception):
    """The deployment's models can't be served here; the message says why (answered 503)."""


@dataclass
class DeploymentRuntime:
    """A deployment's loaded models, each behind its own micro-batcher (all sharing the one torch thread)."""

    deployment_id: int
    student: MicroBatcher[str, Prediction]
    teacher: MicroBatcher[str, Prediction] | None


@dataclass(frozen=True)
class _Loaded:
    student: Classifier
    teacher: Classifier | None


class RuntimeCache:
    def __init__(self, config: ServingConfig, *, inference: Executor, loader: Executor, device: torch.device) -> None:
        self._config = config
        self._inference = inference
        self._loader = loader
        self._device = device
        self._runtimes: OrderedDict[tuple[int, str], DeploymentRuntime] = OrderedDict()
        self._loading: dict[tuple[int, str], asyncio.Task[DeploymentRuntime]] = {}

    def __len__(self) -> int:
        return len(self._runtimes)

    @property
    def runtimes(self) -> list[DeploymentRuntime]:
        return list(self._runtimes.values())

    async def get(self, deployment: ServingDeployment) -> DeploymentRuntime:
        key = deployment.runtime_key
        runtime = self._runtimes.get(key)
        if runtime is not None:
            self._runtimes.move_to_end(key)
            return runtime
        task = self._loading.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(deployment))
            self._loading[key] = task
        # shield: a caller that goes away must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def drop(self, deployment_id: int) -> None:
        """Forget a deployment's models (it was revoked or superseded); requests in flight finish with them."""
        for key in [key for key in self._runtimes if key[0] == deployment_id]:
            del self._runtimes[key]
            logger.info("unloaded the models of deployment #%s", deployment_id)

    async def _load(self, deployment: ServingDeployment) -> DeploymentRuntime:
        key = deployment.runtime_key
        try:
            loop = asyncio.get_running_loop()
            loaded = await loop.run_in_executor(self._loader, _load_models, deployment, self._device)
        finally:
            del self._loading[key]
        runtime = DeploymentRuntime(
            deployment_id=deployment.id,
            student=self._batcher(loaded.student),
            teacher=self._batcher(loaded.teacher) if loaded.teacher is not None else None,
        )
        self._runtimes[key] = runtime
        while len(self._runtimes) > self._config.max_deployments:
            evicted, _ = self._runtimes.popitem(last=False)
            logger.info("unloaded the models of deployment #%s (least recently used)", evicted[0])
        return runtime

    def _batcher(self, model: Classifier) -> MicroBatcher[str, Prediction]:
        return MicroBatcher(
            model.predict,
            executor=self._inference,
            max_items=self._config.max_batch,
            max_wait_s=self._config.max_wait_ms / 1000,
        )


def _load_models(deployment: ServingDeployment, device: torch.device) -> _Loaded:
    """Runs in the loader thread: check the files against the manifest, then load them."""
    labels = list(deployment.labels)
    try:
        verify_artifact(deployment.student, deployment.student_sha256)
        folder = student_folder(deployment.student)
    except EvidenceError as exc:
        raise ModelRefused(f"Deployment #{deployment.id} can't be served: {exc}") from exc
    with _refused_unless_loaded(deployment, "student", folder):
        student = classifier.load(
            folder,
            quantized=deployment.quantized,
            labels=labels,
            max_length=deployment.student_max_length,
            temperature=deployment.temperature,
            device=device,
        )
    teacher = None
    if deployment.teacher is not None:
        teacher_folder = _teacher_folder(deployment.teacher, deployment.id)
        with _refused_unless_loaded(deployment, "fallback teacher", teacher_folder):
            teacher = classifier.load(
                teacher_folder,
                quantized=False,
                labels=labels,
                max_length=deployment.teacher.max_length,
                temperature=1.0,  # the teacher's own confidence is not used
                device=device,
            )
    logger.info(
        "loaded deployment #%s: student from %s%s", deployment.id, folder, ", with its teacher" if teacher else ""
    )
    return _Loaded(student=student, teacher=teacher)


def _teacher_folder(teacher: TeacherSpec, deployment_id: int) -> Path:
    try:
        folder = resolve_model_ref(teacher.model_ref, model_root=Path(settings.MODEL_ROOT)).path
    except ModelSourceError as exc:
        raise ModelRefused(f"Deployment #{deployment_id}'s fallback teacher can't be found: {exc}") from exc
    if teacher.sha256:
        digest = folder_sha256(folder)
        if digest != teacher.sha256:
            raise ModelRefused(
                f"Deployment #{deployment_id}'s fallback teacher changed on disk since it was approved (sha256 "
                f"{digest[:12]}… now, {teacher.sha256[:12]}… approved): it is not served."
            )
    return folder


@contextmanager
def _refused_unless_loaded(deployment: ServingDeployment, what: str, folder: Path) -> Iterator[None]:
    try:
        yield
    except (OSError, ValueError) as exc:  # missing or unreadable files, a head for other labels
        raise ModelRefused(f"Deployment #{deployment.id}'s {what} can't be loaded from {folder}: {exc}") from exc
