"""Test data for notifications: places, services, customers, bookings (created directly
or through the booking services) and slot rows for the services to book."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.models import Actor, Booking, Customer
from apps.calendars.models import SlotInstance
from apps.resources.models import Resource
from tests.plugins import factories as catalogue

STAFF = ActorRef.staff("00000000-0000-7000-8000-00000000a11c", label="front desk")
CUSTOMER = ActorRef.customer(label="booking page")


class LocationFactory(catalogue.LocationFactory):
    name = factory.Sequence(lambda n: f"Studio {n}")
    address = "1 High Street\nLondon"


class ResourceFactory(catalogue.ResourceFactory):
    name = factory.Sequence(lambda n: f"Dr Who {n}")
    location = factory.SubFactory(LocationFactory)


class ServiceFactory(catalogue.ServiceFactory):
    name = factory.Sequence(lambda n: f"Check-up {n}")


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    """`CustomerFactory(email="…", phone="+44…")`: stored encrypted like the booking core
    stores them."""

    class Meta:
        model = Customer
        exclude = ("email", "phone")

    name = factory.Sequence(lambda n: f"Jane O'Brien {n}")
    email = factory.Sequence(lambda n: f"jane{n}@example.test")
    phone = ""
    email_encrypted = factory.LazyAttribute(lambda o: pii.pii_encrypt(o.email))
    email_hash = factory.LazyAttribute(lambda o: pii.lookup_hash(o.email))
    phone_encrypted = factory.LazyAttribute(lambda o: pii.pii_encrypt(o.phone))
    phone_hash = factory.LazyAttribute(lambda o: pii.lookup_hash(o.phone))


def hour_from_now(*, days: int = 3, hour: int = 10) -> datetime:
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=hour)


class BookingFactory(factory.django.DjangoModelFactory[Booking]):
    """A booking row written directly (no slot bookkeeping): for notification logic that
    only needs the row, and for instants the booking services would refuse (the past)."""

    class Meta:
        model = Booking

    service = factory.SubFactory(ServiceFactory)
    resource = factory.SubFactory(ResourceFactory)
    customer = factory.SubFactory(CustomerFactory)
    starts_at = factory.LazyFunction(hour_from_now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=30))
    status = Booking.Status.CONFIRMED
    created_by_type = Actor.STAFF


def slots_for(*, resource: Resource, starts_at: datetime, count: int = 1) -> list[SlotInstance]:
    """Free 30-minute grid steps, as materialization would create them."""
    step = timedelta(minutes=30)
    return SlotInstance.objects.bulk_create(
        SlotInstance(
            resource=resource, starts_at=starts_at + step * i, ends_at=starts_at + step * (i + 1)
        )
        for i in range(count)
    )
