"""Slots that ended more than SLOT_RETENTION_DAYS ago are deleted by the daily upkeep, so the slot
table stops growing; bookings keep their own times and stay."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.bookings.models import Booking
from apps.calendars.grid.services import slots_prune
from apps.calendars.models import SlotHold, SlotInstance
from apps.calendars.tasks import materialize_tenant, prune_slots
from config.celery import app
from tests.bookings.factories import slots_create
from tests.calendars.bookings import book, hold
from tests.calendars.times import london

pytestmark = pytest.mark.django_db


def test_slots_that_ended_before_the_retention_period_go_and_the_rest_stay(
    service, weekday_hours, monday, settings
):
    # given a week of slots with a booking and a hold on its Monday
    settings.SLOT_RETENTION_DAYS = 35
    booked = book(service=service, resource=weekday_hours, start=london(monday, 10))
    held = hold(service=service, resource=weekday_hours, start=london(monday, 11), who=1)
    week = SlotInstance.objects.count()
    monday_slots = SlotInstance.objects.filter(
        starts_at__lt=london(monday + dt.timedelta(days=1), 0)
    )

    # when the nightly prune runs 35 days after Monday's last slot ended, in small batches
    last_monday_end = max(monday_slots.values_list("ends_at", flat=True))
    deleted = slots_prune(now=last_monday_end + dt.timedelta(days=35, seconds=1), batch=5)

    # then exactly Monday's slots (and the hold row on one) are gone
    assert deleted == 16
    assert SlotInstance.objects.count() == week - 16
    assert not SlotInstance.objects.filter(starts_at__lt=london(monday + dt.timedelta(days=1), 0))
    assert not SlotHold.objects.filter(booking_id=held.pk).exists()
    # and the booking, which carries its own times, is untouched
    kept = Booking.objects.get(pk=booked.pk)
    assert (kept.status, kept.starts_at, kept.ends_at) == (
        "confirmed",
        booked.starts_at,
        booked.ends_at,
    )
    # a second run finds nothing more
    assert slots_prune(now=last_monday_end + dt.timedelta(days=35, seconds=1)) == 0


def test_slots_inside_the_retention_period_are_kept(resource, settings):
    settings.SLOT_RETENTION_DAYS = 35
    ended = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    slots_create(resource=resource, starts_at=ended - dt.timedelta(minutes=30))

    assert slots_prune(now=ended + dt.timedelta(days=35)) == 0
    assert slots_prune(now=ended + dt.timedelta(days=35, minutes=1)) == 1


def test_the_daily_grid_upkeep_prunes_old_slots(resource, settings):
    settings.SLOT_RETENTION_DAYS = 35
    old = timezone.now() - dt.timedelta(days=40)
    slots_create(resource=resource, starts_at=old)

    assert "calendars-slots-prune" not in settings.CELERY_BEAT_SCHEDULE
    assert materialize_tenant(days=1)["pruned"] == 1
    assert "calendars.prune_slots" in app.tasks
    assert prune_slots() == 0
