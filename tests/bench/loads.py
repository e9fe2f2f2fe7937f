"""The two ways load is put on the server: `wrk` at saturation (closed loop, a few
connections kept busy) and the open-loop driver at an offered rate; both summarised the
same way."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.driver import Request, Run, open_loop, percentile
from tests.bench.server import CpuMeter, CpuShare, Gunicorn

LUA_SCRIPT = Path(__file__).with_name("rotate.lua")
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "8"))


@dataclass
class Figures:
    """One measurement of one endpoint."""

    name: str
    mode: str  # "saturation (wrk)" or "offered N/s"
    requests: int
    wall_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    cpu: CpuShare
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "requests": self.requests,
            "wall_s": round(self.wall_s, 2),
            "throughput_per_s": round(self.throughput, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "statuses": self.statuses,
            "cpu": self.cpu.as_dict(),
            **self.extra,
        }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def saturate(
    *,
    name: str,
    server: Gunicorn,
    backend_pids: list[int],
    host: str,
    paths: Sequence[str],
    auth: str,
    duration_s: float,
) -> Figures:
    """wrk keeps WRK_CONNECTIONS requests in flight for `duration_s` seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    env = os.environ | {"BENCH_PATHS": listing.name, "BENCH_HOST": host, "BENCH_AUTH": auth}
    command = [
        "wrk",
        "-t1",
        f"-c{WRK_CONNECTIONS}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{server.port}",
    ]
    server.wait_idle()
    before = _children_cpu_s()
    meter = CpuMeter(server, backend_pids)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    finally:
        Path(listing.name).unlink(missing_ok=True)
    cpu = meter.stop(load_generator_cpu_s=_children_cpu_s() - before)
    line = next((row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = {
        key: data[key]
        for key in ("connect_errors", "read_errors", "write_errors", "timeouts")
        if data[key]
    }
    # wrk counts answers outside 2xx/3xx as status errors (every answer here is 2xx).
    counted = {"2xx": data["requests"] - data["status_errors"], "non-2xx": data["status_errors"]}
    statuses = {key: value for key, value in counted.items() if value}
    return Figures(
        name=name,
        mode="saturation (wrk)",
        requests=data["requests"],
        wall_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses=statuses | ({"socket_errors": sum(errors.values())} if errors else {}),
        cpu=cpu,
        extra={"wrk_connections": WRK_CONNECTIONS} | ({"socket_errors": errors} if errors else {}),
    )


def summarise(name: str, run: Run, cpu: CpuShare, *, mode: str | None = None) -> Figures:
    latencies = run.latencies
    return Figures(
        name=name,
        mode=mode or f"offered {run.offered_rate:g}/s",
        requests=len(run.results),
        wall_s=run.wall_s,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=max(latencies, default=float("nan")) * 1000,
        statuses={str(code): count for code, count in run.statuses().items()},
        cpu=cpu,
    )


def offer(
    *,
    name: str,
    server: Gunicorn,
    backend_pids: list[int],
    host: str,
    requests: Iterator[Request],
    rate: float,
    duration_s: float,
    keep_body: bool = False,
) -> tuple[Figures, Run]:
    server.wait_idle()
    meter = CpuMeter(server, backend_pids)
    run = open_loop(
        port=server.port,
        host=host,
        requests=requests,
        rate=rate,
        duration_s=duration_s,
        keep_body=keep_body,
    )
    cpu = meter.stop(load_generator_cpu_s=run.driver_cpu_s)
    return summarise(name, run, cpu), run


def merge(name: str, parts: Sequence[tuple[Figures, Run]]) -> Figures:
    """Several rounds of one open-loop measurement as one (percentiles over all)."""
    runs = [run for _, run in parts]
    pooled = Run(
        results=[result for run in runs for result in run.results],
        wall_s=sum(run.wall_s for run in runs),
        offered_rate=runs[0].offered_rate,
        driver_cpu_s=sum(run.driver_cpu_s for run in runs),
    )
    cpus = [figures.cpu for figures, _ in parts]
    wall = sum(cpu.wall_s for cpu in cpus)

    def weighted(attribute: str) -> float:
        return sum(getattr(cpu, attribute) * cpu.wall_s for cpu in cpus) / wall

    cpu = CpuShare(
        wall_s=wall,
        machine_busy=weighted("machine_busy"),
        server=weighted("server"),
        database=weighted("database"),
        load_generator=weighted("load_generator"),
    )
    figures = summarise(name, pooled, cpu)
    figures.extra["rounds"] = len(parts)
    figures.extra["p95_ms_per_round"] = [round(f.p95_ms, 2) for f, _ in parts]
    return figures


def merge_saturation(name: str, parts: Sequence[Figures]) -> Figures:
    """Rounds of wrk: throughput over the summed time; latency percentiles are the
    per-round ones weighted by requests (wrk reports percentiles, not samples)."""
    requests = sum(part.requests for part in parts)
    wall = sum(part.wall_s for part in parts)

    def weighted(attribute: str) -> float:
        return sum(getattr(part, attribute) * part.requests for part in parts) / max(1, requests)

    def cpu_weighted(attribute: str) -> float:
        return sum(getattr(part.cpu, attribute) * part.cpu.wall_s for part in parts) / sum(
            part.cpu.wall_s for part in parts
        )

    statuses: dict[str, int] = {}
    for part in parts:
        for key, value in part.statuses.items():
            statuses[key] = statuses.get(key, 0) + value
    return Figures(
        name=name,
        mode="saturation (wrk)",
        requests=requests,
        wall_s=wall,
        p50_ms=weighted("p50_ms"),
        p95_ms=weighted("p95_ms"),
        p99_ms=weighted("p99_ms"),
        max_ms=max(part.max_ms for part in parts),
        statuses=statuses,
        cpu=CpuShare(
            wall_s=sum(part.cpu.wall_s for part in parts),
            machine_busy=cpu_weighted("machine_busy"),
            server=cpu_weighted("server"),
            database=cpu_weighted("database"),
            load_generator=cpu_weighted("load_generator"),
        ),
        extra={
            "rounds": len(parts),
            "throughput_per_round": [round(part.throughput, 1) for part in parts],
            "wrk_connections": WRK_CONNECTIONS,
        },
    )
