"""gunicorn as production runs it (WSGI, sync workers, no keep-alive), on a loopback
port of its own, and the CPU accounting that tells the server's share of the machine
from the load generator's and from everyone else's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Gunicorn:
    """`gunicorn config.wsgi` with the bench settings, serving `database`."""

    def __init__(self, *, database: str, log_path: Path, workers: int = WORKERS) -> None:
        self.database = database
        self.port = free_port()
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Gunicorn:
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "POSTGRES_DB": self.database,
            "PYTHONPATH": str(ROOT),
        }
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--keep-alive",
            "0",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200 and len(_children(self.process.pid)) >= self.workers:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait_idle(self, *, timeout_s: float = 120.0) -> float:
        """Waits until the workers are idle (a backlog from the previous measurement has
        drained) so that measurements do not overlap; returns the seconds waited."""
        started = time.monotonic()
        quiet = 0
        last = self.cpu_s()
        while quiet < 2 and time.monotonic() - started < timeout_s:
            time.sleep(0.5)
            now = self.cpu_s()
            quiet = quiet + 1 if now - last < 0.05 else 0
            last = now
        return time.monotonic() - started

    def cpu_s(self) -> float:
        """CPU seconds used so far by the master and its workers."""
        if self.process is None:
            return 0.0
        pid = self.process.pid
        return _process_cpu_s(pid) + sum(_process_cpu_s(child) for child in _children(pid))


@dataclass
class CpuShare:
    """Where the machine's CPU went during one measurement (in cores, e.g. 1.4 of 2)."""

    wall_s: float
    machine_busy: float
    server: float
    database: float
    load_generator: float

    @property
    def others(self) -> float:
        return max(0.0, self.machine_busy - self.server - self.database - self.load_generator)

    def as_dict(self) -> dict[str, float]:
        return {
            "wall_s": round(self.wall_s, 2),
            "machine_busy_cores": round(self.machine_busy, 2),
            "server_cores": round(self.server, 2),
            "database_cores": round(self.database, 2),
            "load_generator_cores": round(self.load_generator, 2),
            "others_cores": round(self.others, 2),
        }


class CpuMeter:
    """Snapshots around one measurement: machine, gunicorn, the PostgreSQL backends
    serving it (`backend_pids`), and the load generator's CPU seconds (given)."""

    def __init__(self, server: Gunicorn, backend_pids: list[int]) -> None:
        self.server = server
        self.backend_pids = backend_pids
        self.machine = machine_cpu()
        self.server_cpu = server.cpu_s()
        self.database_cpu = sum(_process_cpu_s(pid) for pid in backend_pids)
        self.wall = time.perf_counter()

    def stop(self, *, load_generator_cpu_s: float) -> CpuShare:
        wall = time.perf_counter() - self.wall
        busy, _ = machine_cpu()
        database = sum(_process_cpu_s(pid) for pid in self.backend_pids) - self.database_cpu
        return CpuShare(
            wall_s=wall,
            machine_busy=(busy - self.machine[0]) / wall,
            server=(self.server.cpu_s() - self.server_cpu) / wall,
            database=database / wall,
            load_generator=load_generator_cpu_s / wall,
        )
