"""Start a real Celery worker process against the test database, for tests that must
prove behaviour across processes (tenant routing, exactly-once delivery)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_environment(queue: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "POSTGRES_DB": connection.settings_dict["NAME"],
            "CELERY_EAGER": "0",
            "CELERY_QUEUE": queue,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def unique_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Worker:
    def __init__(self, queue: str, log_path: Path, **env: str) -> None:
        self.queue = queue
        self.log_path = log_path
        self.env = worker_environment(queue, **env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, concurrency: int = 1) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-Q", self.queue, "--concurrency", str(concurrency),
                "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--pool", "prefork",
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, like a crashed host."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            # prefork children share the command line; none may survive the "crash".
            subprocess.run(["pkill", "-9", "-f", f"celery.*{self.queue}"], check=False)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_worker(tmp_path: Path, queue: str | None = None, **env: str) -> Iterator[Worker]:
    worker = Worker(queue or unique_queue(), tmp_path / "worker.log", **env)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
