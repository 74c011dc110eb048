"""Micro-batching: many concurrent callers, one call of a batch function for all of them.

A caller submits its items and awaits their results. One drain task per batcher takes the waiting items, up
to `max_items` (a caller's items are never split between two batches, unless they are more than `max_items`,
in which case they go in chunks), runs `run(items)` once in the batcher's executor, off the event loop, and
hands every caller its slice of the results.

When does a batch start? As soon as `max_items` are waiting, or `max_wait` seconds after the oldest waiting
item arrived. Items that arrive while a batch runs wait for the next one, and by then the oldest has waited
longer than `max_wait`: under load, batches fill up without any extra wait, and an idle batcher answers a
lone caller after at most `max_wait`.

Everything except `run` happens on the event loop's thread, so the queue needs no lock; a batcher belongs to
the loop it is first used on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class BatcherStopped(RuntimeError):
    """The batcher's drain task was cancelled (the process is shutting down) before this caller's batch ran."""


@dataclass
class _Waiter(Generic[Item, Result]):
    items: list[Item]
    future: asyncio.Future[list[Result]]
    arrived: float  # loop.time() when submitted


class MicroBatcher(Generic[Item, Result]):
    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Result]],
        *,
        executor: Executor,
        max_items: int,
        max_wait_s: float,
    ) -> None:
        if max_items < 1:
            raise ValueError("A batch holds at least one item.")
        if max_wait_s < 0:
            raise ValueError("max_wait_s can't be negative.")
        self._run = run
        self._executor = executor
        self.max_items = max_items
        self.max_wait_s = max_wait_s
        self._waiting: deque[_Waiter[Item, Result]] = deque()
        self._waiting_items = 0
        self._arrival = asyncio.Event()
        self._drain_task: asyncio.Task[None] | None = None
        # What the batches were like (for tests and the health endpoint): how many ran, how many items.
        self.batches_run = 0
        self.items_run = 0

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """The results of `run` for `items`, in order; raises what `run` raised for their batch."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[list[Result]]] = []
        for start in range(0, len(items), self.max_items):
            chunk = list(items[start : start + self.max_items])
            future: asyncio.Future[list[Result]] = loop.create_future()
            self._waiting.append(_Waiter(chunk, future, loop.time()))
            self._waiting_items += len(chunk)
            futures.append(future)
        self._arrival.set()
        if self._drain_task is None:
            self._drain_task = loop.create_task(self._drain())
        # A cancelled caller cancels its futures, and the drain task skips them.
        parts = await asyncio.gather(*futures)
        return [result for part in parts for result in part]

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[_Waiter[Item, Result]] = []
        try:
            while self._waiting:
                await self._wait_for_company(loop)
                batch = self._take()
                if batch:
                    await self._run_batch(loop, batch)
                batch = []
        except BaseException:
            # Cancelled (shutdown): nobody may be left awaiting a batch that will never run.
            for waiter in [*batch, *self._waiting]:
                if not waiter.future.done():
                    waiter.future.set_exception(BatcherStopped("The server is shutting down; try again."))
            self._waiting.clear()
            self._waiting_items = 0
            raise
        finally:
            # No await between the loop's last check and here: a submit can't slip in unseen.
            self._drain_task = None

    async def _wait_for_company(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._waiting_items < self.max_items:
            remaining = self._waiting[0].arrived + self.max_wait_s - loop.time()
            if remaining <= 0:
                return
            self._arrival.clear()
            try:
                await asyncio.wait_for(self._arrival.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Waiter[Item, Result]]:
        batch: list[_Waiter[Item, Result]] = []
        count = 0
        while self._waiting:
            waiter = self._waiting[0]
            if not waiter.future.done() and batch and count + len(waiter.items) > self.max_items:
                break
            self._waiting.popleft()
            self._waiting_items -= len(waiter.items)
            if waiter.future.done():  # its caller was cancelled
                continue
            batch.append(waiter)
            count += len(waiter.items)
        return batch

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Waiter[Item, Result]]) -> None:
        items = [item for waiter in batch for item in waiter.items]
        try:
            results = await loop.run_in_executor(self._executor, self._run, items)
            if len(results) != len(items):
                raise RuntimeError(f"A batch of {len(items)} items gave {len(results)} results.")
        except Exception as exc:  # noqa: BLE001 - each caller gets the error raised; the batcher goes on
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
            return
        self.batches_run += 1
        self.items_run += len(items)
        offset = 0
        for waiter in batch:
            if not waiter.future.done():
                waiter.future.set_result(list(results[offset : offset + len(waiter.items)]))
            offset += len(waiter.items)
