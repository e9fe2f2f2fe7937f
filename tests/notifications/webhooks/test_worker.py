"""Webhook delivery through a real Celery worker process: the send task queued when the
booking commits runs in the worker (inside the right tenant) and reaches the receiver; a
failed attempt is retried by beat (`accounts.run_where_due` -> `webhooks.dispatch_due`
in the businesses with deliveries due) once its backoff has passed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant
from apps.notifications.webhooks import tasks as webhook_tasks
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from apps.notifications.webhooks.services import webhook_endpoint_create, webhook_event_record
from config.celery import app
from tests.notifications.committed import committed, worker_tenant  # noqa: F401
from tests.notifications.factories import BookingFactory, CustomerFactory
from tests.notifications.webhooks.receivers import WebhookReceiver
from tests.workers import CeleryProcess, unique_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def hooks_tenant(committed: Tenant) -> Iterator[Tenant]:  # noqa: F811
    """The committed worker tenant, emptied of webhook rows afterwards."""
    try:
        yield committed
    finally:
        WebhookEndpoint.objects.all().delete()
        WebhookEvent.objects.all().delete()


@pytest.fixture
def worker_queue(tmp_path, monkeypatch) -> Iterator[tuple[str, CeleryProcess]]:
    """A worker on its own queue; this process's send tasks go there instead of running
    eagerly in the test process."""
    queue = unique_queue("hooks")
    worker = CeleryProcess.worker(
        queue=queue,
        log_path=tmp_path / "worker.log",
        concurrency=1,
        env={"WEBHOOK_RETRY_BASE_SECONDS": "1", "WEBHOOK_REDISPATCH_SECONDS": "1"},
    )

    def to_worker(delivery_id: str) -> Any:
        return app.send_task("webhooks.send", args=[delivery_id], queue=queue)

    monkeypatch.setattr(webhook_tasks.send_webhook_delivery, "delay", to_worker)
    worker.start()
    try:
        yield queue, worker
    finally:
        worker.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _beat_tick(queue: str) -> None:
    with schema_context("public"):
        app.send_task(
            "accounts.run_where_due", args=["webhooks", "webhooks.dispatch_due"], queue=queue
        )


def test_worker_delivers_and_beat_retries_a_failed_delivery(hooks_tenant, worker_queue):
    queue, worker = worker_queue
    receiver = WebhookReceiver().start()
    try:
        # given an endpoint whose receiver fails the first request
        receiver.answer(500)
        webhook_endpoint_create(url=receiver.url, events=["booking.confirmed"])
        # A booking row of its own (the booking services' history rows are append-only
        # and could not be cleaned out of this shared tenant); the signal path is
        # covered by test_delivery.py.
        booking = BookingFactory(customer=CustomerFactory(email="pat@example.test"))

        # when its event is recorded and committed: the send task goes to the worker
        with transaction.atomic():
            webhook_event_record(event_type="booking.confirmed", booking=booking)

        # then the worker's first attempt reached the receiver and failed
        first = wait_for(lambda: len(receiver.requests) >= 1, timeout=60)
        assert first, worker.log()[-3000:]

        # when beat ticks after the backoff, then the retry succeeds
        def delivered() -> bool:
            _beat_tick(queue)
            return WebhookDelivery.objects.filter(status="succeeded").exists()

        assert wait_for(delivered, timeout=60, interval=1.0), worker.log()[-3000:]
        delivery = WebhookDelivery.objects.get()
        assert delivery.attempts == 2
        assert [r.payload["data"]["booking"]["id"] for r in receiver.requests] == [
            str(booking.pk)
        ] * 2
        assert receiver.requests[0].payload["business"] == hooks_tenant.slug
    finally:
        receiver.stop()
