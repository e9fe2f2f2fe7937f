"""The outbox: rows planned inside the booking transaction, re-planned when the booking
or the tenant's reminder offsets change, and skipped when their time has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.bookings import signals
from apps.bookings.models import Booking
from apps.bookings.services import (
    booking_cancel,
    booking_reschedule,
    holds_expire,
)
from apps.notifications.messages.services import (
    notifications_plan_confirmed,
    reminders_replan_for_tenant,
)
from apps.notifications.models import Notification
from apps.notifications.services import notification_preference_update
from tests.notifications.factories import (
    STAFF,
    BookingFactory,
    CustomerFactory,
    hour_from_now,
)
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.Status


def _rows(booking: Booking) -> dict[tuple[str, str, int, int], Notification]:
    return {
        (n.kind, n.channel, n.offset_minutes, n.booking_sequence): n
        for n in Notification.objects.filter(booking_id=booking.pk)
    }


def test_booking_confirm_plans_confirmation_and_reminders_in_the_same_transaction(place):
    # given the tenant's default offsets (24 h and 1 h)
    starts_at = hour_from_now(days=3)

    # when a customer holds and confirms through the booking services
    booking = place.book(starts_at=starts_at)

    # then the rows exist, inside the (test) transaction that made the booking
    rows = _rows(booking)
    assert set(rows) == {
        (Kind.CONFIRMED, "email", 0, 0),
        (Kind.REMINDER, "email", 1440, 0),
        (Kind.REMINDER, "email", 60, 0),
    }
    assert all(n.status == Status.PENDING for n in rows.values())
    assert rows[(Kind.REMINDER, "email", 1440, 0)].scheduled_for == starts_at - timedelta(hours=24)
    assert rows[(Kind.REMINDER, "email", 60, 0)].scheduled_for == starts_at - timedelta(hours=1)


def test_booking_transaction_rolled_back_leaves_no_notification(
    place, django_capture_on_commit_callbacks
):
    # given a booking transaction that confirms and then fails (e.g. a later step raises)
    # (the whole transaction must fail, so the raises block holds all of it)
    with (  # noqa: PT012
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        booking = place.book()
        assert Notification.objects.filter(booking_id=booking.pk).count() == 3
        raise RuntimeError("a later step of the same transaction failed")

    # then neither the booking nor any notification exists, and nothing was queued
    assert not Booking.objects.filter(pk=booking.pk).exists()
    assert not Notification.objects.filter(booking_id=booking.pk).exists()
    assert callbacks == []
    assert mail.outbox == []


def test_signal_sent_in_a_rolled_back_transaction_leaves_no_notification(acme):
    booking = BookingFactory()

    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 — as above
        signals.booking_confirmed.send(sender=Booking, booking=booking, actor=STAFF)
        assert Notification.objects.filter(booking=booking).exists()
        raise RuntimeError("rollback")

    assert not Notification.objects.filter(booking=booking).exists()


def test_confirmation_is_sent_once_the_booking_commits(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = place.book()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jane@example.test"]
    confirmed = Notification.objects.get(booking_id=booking.pk, kind=Kind.CONFIRMED)
    assert confirmed.status == Status.SENT
    assert confirmed.attempts == 1
    # reminders wait for their time
    assert Notification.objects.filter(booking_id=booking.pk, status=Status.PENDING).count() == 2


def test_reminder_whose_time_has_passed_when_planned_is_skipped_not_sent_late(place):
    # given a booking made 2 hours before it starts: the 24 h reminder time is past
    starts_at = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)

    booking = place.book(starts_at=starts_at)

    rows = _rows(booking)
    day_before = rows[(Kind.REMINDER, "email", 1440, 0)]
    hour_before = rows[(Kind.REMINDER, "email", 60, 0)]
    assert day_before.status == Status.CANCELLED
    assert day_before.status_reason == "past_due"
    assert hour_before.status == Status.PENDING


def test_customer_with_phone_gets_text_messages_unless_the_tenant_turned_them_off(place):
    booking = place.book(phone="+44 7911 123456")
    assert {(n.kind, n.channel) for n in Notification.objects.filter(booking_id=booking.pk)} == {
        (Kind.CONFIRMED, "email"),
        (Kind.CONFIRMED, "sms"),
        (Kind.REMINDER, "email"),
        (Kind.REMINDER, "sms"),
    }

    notification_preference_update(sms_enabled=False)
    other = place.book(
        starts_at=hour_from_now(days=4), email="sam@example.test", phone="+447911123457"
    )
    assert not Notification.objects.filter(booking_id=other.pk, channel="sms").exists()


def test_reschedule_revokes_pending_reminders_and_plans_new_ones(place):
    # given a confirmed booking with its reminders planned, one of them already sent
    old_start = hour_from_now(days=3)
    booking = place.book(starts_at=old_start)
    Notification.objects.filter(booking_id=booking.pk, offset_minutes=1440).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    new_start = hour_from_now(days=5, hour=14)
    place.slots(new_start)

    # when staff move it
    moved = booking_reschedule(booking=booking, starts_at=new_start, actor=STAFF)

    # then the pending reminder of the old time is revoked, the sent one stays sent,
    # and the new time gets its own notice and reminders (booking sequence 1)
    assert moved.sequence == 1
    rows = _rows(booking)
    assert rows[(Kind.REMINDER, "email", 60, 0)].status == Status.CANCELLED
    assert rows[(Kind.REMINDER, "email", 60, 0)].status_reason == "rescheduled"
    assert rows[(Kind.REMINDER, "email", 1440, 0)].status == Status.SENT
    assert rows[(Kind.REMINDER, "email", 1440, 1)].status == Status.PENDING
    assert rows[(Kind.REMINDER, "email", 1440, 1)].scheduled_for == new_start - timedelta(days=1)
    assert rows[(Kind.REMINDER, "email", 60, 1)].scheduled_for == new_start - timedelta(hours=1)
    notice = rows[(Kind.RESCHEDULED, "email", 0, 1)]
    assert notice.status == Status.PENDING
    assert notice.details == {"previous_starts_at": old_start.isoformat()}
    # the confirmation is untouched
    assert rows[(Kind.CONFIRMED, "email", 0, 0)].status == Status.PENDING


def test_cancel_revokes_everything_pending_and_tells_the_customer(place):
    booking = place.book()

    booking_cancel(booking=booking, actor=STAFF, reason="Doctor unwell")

    rows = _rows(booking)
    reminders = [n for n in rows.values() if n.kind == Kind.REMINDER]
    assert reminders and all(n.status == Status.CANCELLED for n in reminders)
    assert {n.status_reason for n in reminders} == {"booking_cancelled"}
    assert rows[(Kind.CANCELLED, "email", 0, 0)].status == Status.PENDING


def test_cancelling_an_unconfirmed_hold_sends_nothing(place):
    booking = place.book(confirm=False)

    booking_cancel(booking=booking, actor=STAFF)

    assert not Notification.objects.filter(booking_id=booking.pk).exists()


def test_offset_change_replans_reminders_of_future_bookings(acme, place):
    # given two future bookings with the default offsets, one reminder already sent,
    # and a booking in the past
    first = place.book(starts_at=hour_from_now(days=3))
    second = place.book(starts_at=hour_from_now(days=6), email="sam@example.test")
    Notification.objects.filter(booking_id=second.pk, offset_minutes=1440).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    past = BookingFactory(starts_at=timezone.now() - timedelta(days=2))
    notifications_plan_confirmed(booking=past, now=past.starts_at - timedelta(days=3))
    kept_id = Notification.objects.get(booking_id=first.pk, offset_minutes=60).pk

    # when the tenant changes its offsets to 2 h and 1 h
    Tenant.objects.filter(pk=acme.pk).update(reminder_offsets_minutes=[120, 60])
    acme.refresh_from_db()
    result = reminders_replan_for_tenant(tenant=acme)

    # then: the unwanted pending 24 h reminder is revoked, the sent one stays sent,
    # 1 h is kept as it was, 2 h is new; the past booking is not touched
    first_rows = _rows(first)
    assert first_rows[(Kind.REMINDER, "email", 1440, 0)].status == Status.CANCELLED
    assert first_rows[(Kind.REMINDER, "email", 1440, 0)].status_reason == "offsets_changed"
    assert first_rows[(Kind.REMINDER, "email", 60, 0)].pk == kept_id
    assert first_rows[(Kind.REMINDER, "email", 60, 0)].status == Status.PENDING
    assert first_rows[(Kind.REMINDER, "email", 120, 0)].status == Status.PENDING
    assert first_rows[(Kind.REMINDER, "email", 120, 0)].scheduled_for == (
        first.starts_at - timedelta(hours=2)
    )
    assert _rows(second)[(Kind.REMINDER, "email", 1440, 0)].status == Status.SENT
    assert _rows(past)[(Kind.REMINDER, "email", 1440, 0)].status == Status.PENDING
    assert not Notification.objects.filter(booking=past, offset_minutes=120).exists()
    assert result.bookings == 2
    assert result.cancelled == 1
    assert result.planned == 2

    # when the tenant goes back to 24 h: the revoked row comes back, still only one row
    Tenant.objects.filter(pk=acme.pk).update(reminder_offsets_minutes=[1440])
    acme.refresh_from_db()
    reminders_replan_for_tenant(tenant=acme)
    revived = _rows(first)[(Kind.REMINDER, "email", 1440, 0)]
    assert revived.status == Status.PENDING
    assert revived.scheduled_for == first.starts_at - timedelta(days=1)
    assert _rows(first)[(Kind.REMINDER, "email", 120, 0)].status == Status.CANCELLED
    assert _rows(second)[(Kind.REMINDER, "email", 1440, 0)].status == Status.SENT


def test_hold_expired_notice_only_for_tenants_that_opted_in(place):
    quiet = place.book(confirm=False)
    holds_expire(now=quiet.hold_expires_at + timedelta(seconds=1))
    assert not Notification.objects.filter(booking_id=quiet.pk).exists()

    notification_preference_update(notify_hold_expired=True)
    told = place.book(confirm=False, starts_at=hour_from_now(days=4), email="sam@example.test")
    holds_expire(now=told.hold_expires_at + timedelta(seconds=1))

    [notice] = Notification.objects.filter(booking_id=told.pk)
    assert (notice.kind, notice.channel, notice.status) == (Kind.HOLD_EXPIRED, "email", "pending")


def test_completed_booking_needs_no_more_reminders(acme):
    booking = BookingFactory()
    notifications_plan_confirmed(booking=booking)

    signals.booking_completed.send(sender=Booking, booking=booking, actor=STAFF)

    assert not Notification.objects.filter(booking=booking, status=Status.PENDING).exists()


def test_each_message_is_planned_at_most_once_per_booking_version(acme):
    booking = BookingFactory(customer=CustomerFactory(phone="+447911123456"))

    notifications_plan_confirmed(booking=booking)
    notifications_plan_confirmed(booking=booking)

    assert Notification.objects.filter(booking=booking).count() == 6
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            booking=booking,
            kind=Kind.CONFIRMED,
            channel="email",
            scheduled_for=timezone.now(),
            next_attempt_at=timezone.now(),
        )


def test_new_offsets_saved_on_the_settings_page_replan_reminders_once_it_commits(
    acme, place, django_capture_on_commit_callbacks
):
    # given a future booking with the default 24 h and 1 h reminders
    booking = place.book(starts_at=hour_from_now(days=3))
    admin = MembershipFactory.create(tenant=acme, role="admin")
    client = member_client(admin, "acme.localhost")
    form = {
        "name": acme.name,
        "timezone": acme.timezone,
        "exposure_mode": acme.exposure_mode,
        "hold_ttl_minutes": str(acme.hold_ttl_minutes),
        "cancellation_window_minutes": str(acme.cancellation_window_minutes),
        "min_notice_minutes": str(acme.min_notice_minutes),
        "horizon_days": str(acme.horizon_days),
        "accent_color": acme.accent_color,
        "logo_url": "",
    }

    # when an admin saves 3 h as the only reminder on the settings page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/dashboard/settings/", form | {"reminder_offsets": "3h"})

    # then the booking's pending reminders are re-planned to match
    assert response.status_code == 302
    pending = Notification.objects.filter(
        booking_id=booking.pk, kind=Kind.REMINDER, status=Status.PENDING
    )
    assert sorted(pending.values_list("offset_minutes", flat=True)) == [180]

    # and saving other settings plans nothing again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post("/dashboard/settings/", form | {"reminder_offsets": "3h", "horizon_days": "30"})
    assert callbacks == []
