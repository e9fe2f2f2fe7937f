"""A booking's messages speak the language it was made in (else the business's): the
email's subject, text and HTML, its dates, the SMS wording, and the reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from apps.bookings.services import CustomerInput
from apps.bookings.staff_bookings import booking_create_by_staff
from apps.notifications.messages import sms
from apps.notifications.messages.content import duration_label
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.messages.services import notifications_plan_confirmed
from apps.notifications.models import Notification
from apps.notifications.webhooks.models import WebhookEndpoint
from apps.notifications.webhooks.notices import webhook_endpoint_disabled_notify
from tests.bookings.factories import (
    STAFF,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.notifications.factories import BookingFactory, CustomerFactory
from tests.notifications.webhooks.conftest import subscribe
from tests.plugins.factories import MembershipFactory

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

    # when its confirmation is sent (by a worker whose last task left French active)
    confirmed = _notification(booking, Kind.CONFIRMED, "email")
    translation.activate("fr")
    try:
        sent = notification_send(notification_id=confirmed.pk, now=PLANNED_AT)
        after = translation.get_language()
    finally:
        translation.activate("en")
    assert sent == SendOutcome.SENT

    # then subject, text and HTML are German, dates in German words and order
    [message] = mail.outbox
    assert message.subject == "Gebucht: Check-up am Di 01.06.2027, 10:00 BST · Acme Clinic"
    assert "Hallo Jana Weiß," in message.body
    assert "Ihre Buchung ist bestätigt" in message.body
    html = message.alternatives[0][0]
    assert '<html lang="de">' in html
    assert "Dienstag, 1. Juni 2027, 10:00 (BST)" in html
    assert "30 Minuten" in html
    # and the language was the booking's only while it was written: the worker's is back
    assert after == "fr"


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
    assert "1 Stunde:" in message.body
    assert message.subject.startswith("Erinnerung: ")
    assert " am Di 01.06.2027, 10:00 BST · " in message.subject


@pytest.mark.parametrize(
    ("language", "minutes", "label"),
    [("en", 90, "1 hour 30 minutes"), ("de", 90, "1 Stunde 30 Minuten"), ("en", 2880, "2 days")],
)
def test_duration_label_in_the_active_language(language, minutes, label):
    with translation.override(language):
        assert duration_label(minutes) == label


def test_disabled_endpoint_notice_speaks_each_admins_own_language(acme):
    # given an English business with two admins, one who picked German for herself
    MembershipFactory(user__email="anna@example.test", user__language="de")
    MembershipFactory(user__email="bob@example.test", user__language="")
    endpoint = subscribe("https://hooks.example.com/crm").endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=datetime(2026, 12, 5, tzinfo=UTC),
        disabled_reason=WebhookEndpoint.DisabledReason.FAILING,
        last_success_at=datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
    )

    # when the business hears that the endpoint was disabled (in a worker whose last
    # task left French active)
    translation.activate("fr")
    try:
        webhook_endpoint_disabled_notify(endpoint_id=str(endpoint.pk), tenant=acme)
    finally:
        translation.activate("en")

    # then each admin's email is dated in their language, the others' in the business's
    by_recipient = {message.to[0]: message.body for message in mail.outbox}
    assert "3 Dez 2026" in by_recipient["anna@example.test"]
    assert "3 Dec 2026" in by_recipient["bob@example.test"]


def test_a_booking_staff_make_on_a_german_dashboard_speaks_the_businesss_language(acme):
    # given front desk whose own dashboard is German, in an English business
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], name="Check-up")
    [slot] = slots_create(resource=resource, starts_at=future_start(), count=1)

    # when they book a phone-in customer
    with translation.override("de"):
        booking = booking_create_by_staff(
            service=service,
            resource=resource,
            starts_at=slot.starts_at,
            customer=CustomerInput(name="Ada Lovelace", email="ada@example.test"),
            actor=STAFF,
        )

    # then the booking has no language of its own, and its confirmation is English
    assert booking.language == ""
    confirmed = Notification.objects.get(booking=booking, kind=Kind.CONFIRMED, channel="email")
    notification_send(notification_id=confirmed.pk, now=timezone.now())
    [message] = mail.outbox
    assert message.subject.startswith("Booked: ")


@pytest.mark.parametrize(
    ("language", "short", "long"),
    [
        ("fr", "mar 01/06/2027, 10:00 BST", "mardi, 1 juin 2027, 10:00 (BST)"),
        ("es", "mar 01/06/2027, 10:00 BST", "martes, 1 de junio de 2027, 10:00 (BST)"),
    ],
)
def test_confirmation_dates_are_written_as_each_language_writes_them(acme, language, short, long):
    booking = BookingFactory(starts_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC), language=language)

    confirmed = _notification(booking, Kind.CONFIRMED, "email")
    notification_send(notification_id=confirmed.pk, now=PLANNED_AT)

    [message] = mail.outbox
    assert short in message.subject
    assert long in message.alternatives[0][0]
