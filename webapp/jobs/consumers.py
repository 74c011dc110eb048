"""Read-only websocket subscriptions to job updates: authorise, send a snapshot, then deltas.

A job or task the user can't see closes with 4404, exactly like one that doesn't exist."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from webapp.jobs.events import job_group, task_jobs_group
from webapp.jobs.payloads import job_payload
from webapp.jobs.selectors import job_get_for_user, jobs_of_task
from webapp.registry.selectors import task_get_for_user

NOT_FOUND = 4404
RECENT_JOBS_IN_SNAPSHOT = 50


class _JobUpdatesConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        try:
            group, snapshot = await database_sync_to_async(self.authorise)()
        except Http404:
            await self.accept()
            await self.close(code=NOT_FOUND)
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
        await self.accept()
        for payload in snapshot:
            await self.send_json({"type": "job", "job": payload})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Subscriptions are read-only: anything the client sends is ignored."""

    async def job_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "job", "job": event["job"]})

    async def job_metrics(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "metrics", "job_id": event["job_id"], "points": event["points"]})

    def authorise(self) -> tuple[str, list[dict[str, Any]]]:
        raise NotImplementedError


class JobConsumer(_JobUpdatesConsumer):
    def authorise(self) -> tuple[str, list[dict[str, Any]]]:
        job = job_get_for_user(user=self.scope["user"], job_id=int(self.scope["url_route"]["kwargs"]["job_id"]))
        return job_group(job.pk), [job_payload(job)]


class TaskJobsConsumer(_JobUpdatesConsumer):
    def authorise(self) -> tuple[str, list[dict[str, Any]]]:
        task = task_get_for_user(user=self.scope["user"], task_id=int(self.scope["url_route"]["kwargs"]["task_id"]))
        jobs = jobs_of_task(task=task)[:RECENT_JOBS_IN_SNAPSHOT]
        return task_jobs_group(task.pk), [job_payload(job) for job in jobs]
