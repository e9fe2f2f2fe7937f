"""Throwaway PostgreSQL clusters for tests that must stop, kill or configure one: made
and started by config/local/services.sh itself (so with the settings `make run`'s
cluster gets) under a temporary TIMENEST_LOCAL_DIR, never touching the shared cluster."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings

from apps.accounts.backups.postgres_clients import client_program

SERVICES = Path(settings.BASE_DIR) / "config" / "local" / "services.sh"
# A port of its own: its socket lives in its own folder anyway, but a port named apart
# from the shared cluster's keeps any mistake loud.
PORT = 55432


def as_postgres(command: list[str]) -> list[str]:
    """initdb, pg_ctl and friends refuse to run as root: run them as `postgres` then, as
    services.sh does."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def give_to_postgres(path: Path) -> None:
    """A folder the cluster's processes write (an archive, a backup's target)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.getuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def program(name: str) -> str:
    return client_program(name)


def _exists(pid: int) -> bool:
    """Running, or dead but not yet reaped: pg_ctl takes a zombie postmaster for a
    running one, and only its reaper (here the machine's first process) removes it."""
    return Path(f"/proc/{pid}").exists()


@dataclass
class LocalCluster:
    local_dir: Path
    port: int = PORT

    @property
    def data_dir(self) -> Path:
        return self.local_dir / "pg" / "data"

    @property
    def socket_dir(self) -> Path:
        return self.local_dir / "run"

    def environ(self) -> dict[str, str]:
        return os.environ | {
            "TIMENEST_LOCAL_DIR": str(self.local_dir),
            "TIMENEST_PG_PORT": str(self.port),
        }

    def services(self, command: str) -> str:
        done = subprocess.run(
            ["bash", str(SERVICES), command],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def up(self) -> str:
        return self.services("pg-up")

    def down(self) -> None:
        self.services("pg-down")

    def connect(self, dbname: str = "timenest") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="timenest", dbname=dbname,
            autocommit=True,
        )  # fmt: skip

    def setting(self, name: str) -> str:
        with self.connect() as conn:
            row = conn.execute("SELECT current_setting(%s)", [name]).fetchone()
        assert row is not None
        return str(row[0])

    def postgres_run(self, *args: str) -> None:
        """A PostgreSQL program as the cluster's user (pg_ctl, pg_basebackup, …)."""
        command = as_postgres([program(args[0]), *args[1:]])
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == postmaster:
                children.append(int(entry.name))
        return [postmaster, *children]

    def kill_hard(self) -> None:
        """SIGKILL to the postmaster and all its processes at once, as a crash would
        leave them: no shutdown checkpoint, nothing flushed that was not already."""
        pids = self.processes()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while any(_exists(pid) for pid in pids):
            assert time.monotonic() < deadline, "the killed cluster's processes were not reaped"
            time.sleep(0.05)
