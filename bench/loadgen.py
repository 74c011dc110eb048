"""A closed-loop HTTP load generator for the serving benchmark: `clients` keep-alive connections, each sending
its next request as soon as the previous answer arrived, for a fixed time, on loopback only.

Plain asyncio streams and hand-written HTTP/1.1 (one event loop, no threads): at 32 clients a threaded
client would spend more of this 2-core machine's CPU than the server's request handling does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    tiers: dict[str, int] = field(default_factory=dict)  # "student" / "teacher" answers, for the coverage
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)


def run_load(*, port: int, path: str, key: str, texts: Sequence[str], clients: int, seconds: float) -> LoadResult:
    """Send one-text predict requests from `clients` connections for `seconds`; client i starts at texts[i * k]
    so that concurrent clients send different texts."""
    return asyncio.run(_run(port, path, key, texts, clients, seconds))


async def _run(port: int, path: str, key: str, texts: Sequence[str], clients: int, seconds: float) -> LoadResult:
    result = LoadResult(seconds=seconds)
    started = time.perf_counter()
    deadline = started + seconds
    stride = max(1, len(texts) // clients)
    await asyncio.gather(*(_client(port, path, key, texts, i * stride, deadline, result) for i in range(clients)))
    result.seconds = time.perf_counter() - started  # the last answers may land a little after the deadline
    return result


async def _client(
    port: int, path: str, key: str, texts: Sequence[str], start: int, deadline: float, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    )
    i = start
    try:
        while time.perf_counter() < deadline:
            body = json.dumps({"text": texts[i % len(texts)]}).encode()
            i += 1
            sent = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status, payload = await _response(reader)
            elapsed_ms = (time.perf_counter() - sent) * 1000
            if status != 200:
                result.errors += 1
                continue
            result.latencies_ms.append(elapsed_ms)
            tier = json.loads(payload)["predictions"][0]["tier"]
            result.tiers[tier] = result.tiers.get(tier, 0) + 1
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:"))
    return status, await reader.readexactly(length)
