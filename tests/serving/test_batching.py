"""The micro-batcher with real asyncio and a real thread: batch functions that record what they were given."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving.batching import MicroBatcher


class Recorder:
    """A batch function: doubles each item, remembers each batch and the thread it ran on."""

    def __init__(self, *, seconds: float = 0.0, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.seconds = seconds
        self.fail_on = fail_on

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"item {self.fail_on} is bad")
        return [2 * item for item in items]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-test") as pool:
        yield pool


def test_callers_arriving_together_share_one_batch_and_each_gets_its_own_results(executor):
    run = Recorder()

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=32, max_wait_s=0.05)
        return await asyncio.gather(*(batcher.submit([i, 100 + i]) for i in range(10)))

    results = asyncio.run(main())
    assert results == [[2 * i, 200 + 2 * i] for i in range(10)]
    assert len(run.batches) == 1 and len(run.batches[0]) == 20
    assert run.threads == {"batch-test_0"}  # off the event loop's thread


def test_a_batch_never_holds_more_than_max_items_and_keeps_a_callers_items_together(executor):
    run = Recorder()

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=5, max_wait_s=0.05)
        pairs = [batcher.submit([100 + i] * 2) for i in range(6)]
        return await asyncio.gather(*pairs, batcher.submit(list(range(12))))

    results = asyncio.run(main())
    assert results[:6] == [[200 + 2 * i] * 2 for i in range(6)]
    assert results[6] == [2 * i for i in range(12)]  # more than max_items: split into chunks, answered in order
    assert all(len(batch) <= 5 for batch in run.batches)
    assert sum(len(batch) for batch in run.batches) == 24
    for i in range(6):  # a caller's two items are never split between batches
        assert all(batch.count(100 + i) in (0, 2) for batch in run.batches)


def test_items_arriving_during_a_batch_wait_for_the_next_one_without_the_extra_wait(executor):
    run = Recorder(seconds=0.2)

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=32, max_wait_s=0.01)
        first = asyncio.create_task(batcher.submit([1]))
        await asyncio.sleep(0.05)  # the first batch is running now
        later = [asyncio.create_task(batcher.submit([i])) for i in range(2, 6)]
        await asyncio.gather(first, *later)

    asyncio.run(main())
    assert run.batches == [[1], [2, 3, 4, 5]]


def test_a_lone_caller_waits_at_most_max_wait(executor):
    run = Recorder()

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=32, max_wait_s=0.05)
        started = time.perf_counter()
        await batcher.submit([7])
        return time.perf_counter() - started

    assert 0.04 < asyncio.run(main()) < 1.0


def test_max_batch_one_runs_every_item_alone(executor):
    run = Recorder()

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=1, max_wait_s=0)
        return await asyncio.gather(*(batcher.submit([i]) for i in range(5)))

    assert asyncio.run(main()) == [[2 * i] for i in range(5)]
    assert run.batches == [[i] for i in range(5)]


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_still_runs(executor):
    run = Recorder(fail_on=3)

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=32, max_wait_s=0.05)
        failed = await asyncio.gather(*(batcher.submit([i]) for i in range(5)), return_exceptions=True)
        return failed, await batcher.submit([10])

    failed, after = asyncio.run(main())
    assert all(isinstance(result, ValueError) and "item 3 is bad" in str(result) for result in failed)
    assert after == [20]


def test_a_caller_that_goes_away_is_left_out_of_the_batch(executor):
    run = Recorder(seconds=0.1)

    async def main():
        batcher = MicroBatcher(run, executor=executor, max_items=32, max_wait_s=0.0)
        busy = asyncio.create_task(batcher.submit([1]))
        await asyncio.sleep(0.02)
        gone = asyncio.create_task(batcher.submit([2]))
        staying = asyncio.create_task(batcher.submit([3]))
        await asyncio.sleep(0)
        gone.cancel()
        return await busy, await staying

    assert asyncio.run(main()) == ([2], [6])
    assert run.batches == [[1], [3]]
