"""The image's roles without Docker (docker/run-roles.sh): on a fresh database of its
own, `migrate` runs first, then web, worker and beat start through docker/entrypoint.sh
under honcho with the production settings; the checks compose runs pass for each, the
worker and beat serve their own metrics, and SIGTERM stops them all cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import psycopg
import pytest
import redis
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from tests.workers import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(settings.BASE_DIR)
RUN_ROLES = ROOT / "docker" / "run-roles.sh"
# A Redis database no other local run uses (make run: 0, make roles: 9, make bench: 7).
REDIS_DB = 11


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin_connection() -> psycopg.Connection:
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=str(database["HOST"]),
        port=str(database["PORT"]),
        user=settings.DATABASE_ADMIN_USER,
        dbname="postgres",
        autocommit=True,
    )


def _drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def roles_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    test_database = cast(dict[str, str], settings.DATABASES["default"]["TEST"])["NAME"]
    database = f"{test_database}_roles"
    _drop_database(database)
    redis_url = f"redis://127.0.0.1:{os.environ.get('TIMENEST_REDIS_PORT', '6390')}/{REDIS_DB}"
    # A clean environment, as a container's: nothing of the test process's settings
    # (development defaults included) reaches the roles, only where the services are.
    inherited = ("PATH", "HOME", "LANG", "TMPDIR", "TIMENEST_LOCAL_DIR", "TIMENEST_PG_PORT")
    env = {key: os.environ[key] for key in inherited if key in os.environ} | {
        "PORT": str(_free_port()),
        "WORKER_METRICS_PORT": str(_free_port()),
        "BEAT_METRICS_PORT": str(_free_port()),
        "POSTGRES_DB": database,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"test-roles-{run_id}",
        "CELERY_QUEUE": f"test-roles-{run_id}",
        "CELERY_BEAT_LOCK_KEY": f"test-roles-{run_id}:beat-lock",
        "CELERY_WORKER_NAME": f"worker-{run_id}@test",
        "CELERY_BEAT_NAME": f"celerybeat-{run_id}@test",
        "CELERY_CONCURRENCY": "1",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_FORMAT": "console",
    }
    yield env
    _drop_database(database)
    client = redis.Redis.from_url(redis_url)
    keys: list[str | bytes] = [env["CELERY_QUEUE"], env["CELERY_BEAT_LOCK_KEY"]]
    keys += list(client.scan_iter(f"*{env['CACHE_KEY_PREFIX']}*"))
    client.delete(*keys)


def _health(env: dict[str, str], role: str) -> bool:
    done = subprocess.run(
        [str(RUN_ROLES), "health", role], env=env, capture_output=True, timeout=60
    )
    return done.returncode == 0


def _get(env: dict[str, str], path: str) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{env['PORT']}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _metrics(port: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        text: str = answer.read().decode()
        return text


def _tasks_counted(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "timenest_celery_tasks_total"
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_roles_migrates_then_serves_and_every_health_check_passes(roles_env, tmp_path):
    log_path = tmp_path / "roles.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(RUN_ROLES)],
            cwd=ROOT,
            env=roles_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    try:
        # the first migration of a fresh database takes about a minute on two cores
        wait_for(
            lambda: process.poll() is not None or _health(roles_env, "web"),
            timeout=600,
            interval=2.0,
        )
        assert process.poll() is None and _health(roles_env, "web"), log_text()[-4000:]
        assert "Database ready in" in log_text()
        assert _get(roles_env, "/healthz") == (200, {"status": "ok"})
        status, body = _get(roles_env, "/readyz")
        assert (status, body["status"]) == (200, "ready"), body
        for role in ("worker", "beat"):
            healthy = wait_for(
                lambda role=role: _health(roles_env, role), timeout=120, interval=2.0
            )
            assert healthy, (role, log_text()[-4000:])

        # the worker runs with the limits of the settings and replaces its pool processes
        stats = subprocess.run(
            [str(RUN_ROLES), "celery", "-A", "config", "inspect", "stats", "--json",
             "--destination", roles_env["CELERY_WORKER_NAME"]],
            env=roles_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert stats.returncode == 0, stats.stderr
        pool = json.loads(stats.stdout)[roles_env["CELERY_WORKER_NAME"]]["pool"]
        assert pool["timeouts"] == [
            settings.CELERY_TASK_SOFT_TIME_LIMIT,
            settings.CELERY_TASK_TIME_LIMIT,
        ]
        assert pool["max-tasks-per-child"] == 1000
        assert "beat.lock.acquired" in log_text()

        # the worker serves the tasks beat sent it on its own port, the web does not
        # serve them again; beat serves its own process
        worker_port = roles_env["WORKER_METRICS_PORT"]
        counted = wait_for(lambda: _tasks_counted(_metrics(worker_port)), timeout=120, interval=2.0)
        assert counted > 0, log_text()[-4000:]
        assert _tasks_counted(_metrics(roles_env["PORT"])) == 0
        assert "timenest_outbox_pending{" in _metrics(roles_env["PORT"])
        assert "timenest_outbox_pending{" not in _metrics(worker_port)
        assert "process_start_time_seconds" in _metrics(roles_env["BEAT_METRICS_PORT"])
    finally:
        # SIGTERM to honcho alone: it passes it on to web, worker and beat
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        finally:
            # honcho starts each role in a process group of its own
            groups = [int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", log_text())]
            stopped = wait_for(lambda: not any(map(_group_alive, groups)), timeout=30)
            for group in [process.pid, *groups]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
    text = log_text()
    assert len(groups) == 3 and stopped, text[-4000:]
    assert "sending SIGKILL" not in text  # honcho's, after 5 s: nothing needed it
    assert "Shutting down: Master" in text  # gunicorn
    assert "Warm shutdown" in text  # the worker
    assert "beat.lock.released" in text
    assert "Traceback" not in text, text[-4000:]
