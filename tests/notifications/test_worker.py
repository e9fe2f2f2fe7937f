"""Exactly once with a real worker: the worker is SIGKILLed in the middle of a batch and
restarted; every due notification is delivered exactly once (counted as .eml files the
worker processes wrote, one per delivery)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.tenancy import use_tenant
from apps.notifications.messages.delivery import notifications_dispatch_due
from apps.notifications.models import Notification
from config.celery import app
from tests.notifications.committed import due_notifications, eml_message_ids
from tests.workers import CeleryProcess, unique_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]

Status = Notification.Status


def _beat_tick(queue: str) -> None:
    """What beat sends every NOTIFICATION_DISPATCH_INTERVAL_SECONDS: the task that runs
    `notifications.dispatch_due` in every tenant with messages due."""
    with schema_context("public"):
        app.send_task(
            "accounts.run_where_due", args=["messages", "notifications.dispatch_due"], queue=queue
        )


def _statuses() -> Counter[str]:
    return Counter(Notification.objects.values_list("status", flat=True))


def _env(mail_dir, **extra: str) -> dict[str, str]:
    return {
        "TEST_EMAIL_BACKEND": "apps.notifications.messages.mail_backends.EmlFileEmailBackend",
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
        # short lease and re-dispatch interval so the test need not wait minutes
        "NOTIFICATION_SENDING_LEASE_SECONDS": "3",
        "NOTIFICATION_REDISPATCH_SECONDS": "3",
        # a dispatcher killed before it noted the next due time is sent again this soon
        "TENANT_WORK_LEASE_SECONDS": "3",
        **extra,
    }


def _kill_then_restart_then_finish(
    tenant, tmp_path, *, total: int, kill_when, first_env: dict[str, str]
) -> Counter[str]:
    """Runs a worker until `kill_when(mail_dir)` holds, SIGKILLs it, starts another, lets
    beat tick until every row is sent, and checks each was delivered exactly once.
    Returns the row statuses seen right after the kill."""
    notifications = due_notifications(total)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    queue = unique_queue()
    first = CeleryProcess.worker(queue=queue, log_path=tmp_path / "worker-1.log", env=first_env)
    second = CeleryProcess.worker(
        queue=queue, log_path=tmp_path / "worker-2.log", env=_env(mail_dir)
    )
    try:
        first.start()
        _beat_tick(queue)
        reached = wait_for(lambda: kill_when(mail_dir), timeout=60, interval=0.01)
        first.kill()
        assert reached, first.log()[-3000:]
        at_kill = _statuses()
        assert at_kill[Status.SENT] < total, "the kill came after the batch had finished"

        second.start()

        def all_sent() -> bool:
            _beat_tick(queue)
            return _statuses()[Status.SENT] == total

        finished = wait_for(all_sent, timeout=120, interval=1.0)

        assert finished, (_statuses(), second.log()[-3000:])
        message_ids = eml_message_ids(mail_dir)
        assert len(message_ids) == total, Counter(message_ids).most_common(3)
        domain = tenant.domains.get().domain
        assert set(message_ids) == {f"<{n.pk}.0@{domain}>" for n in notifications}
        assert _statuses() == {Status.SENT: total}
        return at_kill
    finally:
        first.kill()
        second.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def test_worker_killed_mid_batch_and_restarted_delivers_every_due_notification_exactly_once(
    committed, tmp_path
):
    # given 240 due notifications and a worker that is killed once a third are out
    total = 240

    def a_third_delivered(mail_dir) -> bool:
        return len(list(mail_dir.glob("*.eml"))) >= total // 3

    # when it is restarted and beat keeps ticking, then each is delivered exactly once
    _kill_then_restart_then_finish(
        committed,
        tmp_path,
        total=total,
        kill_when=a_third_delivered,
        first_env=_env(tmp_path / "mail"),
    )


def test_worker_killed_while_sending_neither_loses_nor_repeats_the_messages_in_flight(
    committed, tmp_path
):
    # given a worker (two processes) whose provider calls hang twice: once after the
    # provider took a message (not yet recorded as sent), once before it got one
    total = 160
    env = _env(
        tmp_path / "mail",
        TEST_EMAIL_BACKEND="tests.notifications.backends.StallingEmlBackend",
        STALL_DELIVERED_AT=str(total // 4),
        STALL_UNDELIVERED_AT=str(total // 2),
    )

    def both_stalled(mail_dir) -> bool:
        return (mail_dir / ".stalled-delivered").exists() and (
            mail_dir / ".stalled-undelivered"
        ).exists()

    # when it is killed with both messages in flight and another worker takes over
    at_kill = _kill_then_restart_then_finish(
        committed, tmp_path, total=total, kill_when=both_stalled, first_env=env
    )

    # then the two rows were caught in `sending`, and recovery asked the provider: the
    # delivered one was recorded (not resent), the other sent once (checked above)
    assert at_kill[Status.SENDING] == 2


def test_two_dispatchers_at_once_split_the_due_rows_without_overlap(committed):
    # given 300 due rows (committed)
    due_notifications(300)
    picked: dict[str, list] = {}
    barrier = threading.Barrier(2)

    def dispatcher(name: str) -> None:
        try:
            use_tenant(committed)
            barrier.wait(timeout=30)
            picked[name] = notifications_dispatch_due(limit=200)
        finally:
            connection.close()

    # when two dispatch at the same instant, each taking up to 200
    threads = [threading.Thread(target=dispatcher, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then no row was queued twice and every row was queued once
    assert not set(picked["a"]) & set(picked["b"])
    assert len(picked["a"]) + len(picked["b"]) == 300
    assert not Notification.objects.filter(dispatched_at__isnull=True).exists()
    assert timezone.now() >= Notification.objects.latest("dispatched_at").dispatched_at
