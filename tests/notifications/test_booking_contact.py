"""A booking's messages go to the contact typed with that booking: someone who types
another person's email address with their own phone gets the texts of their own booking,
and never that person's reminders or manage links (the customer record, found by email,
is never changed by what a booking form says)."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail

from apps.bookings.access_tokens import booking_access_read
from apps.bookings.models import Booking, Customer
from apps.notifications.messages import sms
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.messages.services import notifications_plan_confirmed
from apps.notifications.models import Notification
from tests.notifications.factories import BookingFactory, CustomerFactory, hour_from_now

Kind = Notification.Kind

VICTIM_EMAIL = "vera@example.test"
VICTIM_PHONE = "+447911123456"
INTRUDER_PHONE = "+12125550100"


def _send_everything(booking: Booking) -> None:
    """Sends every message planned for the booking, each at its time."""
    rows = Notification.objects.filter(booking_id=booking.pk).order_by("scheduled_for")
    for row in rows:
        assert notification_send(notification_id=row.pk, now=row.scheduled_for) == (
            SendOutcome.SENT
        ), (row.kind, row.channel)


def _texts_to(number: str) -> list[str]:
    return [text.body for text in sms.outbox if text.to == number]


def _booking_of(text: str) -> object:
    token = text.split("/manage/")[1].split("/")[0]
    return booking_access_read(token, surface="pages")


def test_reminders_follow_each_bookings_own_contact_not_the_shared_customer(place):
    # given the victim's booking, made without a phone
    victim_first = place.book(starts_at=hour_from_now(days=3), email=VICTIM_EMAIL, name="Vera")
    # when someone books with the victim's address and their own phone
    intruder = place.book(
        starts_at=hour_from_now(days=4),
        email=VICTIM_EMAIL.upper(),
        phone="+1 (212) 555-0100",
        name="Mallory",
    )
    # and the victim books again afterwards, still without a phone
    victim_second = place.book(starts_at=hour_from_now(days=5), email=VICTIM_EMAIL, name="Vera")
    for booking in (victim_first, intruder, victim_second):
        _send_everything(booking)

    # then the victim's record still has no phone, and no booking of the victim's texts
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.phone_hash) == ("Vera", "", "")
    assert not Notification.objects.filter(
        booking_id__in=[victim_first.pk, victim_second.pk], channel="sms"
    ).exists()
    # the intruder's number gets the confirmation and the reminders of their own booking
    texts = _texts_to(INTRUDER_PHONE)
    assert len(texts) == 3  # confirmation, 24 h and 1 h before
    assert {_booking_of(text) for text in texts} == {intruder.pk}
    assert {text.to for text in sms.outbox} == {INTRUDER_PHONE}
    # every email goes to the address typed, greeting whoever typed it
    assert {tuple(message.to) for message in mail.outbox} == {(VICTIM_EMAIL,)}
    greetings = {
        booking.pk: {m.body.count("Mallory") > 0 for m in _emails_of(booking)}
        for booking in (victim_first, intruder, victim_second)
    }
    assert greetings == {victim_first.pk: {False}, intruder.pk: {True}, victim_second.pk: {False}}


def _emails_of(booking: Booking) -> list:
    return [message for message in mail.outbox if _booking_of(str(message.body)) == booking.pk]


def test_the_intruders_texts_go_to_their_phone_and_the_victims_to_the_victims(place):
    # given a victim who gave a phone
    victim = place.book(
        starts_at=hour_from_now(days=3), email=VICTIM_EMAIL, phone=VICTIM_PHONE, name="Vera"
    )
    # when someone books with the victim's address and their own phone
    intruder = place.book(
        starts_at=hour_from_now(days=4), email=VICTIM_EMAIL, phone=INTRUDER_PHONE, name="Mallory"
    )
    _send_everything(victim)
    _send_everything(intruder)

    # then each booking's texts went to the number typed with it, and only there
    assert Customer.objects.get().phone == VICTIM_PHONE
    assert {_booking_of(text) for text in _texts_to(VICTIM_PHONE)} == {victim.pk}
    assert {_booking_of(text) for text in _texts_to(INTRUDER_PHONE)} == {intruder.pk}
    reminders = Notification.objects.filter(kind=Kind.REMINDER, channel="sms", status="sent")
    assert reminders.filter(booking_id=victim.pk).count() == 2
    assert reminders.filter(booking_id=intruder.pk).count() == 2


def test_a_booking_made_before_bookings_kept_a_contact_writes_to_its_customer(acme):
    # given a booking row from before (no contact of its own)
    booking = BookingFactory(
        customer=CustomerFactory(name="Olga Old", email="olga@example.test", phone=VICTIM_PHONE)
    )
    assert booking.contact_email_encrypted == ""

    notifications_plan_confirmed(booking=booking, now=booking.starts_at - timedelta(days=2))

    _send_everything(booking)

    assert {tuple(message.to) for message in mail.outbox} == {("olga@example.test",)}
    assert {text.to for text in sms.outbox} == {VICTIM_PHONE}
    assert all("Olga Old" in message.body for message in mail.outbox)
