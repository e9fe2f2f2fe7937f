"""Measurements with real processes (numbers are printed, never asserted: targets are
checked by `make bench`). Run with `-s` to see them:

    make measure PYTEST_ARGS=tests/notifications/test_worker_measurements.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta

import pytest
from django.db.models import Max, Min
from django.utils import timezone

from apps.notifications.models import Notification
from config.celery import app
from tests.notifications.committed import due_notifications
from tests.notifications.test_worker import _beat_tick
from tests.workers import CeleryProcess, unique_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.measurement]

Status = Notification.Status


def _report(capsys, name: str, numbers: dict[str, object]) -> None:
    with capsys.disabled():
        sys.stdout.write(f"\n[measurement] {name}: {json.dumps(numbers)}\n")


def _sent() -> int:
    return Notification.objects.filter(status=Status.SENT).count()


@pytest.mark.parametrize(
    ("concurrency", "backend", "latency_ms", "total"),
    [
        (1, "apps.notifications.messages.mail_backends.EmlFileEmailBackend", 0, 3000),
        (2, "apps.notifications.messages.mail_backends.EmlFileEmailBackend", 0, 3000),
        (2, "tests.notifications.backends.SlowProviderEmlBackend", 150, 600),
        (8, "tests.notifications.backends.SlowProviderEmlBackend", 150, 1500),
    ],
)
def test_measure_notifications_per_hour_on_one_worker(
    committed, tmp_path, capsys, concurrency, backend, latency_ms, total
):
    due_notifications(total)
    queue = unique_queue("notif-rate")
    worker = CeleryProcess.worker(
        queue=queue,
        log_path=tmp_path / "worker.log",
        concurrency=concurrency,
        env={
            "TEST_EMAIL_BACKEND": backend,
            "TEST_EMAIL_FILE_PATH": str(tmp_path / "mail"),
            "PROVIDER_LATENCY_MS": str(latency_ms),
            "LOG_LEVEL": "WARNING",
        },
    ).start()
    try:
        assert wait_for(lambda: "ready." in worker.log(), timeout=60), worker.log()
        started = time.perf_counter()
        _beat_tick(queue)

        def done() -> bool:
            if _sent() < total:
                _beat_tick(queue)  # beat would tick every 15 s; batches are 1,000 rows
                return False
            return True

        assert wait_for(done, timeout=900, interval=1.0), worker.log()[-3000:]
        wall = time.perf_counter() - started
        span = Notification.objects.aggregate(first=Min("sent_at"), last=Max("sent_at"))
        sending_seconds = (span["last"] - span["first"]).total_seconds()
        _report(
            capsys,
            "throughput",
            {
                "concurrency": concurrency,
                "provider_latency_ms": latency_ms,
                "notifications": total,
                "wall_seconds": round(wall, 2),
                "per_hour_wall": round(total / wall * 3600),
                "per_hour_while_sending": round(total / sending_seconds * 3600),
            },
        )
    finally:
        worker.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def test_measure_how_long_a_due_reminder_waits_with_beat_and_a_worker(committed, tmp_path, capsys):
    # given notifications coming due every 3 s over the next minute, and the processes
    # `make run` starts: beat (dispatch every 15 s) and a worker
    count = 21
    due_notifications(count, due_at=timezone.now() + timedelta(seconds=20), spread=3.0)
    queue = unique_queue("notif-lag")
    env = {
        "TEST_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "TEST_EMAIL_BACKEND": "apps.notifications.messages.mail_backends.EmlFileEmailBackend",
    }
    worker = CeleryProcess.worker(queue=queue, log_path=tmp_path / "worker.log", env=env).start()
    beat = CeleryProcess.beat(queue=queue, log_path=tmp_path / "beat.log", env=env).start()
    try:
        finished = wait_for(lambda: _sent() == count, timeout=240, interval=1.0)
        assert finished, (beat.log()[-2000:], worker.log()[-2000:])
        lags = sorted(
            (n.sent_at - n.scheduled_for).total_seconds()
            for n in Notification.objects.filter(status=Status.SENT)
        )
        _report(
            capsys,
            "due-to-sent lag (dispatch interval 15 s)",
            {
                "notifications": count,
                "min_s": round(lags[0], 2),
                "median_s": round(statistics.median(lags), 2),
                "p95_s": round(lags[int(0.95 * (len(lags) - 1))], 2),
                "max_s": round(lags[-1], 2),
            },
        )
    finally:
        beat.stop()
        worker.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
