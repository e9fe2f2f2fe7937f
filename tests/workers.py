"""Real Celery worker and beat processes against the test database, for tests that must
prove behaviour across processes (tenant routing, exactly-once delivery). Each starts in
its own process group, so a test can SIGKILL exactly the processes it started (a crash,
not a shutdown) and nothing else."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def process_environment(queue: str, **extra: str) -> dict[str, str]:
    # The child inherits this environment as it is (TIMENEST_TEST_DB included, or not),
    # so its settings pick the same Redis key prefix as the test process.
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "POSTGRES_DB": str(connection.settings_dict["NAME"]),
            "CELERY_EAGER": "0",
            "CELERY_QUEUE": queue,
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def unique_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class CeleryProcess:
    def __init__(
        self,
        args: list[str],
        *,
        queue: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> None:
        self.args = args
        # `celery --quiet`: no start-up banner, so every line of the log is a log record
        self.global_args = ["--quiet"] if quiet else []
        self.queue = queue
        self.log_path = log_path
        self.env = process_environment(queue, **(env or {}))
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def worker(
        cls,
        *,
        queue: str,
        log_path: Path,
        concurrency: int = 2,
        env: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> CeleryProcess:
        args = [
            "worker", "-Q", queue, "--concurrency", str(concurrency), "--pool", "prefork",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        return cls(args, queue=queue, log_path=log_path, env=env, quiet=quiet)

    @classmethod
    def beat(
        cls,
        *,
        queue: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> CeleryProcess:
        args = ["beat", "--loglevel", "INFO", "--schedule", str(log_path.with_suffix(".db"))]
        return cls(args, queue=queue, log_path=log_path, env=env, quiet=quiet)

    def start(self) -> CeleryProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *self.global_args, *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches its children
        )
        return self

    def kill(self) -> None:
        """SIGKILL the process and its pool children: no warm shutdown, like a crash."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for(predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


@contextmanager
def running_worker(tmp_path: Path, *, concurrency: int = 1) -> Iterator[CeleryProcess]:
    """A worker on a queue of its own, stopped when the block ends."""
    worker = CeleryProcess.worker(
        queue=unique_queue(), log_path=tmp_path / "worker.log", concurrency=concurrency
    ).start()
    try:
        yield worker
    finally:
        worker.stop()
