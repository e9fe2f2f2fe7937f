"""Bookings staff make for a phone-in or walk-in customer (`booking_create_by_staff`):
the same hold and confirm as every booking, with what only staff may add."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.bookings import pii, services, staff_bookings
from apps.bookings.customer_data import customer_erase, customer_export
from apps.bookings.errors import OutsideBookingWindow, SlotFull
from apps.bookings.models import Actor, Booking, BookingEvent, Customer
from apps.bookings.payments import booking_payment_requested
from apps.bookings.selectors import customers_search
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.bookings.staff_bookings import booking_create_by_staff
from apps.calendars.grid.services import horizon_last_date, materialization_horizon_days
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import local_date, zone
from apps.core.errors import ValidationFailed
from apps.notifications.messages.relevance import notification_obsolete_reason
from apps.notifications.models import Notification
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.dashboard.factories import WeeklyRuleFactory, local_at


@pytest.fixture
def desk(acme):
    """A one-to-one 30-minute service on a room with four free slots three days ahead."""
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    slots = slots_create(resource=resource, starts_at=future_start(), count=4)
    return {"resource": resource, "service": service, "slots": slots}


def _book(desk, **kwargs):
    if "starts_at" not in kwargs:
        kwargs["starts_at"] = desk["slots"][0].starts_at
    defaults = {
        "service": desk["service"],
        "resource": desk["resource"],
        "customer": CustomerInput(name="Ada Lovelace", email="ada@example.test"),
        "actor": STAFF,
    }
    return booking_create_by_staff(**{**defaults, **kwargs})


def test_booking_create_by_staff_confirms_at_once_and_names_the_staff_member(desk):
    # when front desk books and confirms in one go
    booking = _book(desk)

    # then it is confirmed, made by staff, and the history says who did what
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.hold_expires_at is None
    assert booking.source == Booking.Source.ADMIN
    assert (booking.created_by_type, booking.created_by_id) == (Actor.STAFF, STAFF.id)
    events = list(booking.events.values_list("kind", "actor_type", "actor_id"))
    assert events == [
        (BookingEvent.Kind.HELD, Actor.STAFF, STAFF.id),
        (BookingEvent.Kind.CONFIRMED, Actor.STAFF, STAFF.id),
    ]
    slot = SlotInstance.objects.get(pk=desk["slots"][0].pk)
    assert (slot.booked, slot.held) == (1, 0)
    assert Notification.objects.filter(
        booking=booking, kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    ).exists()


def test_booking_create_by_staff_holds_while_the_customer_decides(desk, acme):
    booking = _book(desk, confirm=False)

    assert booking.status == Booking.Status.HELD
    assert booking.hold_expires_at - timezone.now() <= timedelta(minutes=acme.hold_ttl_minutes)
    assert list(booking.events.values_list("kind", flat=True)) == [BookingEvent.Kind.HELD]
    assert not Notification.objects.filter(booking=booking).exists()


def test_booking_create_by_staff_without_confirmation_still_plans_the_reminders(desk):
    booking = _book(desk, notify=False)

    confirmation = Notification.objects.filter(booking=booking, kind=Notification.Kind.CONFIRMED)
    assert confirmation.exists()
    assert set(confirmation.values_list("status", "status_reason")) == {
        (Notification.Status.CANCELLED, "not_requested")
    }
    reminders = Notification.objects.filter(booking=booking, kind=Notification.Kind.REMINDER)
    assert reminders.filter(status=Notification.Status.PENDING).exists()


def test_booking_create_by_staff_keeps_the_customer_found_by_email(desk):
    known = Customer.objects.create(
        name="Ada Lovelace",
        email_encrypted=pii.pii_encrypt("ada@example.test"),
        email_hash=pii.lookup_hash("ada@example.test"),
    )

    booking = _book(desk, customer=CustomerInput(name="Ada L.", email="ADA@example.test"))

    assert booking.customer_id == known.pk
    assert Customer.objects.count() == 1
    assert Customer.objects.get().name == "Ada Lovelace"  # staff's typing never renames


def test_booking_create_by_staff_within_the_minimum_notice_needs_a_reason(acme):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], min_notice_minutes=120)
    start = (timezone.now() + timedelta(minutes=60)).replace(second=0, microsecond=0)
    slots_create(resource=resource, starts_at=start)
    desk = {"resource": resource, "service": service, "slots": [None]}

    # without a reason: refused, and the answer says a reason would let it through
    with pytest.raises(OutsideBookingWindow) as refused:
        _book(desk, starts_at=start)
    assert "override_reason" in refused.value.field_messages()
    assert not Booking.objects.exists()

    # with one: booked, and the reason is on the booking, in its history and its audit
    booking = _book(desk, starts_at=start, override_reason="  Walked in, in pain  ")
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.window_override_reason == "Walked in, in pain"
    held = booking.events.get(kind=BookingEvent.Kind.HELD)
    assert held.reason == "Walked in, in pain"
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Booking),
        object_pk=str(booking.pk),
        action=LogEntry.Action.CREATE,
    )
    assert entry.changes_dict["window_override_reason"][1] == "Walked in, in pain"


def test_booking_create_by_staff_never_books_the_past_even_with_a_reason(desk):
    past = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)

    with pytest.raises(OutsideBookingWindow) as refused:
        _book(desk, starts_at=past, override_reason="Back-dating")

    assert refused.value.field_messages() == {"start": ["That time has passed."]}


def test_booking_create_by_staff_beyond_the_horizon_materializes_that_day_first(acme):
    # given a room open every day whose grid reaches as far as the horizon
    location = LocationFactory.create(timezone="Europe/London")
    room = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[room])
    WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    built_until = horizon_last_date(
        tz_name="Europe/London", days=materialization_horizon_days(), now=timezone.now()
    )
    day = built_until + dt.timedelta(days=10)
    days_ahead = (day - local_date(timezone.now(), zone("Europe/London"))).days
    start = local_at(location, days=days_ahead, hour=11)
    assert not SlotInstance.objects.filter(resource=room, starts_at=start).exists()
    desk = {"resource": room, "service": service, "slots": [None]}

    # without a reason: beyond the horizon, nothing built
    with pytest.raises(OutsideBookingWindow) as refused:
        _book(desk, starts_at=start)
    assert "override_reason" in refused.value.field_messages()
    assert not SlotInstance.objects.filter(resource=room, starts_at__gte=start).exists()

    # with one: that day's grid is built from the rules, and the place taken on it
    booking = _book(desk, starts_at=start, override_reason="Surgery booked months ahead")

    assert booking.status == Booking.Status.CONFIRMED
    slot = SlotInstance.objects.get(resource=room, starts_at=start)
    assert slot.booked == 1
    day_slots = SlotInstance.objects.filter(
        resource=room,
        starts_at__gte=start - timedelta(hours=2),
        starts_at__lt=start + timedelta(hours=6),
    )
    assert day_slots.count() > 1  # the whole day, not just the booked step


def test_booking_create_by_staff_never_overrides_capacity(desk):
    booking_hold(
        service=desk["service"],
        resource=desk["resource"],
        starts_at=desk["slots"][0].starts_at,
        customer=customer("first"),
        actor=CUSTOMER,
    )

    with pytest.raises(SlotFull):
        _book(desk, override_reason="VIP")

    assert Booking.objects.count() == 1


def test_booking_create_by_staff_asks_how_a_paid_service_is_paid(acme):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(
        resources=[resource], price=Decimal("60.00"), currency="GBP", requires_payment=True
    )
    slots = slots_create(resource=resource, starts_at=future_start(), count=2)
    desk = {"resource": resource, "service": service, "slots": slots}

    with pytest.raises(ValidationFailed) as no_choice:
        _book(desk)
    assert "payment" in no_choice.value.field_messages()
    with pytest.raises(ValidationFailed) as link_confirmed:
        _book(desk, payment="link", confirm=True)
    assert "payment" in link_confirmed.value.field_messages()

    at_venue = _book(desk, payment="at_venue")
    assert (at_venue.status, at_venue.payment_status) == ("confirmed", "at_venue")
    by_link = _book(desk, starts_at=slots[1].starts_at, payment="link", confirm=False)
    assert (by_link.status, by_link.payment_status) == ("held", "pending")


def test_booking_create_by_staff_is_for_staff_only(desk):
    with pytest.raises(ValidationFailed) as refused:
        _book(desk, actor=CUSTOMER)
    assert "actor" in refused.value.field_messages()

    # and a customer's own hold cannot carry a staff override or pay at the venue
    with pytest.raises(ValidationFailed) as hold_refused:
        booking_hold(
            service=desk["service"],
            resource=desk["resource"],
            starts_at=desk["slots"][0].starts_at,
            customer=customer(),
            actor=CUSTOMER,
            window_override_reason="let me in",
            pay_at_venue=True,
        )
    assert set(hold_refused.value.field_messages()) == {"override_reason", "payment"}
    assert not Booking.objects.exists()


def test_customers_search_finds_by_lookup_hash_or_name_start_without_decrypting(acme, monkeypatch):
    def known(name, email, phone=""):
        return Customer.objects.create(
            name=name,
            email_encrypted=pii.pii_encrypt(email),
            email_hash=pii.lookup_hash(email),
            phone_encrypted=pii.pii_encrypt(phone),
            phone_hash=pii.lookup_hash(phone),
        )

    ada = known("Ada Lovelace", "ada@example.test", "+447911123456")
    adam = known("Adam Smith", "adam@example.test")
    known("Grace Hopper", "grace@example.test")
    gone = known("Ada Erased", "erased@example.test")
    gone.erased_at = timezone.now()
    gone.save(update_fields=["erased_at"])

    def refuse(*args, **kwargs):
        raise AssertionError("searching decrypted a value")

    monkeypatch.setattr(pii, "pii_decrypt", refuse)

    assert customers_search(query=" ADA@Example.test ") == [ada]
    assert customers_search(query="+44 7911 123456") == [ada]
    assert customers_search(query="ada") == [ada, adam]
    assert customers_search(query="erased@example.test") == []
    assert customers_search(query="nobody@example.test") == []
    assert customers_search(query="+44 20 0000") == []
    assert customers_search(query="   ") == []


def test_override_reason_joins_the_customers_export_and_erasure(acme):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], min_notice_minutes=24 * 60)
    start = future_start(days=0, hour=23) if timezone.now().hour < 20 else future_start(days=1)
    slots_create(resource=resource, starts_at=start)
    booking = booking_create_by_staff(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Ada Lovelace", email="ada@example.test"),
        actor=STAFF,
        override_reason="Ada Lovelace called, urgent",
    )

    exported = customer_export(customer=booking.customer)
    assert exported["bookings"][0]["window_override_reason"] == "Ada Lovelace called, urgent"

    customer_erase(customer=booking.customer, actor=STAFF, reason="Ticket 901")

    pseudonym = Customer.objects.get(pk=booking.customer_id).name
    erased = Booking.objects.get(pk=booking.pk)
    assert erased.window_override_reason == f"{pseudonym} called, urgent"


def test_a_payment_link_no_longer_goes_out_once_paid_or_gone(acme):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(
        resources=[resource], price=Decimal("60.00"), currency="GBP", requires_payment=True
    )
    [slot] = slots_create(resource=resource, starts_at=future_start())
    booking = booking_create_by_staff(
        service=service,
        resource=resource,
        starts_at=slot.starts_at,
        customer=customer("link"),
        actor=STAFF,
        confirm=False,
        payment="link",
    )
    booking_payment_requested(booking=booking, url="https://pay.example/cs_1", actor=STAFF)
    [link] = Notification.objects.filter(booking=booking, kind=Notification.Kind.PAYMENT_LINK)
    assert link.details == {"url": "https://pay.example/cs_1"}
    now = timezone.now()

    assert notification_obsolete_reason(notification=link, booking=booking, now=now) == ""
    booking.payment_status = Booking.PaymentStatus.PAID
    assert notification_obsolete_reason(notification=link, booking=booking, now=now) == (
        "payment_paid"
    )
    booking.status = Booking.Status.EXPIRED
    assert notification_obsolete_reason(notification=link, booking=booking, now=now) == (
        "booking_expired"
    )


def _observed(metric_name: str) -> float:
    value = REGISTRY.get_sample_value(metric_name)
    return value or 0.0


def test_confirming_at_once_stays_out_of_the_hold_to_confirm_time(
    desk, django_capture_on_commit_callbacks
):
    # given the hold-to-confirm figures so far
    timed = _observed("timenest_hold_to_confirm_ms_count")
    confirmed = _observed("timenest_holds_confirmed_total")

    # when staff confirm at once (the hold lives for one transaction), then a customer's
    # hold is confirmed the usual way
    with django_capture_on_commit_callbacks(execute=True):
        _book(desk)
    assert _observed("timenest_holds_confirmed_total") == confirmed + 1
    assert _observed("timenest_hold_to_confirm_ms_count") == timed
    with django_capture_on_commit_callbacks(execute=True):
        held = booking_hold(
            service=desk["service"],
            resource=desk["resource"],
            starts_at=desk["slots"][1].starts_at,
            customer=customer("second"),
            actor=CUSTOMER,
        )
        booking_confirm(booking=held, actor=CUSTOMER)

    # then only the customer's hold was timed; both were counted
    assert _observed("timenest_holds_confirmed_total") == confirmed + 2
    assert _observed("timenest_hold_to_confirm_ms_count") == timed + 1


def test_staff_booking_refusals_are_translated(desk, monkeypatch):
    # given a translation that marks every string it translates
    def marked(text: str) -> str:
        return f"«{text}»"

    monkeypatch.setattr(staff_bookings, "_", marked)
    monkeypatch.setattr(services, "gettext", marked)
    desk["service"].min_notice_minutes = 7 * 24 * 60
    desk["service"].save(update_fields=["min_notice_minutes"])

    with pytest.raises(ValidationFailed) as not_staff:
        _book(desk, actor=CUSTOMER, payment="")
    with pytest.raises(OutsideBookingWindow) as too_soon:
        _book(desk)
    with pytest.raises(ValidationFailed) as too_long:
        _book(desk, override_reason="x" * 501)

    assert not_staff.value.field_messages() == {"actor": ["«Only staff can book for a customer.»"]}
    assert too_soon.value.field_messages() == {
        "start": [f"«Book at least {7 * 24 * 60} minutes ahead.»"],
        "override_reason": ["«To book outside the booking window, give a reason.»"],
    }
    assert too_long.value.field_messages() == {
        "override_reason": ["«Keep the reason under 500 characters.»"]
    }
