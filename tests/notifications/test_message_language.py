"""A booking's messages speak the language it was made in (else the business's): the
email's subject, text and HTML, its dates, the SMS wording, and the reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import translation

from apps.notifications.messages import sms
from apps.notifications.messages.content import duration_label
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.messages.services import notifications_plan_confirmed
from apps.notifications.models import Notification
from tests.notifications.factories import BookingFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]

Kind = Notification.Kind
PLANNED_AT = datetime(2027, 5, 1, tzinfo=UTC)


def _notification(booking, kind: str, channel: str, offset: int = 0) -> Notification:
    notifications_plan_confirmed(booking=booking, now=PLANNED_AT)
    return Notification.objects.get(
        booking=booking, kind=kind, channel=channel, offset_minutes=offset
    )


def test_confirmation_email_speaks_the_bookings_language(acme):
    # given an English business and a booking made in German
    booking = BookingFactory(
        starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC),
        customer=CustomerFactory(name="Jana Weiß"),
        service__name="Check-up",
        language="de",
    )

    # when its confirmation is sent
    confirmed = _notification(booking, Kind.CONFIRMED, "email")
    assert notification_send(notification_id=confirmed.pk, now=PLANNED_AT) == SendOutcome.SENT

    # then subject, text and HTML are German, dates in German words and order
    [message] = mail.outbox
    assert message.subject == "Gebucht: Check-up am Di 01.06.2027, 10:00 BST · Acme Clinic"
    assert "Hallo Jana Weiß," in message.body
    assert "Ihre Buchung ist bestätigt" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="de">' in html
    assert "Dienstag, 1. Juni 2027, 10:00 (BST)" in html
    assert "30 Minuten" in html
    # and the language was the booking's, not left active afterwards
    assert translation.get_language() == "en"


def test_a_booking_without_a_language_speaks_the_businesss(acme):
    acme.locale = "de"
    acme.save(update_fields=["locale"])
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC), language="")

    confirmed = _notification(booking, Kind.CONFIRMED, "email")
    notification_send(notification_id=confirmed.pk, now=PLANNED_AT)

    [message] = mail.outbox
    assert message.subject.startswith("Gebucht: ")


def test_an_english_booking_of_a_german_business_stays_english(acme):
    acme.locale = "de"
    acme.save(update_fields=["locale"])
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC), language="en")

    confirmed = _notification(booking, Kind.CONFIRMED, "email")
    notification_send(notification_id=confirmed.pk, now=PLANNED_AT)

    [message] = mail.outbox
    assert message.subject.startswith("Booked: ")
    assert "Tuesday 1 June 2027, 10:00 (BST)" in message.alternatives[0][0]


def test_sms_speaks_the_bookings_language(acme, settings):
    settings.SMS_BACKEND = "apps.notifications.messages.sms.LocmemSmsBackend"
    sms.outbox.clear()
    booking = BookingFactory(
        starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC),
        customer=CustomerFactory(phone="+447911123456"),
        service__name="Check-up",
        language="de",
    )

    confirmed = _notification(booking, Kind.CONFIRMED, "sms")
    assert notification_send(notification_id=confirmed.pk, now=PLANNED_AT) == SendOutcome.SENT

    [text] = sms.outbox
    assert text.body.startswith("Acme Clinic: Ihr Termin Check-up bei ")
    assert "ist gebucht für Di 01.06.2027, 10:00 BST." in text.body  # (ü is GSM-7)
    assert "Ändern oder absagen: http://acme.localhost/manage/" in text.body


def test_reminder_email_speaks_the_bookings_language(acme):
    booking = BookingFactory(language="de", starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC))
    reminder = _notification(booking, Kind.REMINDER, "email", offset=60)

    notification_send(notification_id=reminder.pk, now=booking.starts_at - timedelta(hours=1))

    [message] = mail.outbox
    # (the sentence waits for the translators; the duration in it is German already)
    assert "1 Stunde:" in message.body
    assert message.subject.startswith("Reminder: ") or "Erinnerung" in message.subject


@pytest.mark.parametrize(
    ("language", "minutes", "label"),
    [("en", 90, "1 hour 30 minutes"), ("de", 90, "1 Stunde 30 Minuten"), ("en", 2880, "2 days")],
)
def test_duration_label_in_the_active_language(language, minutes, label):
    with translation.override(language):
        assert duration_label(minutes) == label
