"""An open-loop HTTP/1.1 load driver (asyncio, one connection per request, as gunicorn's
sync workers close every connection anyway).

Request i is due at t0 + i / rate whatever happened to the ones before it, and its
latency counts from that due time, not from when it was sent: a server that falls behind
shows it in the percentiles instead of quietly slowing the client (no coordinated
omission). At the rates used here (50-100 requests a second) the driver needs a few
percent of one core; the runner reports its CPU time next to the figures.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# Long enough for a backlog to drain: a request the server answers late is a slow answer,
# not a lost one (the server works through it either way).
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method != "GET":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Result:
    status: int  # 0: no answer (connection error or timeout)
    latency_s: float  # from the request's due time to the end of its response
    body: bytes = b""
    error: str = ""

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Run:
    results: list[Result]
    wall_s: float
    offered_rate: float | None
    driver_cpu_s: float

    @property
    def latencies(self) -> list[float]:
        return [r.latency_s for r in self.results if r.status]

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return dict(sorted(counts.items()))


async def _exchange(port: int, payload: bytes, due: float, keep_body: bool) -> Result:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload)
            await writer.drain()
            data = await reader.read()
            writer.close()
    except (OSError, TimeoutError) as exc:
        return Result(0, time.perf_counter() - due, error=type(exc).__name__)
    latency = time.perf_counter() - due
    try:
        status = int(data[9:12])
    except ValueError:
        return Result(0, latency, error="bad status line")
    body = data.partition(b"\r\n\r\n")[2] if keep_body else b""
    return Result(status, latency, body)


async def _open_loop(
    port: int, host: str, requests: Iterator[Request], rate: float, count: int, keep_body: bool
) -> list[Result]:
    start = time.perf_counter() + 0.05
    tasks = []
    for index in range(count):
        payload = next(requests).encode(host)  # built before its due time
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_exchange(port, payload, due, keep_body)))
    return list(await asyncio.gather(*tasks))


def open_loop(
    *,
    port: int,
    host: str,
    requests: Iterator[Request],
    rate: float,
    duration_s: float,
    keep_body: bool = False,
) -> Run:
    """Offers `rate` requests a second for `duration_s` seconds."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = max(1, round(rate * duration_s))
    results = asyncio.run(_open_loop(port, host, requests, rate, count, keep_body))
    return Run(results, time.perf_counter() - wall, rate, time.process_time() - cpu)


async def _burst(port: int, host: str, requests: Sequence[Request]) -> list[Result]:
    """Connects every client first, then sends every request at once: the server sees
    `len(requests)` requests arriving together."""
    payloads = [request.encode(host) for request in requests]
    connections = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in payloads)
    )

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, due: float
    ) -> Result:
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await writer.drain()
                data = await reader.read()
        except (OSError, TimeoutError) as exc:
            return Result(0, time.perf_counter() - due, error=type(exc).__name__)
        finally:
            writer.close()
        latency = time.perf_counter() - due
        return Result(int(data[9:12] or b"0"), latency, data.partition(b"\r\n\r\n")[2])

    due = time.perf_counter()
    for (_, writer), payload in zip(connections, payloads, strict=True):
        writer.write(payload)
    return list(
        await asyncio.gather(*(exchange(reader, writer, due) for reader, writer in connections))
    )


def burst(*, port: int, host: str, requests: Sequence[Request]) -> Run:
    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(_burst(port, host, requests))
    return Run(results, time.perf_counter() - wall, None, time.process_time() - cpu)


async def _closed_loop(
    port: int, host: str, requests: Iterator[Request], clients: int, duration_s: float
) -> list[Result]:
    results: list[Result] = []
    stop = time.perf_counter() + duration_s

    async def client() -> None:
        while time.perf_counter() < stop:
            try:
                payload = next(requests).encode(host)
            except StopIteration:
                return
            results.append(await _exchange(port, payload, time.perf_counter(), True))

    await asyncio.gather(*(client() for _ in range(clients)))
    return results


def closed_loop(
    *, port: int, host: str, requests: Iterator[Request], clients: int, duration_s: float
) -> Run:
    """`clients` clients each sending its next request as soon as the last is answered,
    for `duration_s` seconds (or until `requests` runs out): what the server can take."""
    cpu, wall = time.process_time(), time.perf_counter()
    results = asyncio.run(_closed_loop(port, host, requests, clients, duration_s))
    return Run(results, time.perf_counter() - wall, None, time.process_time() - cpu)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def cycle(items: Sequence[Any]) -> Iterator[Any]:
    while True:
        yield from items
