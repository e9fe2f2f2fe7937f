"""Metrics across processes (prometheus-client's multiprocess mode,
config/metrics_files.py). Under gunicorn with two workers: requests served by either
worker add up in one scrape, the counts of a worker that died stay in the sums, the files
of an earlier run are gone, and a Celery worker's files in the subdirectory are not the
web's to serve. A real Celery worker serves what its pool counted on its own port
(config/celery_metrics.py), from its main process only, to the token's bearer only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from apps.billing.models import StripeEvent
from apps.core import metrics
from apps.core.tenancy import use_public_schema
from config.celery import app
from config.metrics import metrics_exposition
from tests.metrics import samples_parse, value
from tests.workers import CeleryProcess, unique_queue, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HEALTHZ = {"route": "healthz", "method": "GET", "status": "200"}
COUNT = "timenest_http_request_duration_seconds_count"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in text.split()}


def _holds_placed_file(path: Path, count: float) -> None:
    """A counter file as a process of another run (or group) leaves it."""
    counter = metrics.holds_placed_total
    key = mmap_key(
        "timenest_holds_placed", "timenest_holds_placed_total", [], [], counter._documentation
    )
    mmap = MmapedDict(str(path))
    mmap.write_value(key, count, 0.0)
    mmap.close()


class Server:
    def __init__(self, metrics_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.metrics_dir = metrics_dir
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        env = {key: value for key, value in os.environ.items() if key != "METRICS_TOKEN"}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "POSTGRES_DB": str(connection.settings_dict["NAME"]),
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
                "PYTHONPATH": str(ROOT),
            }
        )
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi:application",
            "--config", "config/gunicorn_conf_metrics.py",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "2",
            "--worker-class", "sync",
            "--keep-alive", "0",
            "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_for_workers(2)
        return self

    def wait_for_workers(self, count: int, *, besides: frozenset[int] = frozenset()) -> set[int]:
        """Waits until `count` workers (none of them in `besides`) answer."""
        assert self.process is not None
        for _ in range(600):
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log.read_text()}")
            workers = _children(self.process.pid)
            if len(workers) == count and not workers & besides:
                try:
                    self.get("/metrics")
                except OSError:
                    pass
                else:
                    return workers
            time.sleep(0.1)
        raise AssertionError(f"gunicorn's workers did not start: {self.log.read_text()}")

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Host": "localhost"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert answer.status == 200
            body: bytes = answer.read()
            return body

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    (path / "celery").mkdir(parents=True)
    return path


@pytest.fixture
def server(metrics_dir: Path, tmp_path: Path) -> Iterator[Server]:
    # given what an earlier run of gunicorn left behind, and a Celery worker's file
    _holds_placed_file(metrics_dir / "counter_999999.db", 1000)
    _holds_placed_file(metrics_dir / "celery" / "counter_999998.db", 7)
    running = Server(metrics_dir, tmp_path / "gunicorn.log").start()
    try:
        yield running
    finally:
        running.stop()


def _healthz_by_worker(metrics_dir: Path) -> dict[str, float]:
    """healthz requests counted in each process's own file."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("histogram_*.db"):
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                if sample.name == COUNT and sample.labels == HEALTHZ:
                    counts[path.stem.split("_")[1]] = sample.value
    return counts


def _requests(server: Server, count: int) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        for body in pool.map(lambda _: server.get("/healthz"), range(count)):
            assert body == b'{"status": "ok"}'


@pytest.mark.django_db
def test_request_counts_add_up_across_gunicorn_workers(server, metrics_dir):
    # when requests go on until both workers have served some
    sent = 0
    while len(_healthz_by_worker(metrics_dir)) < 2 and sent < 2000:
        _requests(server, 20)
        sent += 20
    by_worker = _healthz_by_worker(metrics_dir)
    samples = samples_parse(server.get("/metrics").decode())

    # then one scrape counts every request, whichever worker served it
    assert len(by_worker) == 2, by_worker
    assert all(count > 0 for count in by_worker.values())
    assert sum(by_worker.values()) == sent
    assert value(samples, COUNT, **HEALTHZ) == sent
    # the earlier run's file is gone; the Celery worker's is its own endpoint's to serve
    assert not (metrics_dir / "counter_999999.db").exists()
    assert (metrics_dir / "celery" / "counter_999998.db").exists()
    assert value(samples, "timenest_holds_placed_total") == 0

    # when a worker dies and gunicorn starts another
    workers = _children(server.process.pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    server.wait_for_workers(2, besides=frozenset({victim}))
    _requests(server, 10)

    # then the dead worker's requests still count
    samples = samples_parse(server.get("/metrics").decode())
    assert value(samples, COUNT, **HEALTHZ) == sent + 10


def _listening_inode(port: int) -> str:
    """The inode of the socket listening on 127.0.0.1:`port` (/proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # LISTEN
            return fields[9]
    return ""


def _holders(inode: str, pids: set[int]) -> set[int]:
    """Which of `pids` hold a descriptor of the socket `inode`."""
    holders = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    holders.add(pid)
            except FileNotFoundError:
                continue
    return holders


def _scrape(port: int, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.worker
def test_celery_worker_serves_its_own_counts_on_its_metrics_port(
    django_db_setup, django_db_blocker, metrics_dir, tmp_path, monkeypatch
):
    # given a Celery worker (two pool processes) writing to a directory of its own (an
    # earlier run's file in it), serving on a port of its own, with a token set
    celery_dir = metrics_dir / "celery"
    _holds_placed_file(celery_dir / "counter_999997.db", 5)
    port = _free_port()
    token = f"worker-scrape-{uuid.uuid4().hex}"
    queue = unique_queue("metrics")
    worker = CeleryProcess.worker(
        queue=queue,
        log_path=tmp_path / "worker.log",
        concurrency=2,
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(celery_dir),
            "CELERY_METRICS_PORT": str(port),
            "METRICS_TOKEN": token,
        },
    ).start()
    event_id = f"evt_metrics_{uuid.uuid4().hex}"
    with django_db_blocker.unblock():
        use_public_schema()
        # a Stripe event (committed) that the retry sweep will take up
        StripeEvent.objects.create(
            id=event_id,
            type="customer.created",
            payload={"id": event_id, "type": "customer.created", "data": {"object": {}}},
        )
        StripeEvent.objects.filter(pk=event_id).update(
            received_at=timezone.now() - timedelta(minutes=10)
        )
        try:
            assert wait_for(lambda: _listening_inode(port), timeout=60), worker.log()

            # when the worker runs the sweep
            with schema_context("public"):
                app.send_task("billing.stripe_events_retry", queue=queue)
            swept = StripeEvent.objects.filter(pk=event_id, attempts__gt=0)
            assert wait_for(swept.exists, timeout=60), worker.log()
            assert swept.get().outcome == "ignored"

            # then the worker's endpoint counts the task and what it did (and not the
            # earlier run's file), to the token's bearer only
            task = {"task": "billing.stripe_events_retry", "outcome": "succeeded"}

            def counted() -> str:
                status, text = _scrape(port, token)
                assert status == 200, text
                samples = samples_parse(text)
                return text if value(samples, "timenest_celery_tasks_total", **task) else ""

            # (the count is written just after the task's commit, which the wait saw)
            samples = samples_parse(wait_for(counted, timeout=30) or _scrape(port, token)[1])
            assert value(samples, "timenest_celery_tasks_total", **task) == 1
            duration = "timenest_celery_task_duration_seconds_count"
            assert value(samples, duration, task="billing.stripe_events_retry") == 1
            assert (
                value(samples, "timenest_stripe_events_total", type="other", result="ignored") == 1
            )
            assert value(samples, "timenest_holds_placed_total") == 0
            assert not (celery_dir / "counter_999997.db").exists()
            # the web's scrape-time figures are the web's alone
            assert "timenest_outbox_pending" not in {name for name, _labels in samples}
            assert _scrape(port, None)[0] == 401
            assert _scrape(port, "not-the-token")[0] == 401

            # the main process serves; no pool process holds the listening socket
            assert worker.process is not None
            main = worker.process.pid
            pool = _children(main)
            assert len(pool) == 2
            inode = _listening_inode(port)
            assert _holders(inode, {main, *pool}) == {main}

            # and a scrape of the web's directory does not count the worker's tasks twice
            monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
            web = samples_parse(metrics_exposition().decode())
            assert value(web, "timenest_stripe_events_total", type="other", result="ignored") == 0
            assert value(web, "timenest_celery_tasks_total", **task) == 0
        finally:
            StripeEvent.objects.filter(pk=event_id).delete()
            worker.stop()
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
