"""The drill's processes: each started in a process group of its own, so that killing
"an instance" (SIGKILL) takes its master and every worker at once, as losing a machine
or a container would, and stopping one (SIGTERM) lets it finish cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.bench.server import ROOT

VENV_BIN = ROOT / ".venv" / "bin"


class Process:
    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: dict[str, str],
        log: Path,
        stop_signal: signal.Signals = signal.SIGTERM,
    ):
        self.name = name
        self.stop_signal = stop_signal
        self.command = list(command)
        self.env = env
        self.log_path = log
        self.popen: subprocess.Popen[bytes] | None = None
        self.killed_at: float | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_until(self, ready: Callable[[], bool], *, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} was not ready within {timeout_s:.0f} s; see {self.log_path}"
        )

    def kill(self) -> None:
        """SIGKILL to the whole group: nothing of it gets to clean up."""
        if self.popen is None:
            return
        self.killed_at = time.perf_counter()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, *, timeout_s: float = 30.0) -> int | None:
        """Its clean-stop signal (gunicorn, Celery: SIGTERM, a warm shutdown), then SIGKILL
        if it does not end in time. Returns the exit status, None when it had to be
        killed."""
        if self.popen is None:
            return None
        if self.popen.poll() is not None:
            self._reap_group()
            return self.popen.returncode
        self.popen.send_signal(self.stop_signal)
        try:
            code = self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            return None
        self._reap_group()
        return code

    def _reap_group(self) -> None:
        # Whatever of the group outlived its leader (a pool process of a killed worker).
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


def http_ok(url: str, *, host: str = "localhost") -> bool:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


def gunicorn(name: str, *, port: int, workers: int, env: dict[str, str], log: Path) -> Process:
    """gunicorn as production runs it (tests/bench/server.py): WSGI, sync workers, no
    keep-alive."""
    command = [str(VENV_BIN / "gunicorn"), "config.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--worker-class", "sync", "--keep-alive", "0", "--timeout", "30"]
    command += ["--log-level", "warning"]
    return Process(name, command, env=env, log=log)


def celery_worker(name: str, *, concurrency: int, env: dict[str, str], log: Path) -> Process:
    """As docker/entrypoint.sh's `worker` role runs it."""
    command = [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO"]
    command += ["--hostname", f"{name}@drill", "--concurrency", str(concurrency)]
    command += ["--without-gossip", "--without-mingle"]
    return Process(name, command, env=env, log=log)


def celery_beat(*, env: dict[str, str], log: Path) -> Process:
    # The schedule lives in the database (config/beat_scheduler.py), not in a file.
    command = [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO"]
    return Process("beat", command, env=env, log=log)
