"""The serving process's ASGI application: two endpoints, JSON errors, and the threads work runs in.

    POST /v1/deployments/<id>/predict   Authorization: Bearer <serving key>   {"texts": [...]} or {"text": "..."}
    GET  /healthz                       for a load balancer: 200 while the database answers

Threads: the event loop only parses, routes and answers. Torch runs in one inference thread (one forward pass
at a time: a pass already uses every core through torch's own threads, two at once would only contend),
loading in one loader thread (a new deployment's models load while others are answered), and database work
in two threads (the key lookups and the decision writes each run one batch at a time, so two never wait on
each other).

Status codes: 401 no or unknown key; 404 a key that opens another deployment, or an unknown one (the answer
never tells whether a deployment exists); 410 revoked or superseded, checked on every request; 413 a body over
the byte limit or more texts than allowed; 400 a malformed body; 503 the models can't be served (the artifact
changed since the approval, files missing) or the database is down.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from serving.batching import MicroBatcher
from serving.config import ServingConfig
from serving.decision_log import DecisionLog
from serving.http import HttpError, Receive, Scope, Send, bearer_token, read_body, send_json
from serving.payload import PayloadError, TooManyTexts, texts_from_body
from serving.predict import predict_texts
from serving.runtime import ModelRefused, RuntimeCache
from serving.selectors import ServingDeployment, deployments_by_key_digest
from webapp.approvals.services import KEY_PREFIX, serving_key_digest
from webapp.config.health import database_problem

logger = logging.getLogger("distillery.serving")

PREDICT_PATH = re.compile(r"/v1/deployments/(\d{1,18})/predict/?")
KEY_LOOKUPS_PER_QUERY = 500
DATABASE_DOWN = "The database is unavailable, so the serving key can't be checked; nothing was answered. Try again."


class ServingApp:
    def __init__(self, config: ServingConfig) -> None:
        from workers.ml.device import pick_device  # torch: imported with the app, not with the settings

        self.config = config
        self._inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-torch")
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-load")
        self._database = ThreadPoolExecutor(max_workers=2, thread_name_prefix="serving-db")
        self.runtimes = RuntimeCache(
            config, inference=self._inference, loader=self._loader, device=pick_device(config.device)
        )
        self._keys: MicroBatcher[str, ServingDeployment | None] = MicroBatcher(
            _deployments_for, executor=self._database, max_items=KEY_LOOKUPS_PER_QUERY, max_wait_s=0
        )
        self._log = DecisionLog(executor=self._database)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                logger.info(
                    "serving: max batch %s rows, max wait %s ms", self.config.max_batch, self.config.max_wait_ms
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # Requests have finished by now; let the last writes land.
                for executor in (self._inference, self._loader, self._database):
                    executor.shutdown(wait=True, cancel_futures=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        headers: list[tuple[bytes, bytes]] = []
        try:
            if path == "/healthz":
                _allow(method, "GET", "HEAD")
                status, payload = await self._health()
            elif match := PREDICT_PATH.fullmatch(path):
                _allow(method, "POST")
                status, payload = 200, await self._predict(int(match[1]), scope, receive)
            else:
                raise HttpError(
                    404, f"There is no endpoint at {path}; predictions are POST /v1/deployments/<id>/predict."
                )
        except HttpError as exc:
            status, payload, headers = exc.status, {"detail": exc.detail}, list(exc.headers)
        except Exception:
            logger.exception("serving: %s %s failed", method, path)
            status, payload = 500, {"detail": "The server failed to answer this request; the error is in its log."}
        await send_json(send, status, payload, headers=headers)

    async def _predict(self, deployment_id: int, scope: Scope, receive: Receive) -> dict[str, Any]:
        started = time.perf_counter()
        deployment = await self._authorise(deployment_id, bearer_token(scope))
        try:
            texts = texts_from_body(
                await read_body(scope, receive, limit=self.config.max_body_bytes), max_texts=self.config.max_texts
            )
        except TooManyTexts as exc:
            raise HttpError(413, str(exc)) from exc
        except PayloadError as exc:
            raise HttpError(400, str(exc)) from exc
        try:
            runtime = await self.runtimes.get(deployment)
        except ModelRefused as exc:
            logger.warning("serving: %s", exc)
            raise HttpError(503, str(exc)) from exc
        decisions = await predict_texts(runtime, deployment, texts)
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            await self._log.record(
                deployment_id=deployment.id, at=timezone.now(), texts=texts, decisions=decisions, latency_ms=latency_ms
            )
        except DatabaseError as exc:
            # An answer that isn't in the log would be invisible to monitoring and the audit: give none.
            logger.warning("serving: decisions not logged: %s", exc)
            raise HttpError(503, "The database is unavailable, so the decisions can't be logged; try again.") from exc
        return {
            "deployment": deployment.id,
            "tau": deployment.tau,
            "predictions": [decision.as_response() for decision in decisions],
        }

    async def _authorise(self, deployment_id: int, key: str) -> ServingDeployment:
        if not key.startswith(KEY_PREFIX):
            raise HttpError(401, "This is not a serving key (they start with 'dsv_').")
        try:
            [deployment] = await self._keys.submit([serving_key_digest(key)])
        except DatabaseError as exc:
            raise HttpError(503, DATABASE_DOWN) from exc
        if deployment is None:
            raise HttpError(401, "This serving key is not valid (a rotated key stops working at once).")
        if deployment.id != deployment_id:
            raise HttpError(404, f"No deployment #{deployment_id} answers to this key.")
        if not deployment.active:
            self.runtimes.drop(deployment.id)
            raise HttpError(
                410, f"Deployment #{deployment.id} is {deployment.state_label.lower()}: it no longer answers."
            )
        return deployment

    async def _health(self) -> tuple[int, dict[str, Any]]:
        problem = await asyncio.get_running_loop().run_in_executor(self._database, _database_problem)
        batchers = [b for r in self.runtimes.runtimes for b in (r.student, r.teacher) if b is not None]
        payload = {
            "database": problem or "ok",
            "deployments_loaded": len(self.runtimes),
            "forward_passes": sum(b.batches_run for b in batchers),
            "rows": sum(b.items_run for b in batchers),
        }
        return (503 if problem else 200), payload


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise HttpError(
            405,
            f"{method} is not allowed here; use {' or '.join(allowed)}.",
            headers=[(b"allow", ", ".join(allowed).encode())],
        )


def _deployments_for(digests: list[str]) -> list[ServingDeployment | None]:
    """Runs in a database thread: one query for every key waiting to be checked."""
    close_old_connections()  # this thread keeps its connection; drop it if it broke (see serving.asgi)
    found = deployments_by_key_digest(digests)
    return [found.get(digest) for digest in digests]


def _database_problem() -> str | None:
    close_old_connections()
    return database_problem()
