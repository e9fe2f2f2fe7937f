"""Test data for the dashboard: places, services, slots, and bookings made through the
booking services (so cancelling or moving them keeps the slot counters right)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.models import Actor, Booking, Customer
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.timezones import local_date, zone
from apps.resources.models import Location, Resource, Service
from tests.plugins import factories as catalogue

STAFF = ActorRef.staff("00000000-0000-7000-8000-0000000000aa", label="Front desk")
CUSTOMER = ActorRef.customer(label="booking page")


class LocationFactory(catalogue.LocationFactory):
    address = "1 High Street"


class ResourceFactory(catalogue.ResourceFactory):
    name = factory.Sequence(lambda n: f"Dr Smith {n}")
    location = factory.SubFactory(LocationFactory)


class ServiceFactory(catalogue.ServiceFactory):
    name = factory.Sequence(lambda n: f"Check-up {n}")
    price = Decimal("0.00")
    currency = "GBP"
    min_notice_minutes = 0


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer
        exclude = ("email",)

    name = factory.Sequence(lambda n: f"Ada Customer {n}")
    email = factory.Sequence(lambda n: f"ada{n}@example.test")
    email_encrypted = factory.LazyAttribute(lambda o: pii.pii_encrypt(o.email))
    email_hash = factory.LazyAttribute(lambda o: pii.lookup_hash(o.email))


class WeeklyRuleFactory(factory.django.DjangoModelFactory[AvailabilityRule]):
    class Meta:
        model = AvailabilityRule

    kind = AvailabilityRule.Kind.WEEKLY
    days_of_week = factory.LazyFunction(lambda: [1, 2, 3, 4, 5])
    start_minute = 9 * 60
    end_minute = 17 * 60
    granularity_minutes = 30


def local_at(location: Location, *, days: int, hour: int, minute: int = 0) -> dt.datetime:
    """An aware instant: `hour:minute` local time at `location`, `days` after today."""
    tz = zone(location.timezone)
    day = local_date(timezone.now(), tz) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def slots_open(
    *, resource: Resource, starts_at: dt.datetime, count: int = 1, minutes: int = 30
) -> list[SlotInstance]:
    step = dt.timedelta(minutes=minutes)
    return SlotInstance.objects.bulk_create(
        SlotInstance(
            resource=resource, starts_at=starts_at + step * i, ends_at=starts_at + step * (i + 1)
        )
        for i in range(count)
    )


def booking_made(
    *,
    service: Service,
    resource: Resource,
    starts_at: dt.datetime,
    name: str = "Ada Lovelace",
    email: str = "",
    phone: str = "",
    confirm: bool = True,
) -> Booking:
    """A booking through the services, on slots opened for it when missing. One customer
    per email address: the default address follows the name."""
    email = email or f"{name.lower().replace(' ', '.')}@example.test"
    covered = SlotInstance.objects.filter(resource=resource, starts_at=starts_at).exists()
    if not covered:
        slots_open(
            resource=resource,
            starts_at=starts_at,
            count=max(1, service.duration_minutes // 30),
        )
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=starts_at,
        customer=CustomerInput(name=name, email=email, phone=phone),
        actor=CUSTOMER,
    )
    return booking_confirm(booking=booking, actor=STAFF) if confirm else booking


def booking_row(
    *,
    service: Service,
    resource: Resource,
    starts_at: dt.datetime,
    status: str = Booking.Status.CONFIRMED,
    customer: Customer | None = None,
    hold_expires_at: dt.datetime | None = None,
) -> Booking:
    """A booking row written directly, for times the services refuse (the past, a fixed
    far-off date) and states they never leave behind (a hold past its expiry)."""
    if status == Booking.Status.HELD and hold_expires_at is None:
        hold_expires_at = timezone.now() + dt.timedelta(minutes=10)
    return Booking.objects.create(
        service=service,
        resource=resource,
        customer=customer or CustomerFactory.create(),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=service.duration_minutes),
        status=status,
        hold_expires_at=hold_expires_at,
        exclusive=service.capacity == 1,
        created_by_type=Actor.STAFF,
    )
