"""Metrics across processes (prometheus-client's multiprocess mode,
config/metrics_files.py). Under gunicorn with two workers: requests served by either
worker add up in one scrape, the counts of a worker that died stay in the sums, the files
of an earlier run are gone, and a Celery worker's files in the subdirectory are added
in. A real Celery worker: what it counts reaches the scrape of the shared directory."""

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
    # the earlier run's file is gone; the Celery worker's is added in
    assert not (metrics_dir / "counter_999999.db").exists()
    assert value(samples, "timenest_holds_placed_total") == 7

    # when a worker dies and gunicorn starts another
    workers = _children(server.process.pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    server.wait_for_workers(2, besides=frozenset({victim}))
    _requests(server, 10)

    # then the dead worker's requests still count
    samples = samples_parse(server.get("/metrics").decode())
    assert value(samples, COUNT, **HEALTHZ) == sent + 10


@pytest.mark.worker
def test_celery_worker_counts_reach_the_scrape_of_the_shared_directory(
    django_db_setup, django_db_blocker, metrics_dir, tmp_path, monkeypatch
):
    # given a Celery worker writing to the subdirectory (an earlier run's file in it)
    celery_dir = metrics_dir / "celery"
    _holds_placed_file(celery_dir / "counter_999997.db", 5)
    queue = unique_queue("metrics")
    worker = CeleryProcess.worker(
        queue=queue,
        log_path=tmp_path / "worker.log",
        concurrency=1,
        env={"PROMETHEUS_MULTIPROC_DIR": str(celery_dir)},
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
            # when the worker runs the sweep
            with schema_context("public"):
                app.send_task("billing.stripe_events_retry", queue=queue)
            swept = StripeEvent.objects.filter(pk=event_id, attempts__gt=0)
            assert wait_for(swept.exists, timeout=60), worker.log()
            assert swept.get().outcome == "ignored"

            # then a scrape of the web's directory counts it (and not the earlier run's)
            monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
            samples = samples_parse(metrics_exposition().decode())
            assert (
                value(samples, "timenest_stripe_events_total", type="other", result="ignored") == 1
            )
            assert value(samples, "timenest_holds_placed_total") == 0
            assert not (celery_dir / "counter_999997.db").exists()
        finally:
            StripeEvent.objects.filter(pk=event_id).delete()
            worker.stop()
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
