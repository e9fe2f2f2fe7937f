"""Sending: content, exactly-once guards, dispatch, retries with backoff, failures made
visible, recovery of interrupted sends, and reminders at the right instant across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from apps.bookings.access_tokens import booking_access_read
from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel
from apps.notifications.messages import sms
from apps.notifications.messages.delivery import (
    SendOutcome,
    notification_send,
    notifications_dispatch_due,
    notifications_recover_stale,
    retry_delay,
)
from apps.notifications.messages.selectors import notifications_failed, outbox_lag_seconds
from apps.notifications.messages.services import (
    notification_retry,
    notifications_plan_confirmed,
)
from apps.notifications.messages.tasks import dispatch_due
from apps.notifications.models import Notification
from tests.notifications import backends
from tests.notifications.factories import (
    STAFF,
    BookingFactory,
    CustomerFactory,
    LocationFactory,
    ResourceFactory,
)

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.Status


def _planned(
    booking: Booking, *, now: datetime | None = None
) -> dict[tuple[str, str, int], Notification]:
    notifications_plan_confirmed(booking=booking, now=now)
    return {
        (n.kind, n.channel, n.offset_minutes): n
        for n in Notification.objects.filter(booking=booking)
    }


def _attachment(message) -> tuple[str, bytes, str]:
    parsed = message_from_bytes(message.message().as_bytes())
    for part in parsed.walk():
        filename = part.get_filename()
        if filename:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return filename, payload, str(part.get("Content-Type"))
    raise AssertionError("no attachment")


def test_confirmation_email_has_branding_manage_link_text_part_and_invitation(acme):
    # given a branded tenant and a confirmed booking
    acme.accent_color = "#aa3300"
    acme.logo_url = "https://cdn.example.test/acme.png"
    acme.save(update_fields=["accent_color", "logo_url"])
    booking = BookingFactory(
        starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC),
        customer=CustomerFactory(name="Ann O'Hara"),
        service__name="Check-up",
    )
    confirmed = _planned(booking, now=datetime(2027, 5, 1, tzinfo=UTC))[
        (Kind.CONFIRMED, "email", 0)
    ]

    # when it is sent
    outcome = notification_send(notification_id=confirmed.pk, now=datetime(2027, 5, 1, tzinfo=UTC))

    # then one email went out through anymail with everything the customer needs
    assert outcome == SendOutcome.SENT
    [message] = mail.outbox
    assert message.from_email == "Acme Clinic <no-reply@timenest.app>"
    assert message.subject == "Booked: Check-up on Tue 1 Jun, 10:00 BST · Acme Clinic"
    assert "Ann O'Hara" in message.body  # the text part is not HTML-escaped
    html = message.alternatives[0][0]
    assert "#aa3300" in html and "https://cdn.example.test/acme.png" in html
    assert "Tuesday 1 June 2027, 10:00 (BST)" in html
    token = html.split("/manage/")[1].split("/")[0]
    assert booking_access_read(token, surface="pages") == booking.pk
    assert f"http://acme.localhost/manage/{token}/" in message.body
    assert message.anymail_test_params["metadata"]["notification_id"] == str(confirmed.pk)
    name, ics, content_type = _attachment(message)
    assert (
        name == "invite.ics"
        and "text/calendar" in content_type
        and 'method="REQUEST"' in content_type
    )
    assert Calendar.from_ical(ics)["method"] == "REQUEST"
    confirmed.refresh_from_db()
    assert confirmed.status == Status.SENT
    assert confirmed.sent_at is not None
    assert confirmed.provider_message_id


def test_sms_reminder_goes_to_the_e164_number_within_two_segments(acme):
    booking = BookingFactory(
        customer=CustomerFactory(phone="+447911123456"),
        service__name="Extended deep-tissue massage with warm aromatherapy oils and hot stones "
        + "x" * 48,
    )
    now = booking.starts_at - timedelta(hours=1)
    reminder = _planned(booking, now=now - timedelta(days=3))[(Kind.REMINDER, "sms", 60)]

    assert notification_send(notification_id=reminder.pk, now=now) == SendOutcome.SENT

    [text] = sms.outbox
    assert text.to == "+447911123456"
    assert text.reference == str(reminder.pk)
    assert sms.sms_segments(text.body) <= 2
    assert text.body.startswith("Acme Clinic: reminder")


def test_sending_twice_sends_once(acme):
    booking = BookingFactory()
    confirmed = _planned(booking)[(Kind.CONFIRMED, "email", 0)]

    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SENT
    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SKIPPED

    assert len(mail.outbox) == 1


def test_row_claimed_by_another_worker_is_not_sent_again(acme):
    booking = BookingFactory()
    confirmed = _planned(booking)[(Kind.CONFIRMED, "email", 0)]
    Notification.objects.filter(pk=confirmed.pk).update(
        status=Status.SENDING, lease_expires_at=timezone.now() + timedelta(minutes=2), attempts=1
    )

    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SKIPPED
    assert mail.outbox == []


def test_dispatch_queues_due_rows_once_until_the_redispatch_interval(acme, settings):
    settings.NOTIFICATION_REDISPATCH_SECONDS = 300
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, tzinfo=UTC))
    rows = _planned(booking, now=datetime(2027, 5, 1, tzinfo=UTC))
    day_before = rows[(Kind.REMINDER, "email", 1440)]
    due = day_before.scheduled_for

    assert day_before.pk not in notifications_dispatch_due(now=due - timedelta(seconds=1))
    assert day_before.pk in notifications_dispatch_due(now=due)
    # queued: left to its task…
    assert day_before.pk not in notifications_dispatch_due(now=due + timedelta(seconds=60))
    # …unless that task never ran (a lost message)
    assert day_before.pk in notifications_dispatch_due(now=due + timedelta(seconds=301))


def test_dispatch_task_sends_what_is_due(acme):
    booking = BookingFactory()
    _planned(booking)  # the confirmation is due now, reminders later
    Notification.objects.filter(booking=booking).update(dispatched_at=None)

    assert dispatch_due() == 1

    assert len(mail.outbox) == 1
    assert outbox_lag_seconds() == 0.0


def test_failing_backend_is_retried_with_backoff_then_failed_and_visible(acme, settings):
    # given a provider that is down, 4 attempts allowed, backoff 60 s doubling
    settings.EMAIL_BACKEND = "tests.notifications.backends.BrokenEmailBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    backends.attempts.clear()
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, tzinfo=UTC))
    t0 = datetime(2027, 5, 1, 12, tzinfo=UTC)
    confirmed = _planned(booking, now=t0)[(Kind.CONFIRMED, "email", 0)]

    # when the send is attempted whenever it is due
    now = t0
    waits = []
    outcomes = []
    for _ in range(4):
        outcomes.append(notification_send(notification_id=confirmed.pk, now=now))
        confirmed.refresh_from_db()
        if confirmed.status == Status.PENDING:
            waits.append((confirmed.next_attempt_at - now).total_seconds())
            # not due before its backoff has passed
            early = now + timedelta(seconds=waits[-1] - 1)
            assert notification_send(notification_id=confirmed.pk, now=early) == SendOutcome.SKIPPED
            assert confirmed.pk not in notifications_dispatch_due(now=early)
            now = confirmed.next_attempt_at

    # then: three retries after 60, 120, 240 s, then failed after the 4th attempt
    assert outcomes == [SendOutcome.RETRY_SCHEDULED] * 3 + [SendOutcome.FAILED]
    assert waits == [60.0, 120.0, 240.0]
    assert len(backends.attempts) == 4
    assert confirmed.status == Status.FAILED
    assert confirmed.attempts == 4
    assert confirmed.status_reason == "attempts_exhausted"
    assert "ConnectionError" in confirmed.last_error
    assert "jane@example.test" not in confirmed.last_error  # contact data masked
    assert list(notifications_failed()) == [confirmed]

    # when staff retry once the provider is back
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    notification_retry(notification_id=confirmed.pk, now=now)
    assert notification_send(notification_id=confirmed.pk, now=now) == SendOutcome.SENT
    assert len(mail.outbox) == 1
    assert list(notifications_failed()) == []


def test_retry_delay_doubles_and_is_capped(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 600
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [60, 120, 240, 480, 600]


def test_recipient_refused_fails_at_once(acme, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.RefusingEmailBackend"
    confirmed = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]

    assert notification_send(notification_id=confirmed.pk) == SendOutcome.FAILED

    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.attempts) == (Status.FAILED, 1)
    assert confirmed.status_reason == "recipient_refused"


def test_invalid_phone_number_fails_without_an_attempt(acme):
    booking = BookingFactory(customer=CustomerFactory(phone="0791 112"))
    text = _planned(booking)[(Kind.CONFIRMED, "sms", 0)]

    assert notification_send(notification_id=text.pk) == SendOutcome.FAILED

    text.refresh_from_db()
    assert (text.status, text.status_reason, text.attempts) == (Status.FAILED, "invalid_phone", 0)
    assert sms.outbox == []


def test_reminder_of_a_booking_cancelled_meanwhile_is_not_sent(place):
    booking = place.book()
    reminder = Notification.objects.get(booking_id=booking.pk, offset_minutes=60)
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)

    outcome = notification_send(notification_id=reminder.pk, now=reminder.scheduled_for)

    reminder.refresh_from_db()
    assert outcome == SendOutcome.CANCELLED
    assert (reminder.status, reminder.status_reason) == (Status.CANCELLED, "booking_cancelled")
    assert mail.outbox == []


def test_reminder_picked_up_after_the_booking_started_is_not_sent_late(acme):
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, tzinfo=UTC))
    reminder = _planned(booking, now=datetime(2027, 5, 1, tzinfo=UTC))[(Kind.REMINDER, "email", 60)]

    outcome = notification_send(notification_id=reminder.pk, now=booking.starts_at)

    assert outcome == SendOutcome.CANCELLED
    reminder.refresh_from_db()
    assert reminder.status_reason == "booking_started"


def test_cancellation_email_carries_method_cancel(place, django_capture_on_commit_callbacks):
    booking = place.book()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF)

    [message] = mail.outbox
    assert message.subject.startswith("Cancelled:")
    assert Calendar.from_ical(_attachment(message)[1])["method"] == "CANCEL"


# --- interrupted sends ------------------------------------------------------------------


def _stuck_in_sending(notification: Notification, *, lease_expired: bool = True) -> None:
    lease = timezone.now() + timedelta(seconds=-1 if lease_expired else 60)
    Notification.objects.filter(pk=notification.pk).update(
        status=Status.SENDING, attempts=1, lease_expires_at=lease
    )


def test_interrupted_send_that_reached_the_provider_is_recorded_not_resent(acme):
    # given a worker that handed the message over and died before recording it
    confirmed = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]
    notification_send(notification_id=confirmed.pk)
    _stuck_in_sending(confirmed)

    counts = notifications_recover_stale()

    confirmed.refresh_from_db()
    assert counts == {"delivered": 1, "requeued": 0, "failed": 0}
    assert (confirmed.status, confirmed.status_reason) == (Status.SENT, "recovered_delivered")
    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SKIPPED
    assert len(mail.outbox) == 1


def test_interrupted_send_that_never_reached_the_provider_is_sent_once(acme):
    confirmed = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]
    _stuck_in_sending(confirmed)

    assert notifications_recover_stale() == {"delivered": 0, "requeued": 1, "failed": 0}
    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SENT
    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SKIPPED

    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.attempts) == (Status.SENT, 2)
    assert len(mail.outbox) == 1


def test_interrupted_send_with_an_opaque_provider_follows_the_policy(acme, settings):
    settings.EMAIL_BACKEND = "tests.notifications.backends.OpaqueEmailBackend"
    first = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]
    second = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]
    _stuck_in_sending(first)

    # at most once (default): failed, visible, retryable by a person
    settings.NOTIFICATION_UNCERTAIN_DELIVERY = "fail"
    notifications_recover_stale()
    first.refresh_from_db()
    assert (first.status, first.status_reason) == (Status.FAILED, "delivery_uncertain")
    assert first in notifications_failed()

    # at least once: queued again
    settings.NOTIFICATION_UNCERTAIN_DELIVERY = "resend"
    _stuck_in_sending(second)
    notifications_recover_stale()
    second.refresh_from_db()
    assert second.status == Status.PENDING


def test_send_still_within_its_lease_is_left_alone(acme):
    confirmed = _planned(BookingFactory())[(Kind.CONFIRMED, "email", 0)]
    _stuck_in_sending(confirmed, lease_expired=False)

    assert notifications_recover_stale() == {"delivered": 0, "requeued": 0, "failed": 0}
    confirmed.refresh_from_db()
    assert confirmed.status == Status.SENDING


# --- DST: "24 h before" is 24 h of elapsed time -------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_start", "start_utc", "reminder_utc", "reminder_local_text"),
    [
        # Europe/London springs forward at 01:00 UTC on Sunday 28 March 2027; a 10:00
        # appointment that morning (09:00 UTC) is reminded at 09:00 UTC on Saturday,
        # which is 09:00 local (GMT): one wall-clock hour "earlier" than 10:00.
        (
            "Europe/London",
            "Sunday 28 March 2027, 10:00 (BST)",
            datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
            datetime(2027, 3, 27, 9, 0, tzinfo=UTC),
            "Sat 27 Mar, 09:00 GMT",
        ),
        # America/New_York falls back at 06:00 UTC on Sunday 7 November 2027; a 10:00
        # appointment that morning (15:00 UTC) is reminded at 15:00 UTC on Saturday,
        # 11:00 local (EDT).
        (
            "America/New_York",
            "Sunday 7 November 2027, 10:00 (EST)",
            datetime(2027, 11, 7, 15, 0, tzinfo=UTC),
            datetime(2027, 11, 6, 15, 0, tzinfo=UTC),
            "Sat 6 Nov, 11:00 EDT",
        ),
    ],
)
def test_reminder_24h_before_a_booking_after_a_dst_change_fires_after_24_elapsed_hours(
    acme, zone, local_start, start_utc, reminder_utc, reminder_local_text
):
    # given a booking on the morning after the clocks changed
    resource = ResourceFactory(location=LocationFactory(timezone=zone))
    booking = BookingFactory(resource=resource, starts_at=start_utc)
    reminder = _planned(booking, now=start_utc - timedelta(days=10))[(Kind.REMINDER, "email", 1440)]

    # then it is due exactly 24 h of elapsed time before the start
    assert reminder.scheduled_for == reminder_utc
    assert (booking.starts_at - reminder.scheduled_for) == timedelta(hours=24)
    local = reminder.scheduled_for.astimezone(ZoneInfo(zone))
    assert local.strftime("%a %-d %b, %H:%M %Z") == reminder_local_text

    # and it fires at that instant, not a second before
    assert reminder.pk not in notifications_dispatch_due(now=reminder_utc - timedelta(seconds=1))
    assert (
        notification_send(notification_id=reminder.pk, now=reminder_utc - timedelta(seconds=1))
        == SendOutcome.SKIPPED
    )
    assert reminder.pk in notifications_dispatch_due(now=reminder_utc)
    assert notification_send(notification_id=reminder.pk, now=reminder_utc) == SendOutcome.SENT
    [message] = mail.outbox
    assert local_start in message.alternatives[0][0]
