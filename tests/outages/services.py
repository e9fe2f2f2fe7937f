"""A PostgreSQL cluster, a Redis and a gunicorn of the outage tests' own, each on a free
loopback port, under one temporary folder. The tests stop and start the first two at
will; nothing here touches the local services of config/local/services.sh.

PostgreSQL's tools refuse to run as root: as root they run as `postgres` (as
config/local/services.sh does), which then owns the folder."""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
ADMIN_ROLE = "timenest"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bin(name: str) -> str | None:
    for found in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return found
    return shutil.which(name)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


class Postgres:
    """A cluster of its own, listening on 127.0.0.1 only, trusting its local clients."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.log = folder / "postgres.log"
        self.port = free_port()

    def _ctl(self, *args: str) -> None:
        command = [str(pg_bin("pg_ctl")), "-D", str(self.data), *args]
        _run(_as_postgres(command), cwd="/")

    def create(self) -> Postgres:
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
        command = [str(pg_bin("initdb")), "-D", str(self.data), "-U", ADMIN_ROLE]
        command += ["--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
        _run(_as_postgres(command), cwd="/")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                "unix_socket_directories = ''\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\n"
            )
        return self.start()

    def start(self) -> Postgres:
        self._ctl("-l", str(self.log), "-w", "-t", str(STARTUP_SECONDS), "start")
        return self

    def stop(self) -> None:
        """`immediate`: the server goes away without a word to its clients, as on a crash."""
        self._ctl("-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        command = [str(pg_bin("pg_ctl")), "-D", str(self.data), "status"]
        return subprocess.run(_as_postgres(command), cwd="/", capture_output=True).returncode == 0

    def conninfo(self, dbname: str) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": ADMIN_ROLE,
            "dbname": dbname,
            "autocommit": True,
        }

    def database_copy(self, *, name: str, source: dict[str, Any]) -> None:
        """Creates `name` here holding what the database `source` (a Django settings dict)
        holds: structure and rows, every schema, owned by the admin role."""
        with psycopg.connect(**self.conninfo("postgres")) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        environment = os.environ | {"PGPASSWORD": str(source.get("PASSWORD") or "")}
        dump = [
            str(pg_bin("pg_dump")), "--format=custom", "--no-owner", "--no-privileges",
            "--host", str(source["HOST"]), "--port", str(source["PORT"]),
            "--username", str(source["USER"]), "--dbname", str(source["NAME"]),
        ]  # fmt: skip
        dumped = subprocess.run(dump, capture_output=True, env=environment, check=False)
        if dumped.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {dumped.stderr.decode()[-2000:]}")
        restore = [
            str(pg_bin("pg_restore")), "--no-owner", "--no-privileges", "--exit-on-error",
            "--host", "127.0.0.1", "--port", str(self.port), "--username", ADMIN_ROLE,
            "--dbname", name,
        ]  # fmt: skip
        restored = subprocess.run(restore, input=dumped.stdout, capture_output=True, check=False)
        if restored.returncode != 0:
            raise RuntimeError(f"pg_restore failed: {restored.stderr.decode()[-2000:]}")


class Redis:
    """A redis-server of its own that keeps nothing on disk; restarted on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Redis:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_SECONDS
        client = redis.Redis.from_url(self.url)
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Gunicorn:
    """`gunicorn config.wsgi` with one sync worker (so that the connection it keeps is the
    one the next request finds) and the environment given."""

    def __init__(self, *, environment: dict[str, str], log_path: Path) -> None:
        self.environment = environment
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "sync",
            "--timeout", "60", "--log-level", "warning",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200 and self.worker_pids():
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {STARTUP_SECONDS} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(child) for child in children.split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(
        self,
        method: str,
        path: str,
        *,
        host: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": host, **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return Answer(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                body=response.read(),
            )
        finally:
            connection.close()


@dataclass
class Stack:
    postgres: Postgres
    redis: Redis
    server: Gunicorn
    seed: dict[str, Any] = field(default_factory=dict)
