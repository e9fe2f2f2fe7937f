"""Periodic booking work: scheduled in every tenant, runnable as tasks."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from apps.bookings.models import Booking
from apps.bookings.services import booking_hold
from apps.bookings.tasks import holds_expire_task
from apps.calendars.models import SlotHold
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)


def test_beat_runs_the_sweeper_and_the_purge_only_where_they_are_due():
    sweeper = settings.CELERY_BEAT_SCHEDULE["bookings-holds-expire"]
    purge = settings.CELERY_BEAT_SCHEDULE["bookings-idempotency-purge"]

    assert sweeper["task"] == "accounts.run_where_due"
    assert purge["task"] == "accounts.run_where_due"
    assert sweeper["args"] == ("holds", "bookings.holds_expire")
    assert purge["args"] == ("idempotency", "bookings.idempotency_purge")
    assert sweeper["schedule"] == crontab(minute="*")
    assert purge["schedule"] == crontab(minute="*/10")


def test_holds_expire_task_expires_elapsed_holds_of_the_current_tenant(acme):
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    booking = booking_hold(
        service=service, resource=resource, starts_at=start, customer=customer(), actor=CUSTOMER
    )
    past = timezone.now() - timedelta(minutes=1)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=past)
    SlotHold.objects.filter(booking_id=booking.pk).update(expires_at=past)

    assert holds_expire_task.delay().get() == 1

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
