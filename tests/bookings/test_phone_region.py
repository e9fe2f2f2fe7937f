"""Phone numbers typed as they are written in the business's country (its location's),
stored in E.164."""

from __future__ import annotations

import pytest

from apps.bookings.actors import ActorRef
from apps.bookings.errors import BusinessNotLive
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_hold
from apps.core.errors import ValidationFailed
from tests.bookings.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)

pytestmark = pytest.mark.django_db

CUSTOMER = ActorRef.customer("", label="test")


def _bookable(country: str):
    location = LocationFactory.create(name="Mitte", timezone="Europe/Berlin", country=country)
    resource = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    return service, resource, start


def _hold(service, resource, start, phone: str) -> Booking:
    return booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Jana", email="jana@example.test", phone=phone),
        actor=CUSTOMER,
    )


def test_a_national_number_is_read_in_the_locations_country_and_stored_e164(acme):
    service, resource, start = _bookable("DE")

    booking = _hold(service, resource, start, "030 123456")

    assert booking.contact.phone == "+4930123456"
    assert booking.customer.phone == "+4930123456"


def test_a_number_with_its_country_code_is_taken_whatever_the_country(acme):
    service, resource, start = _bookable("DE")

    booking = _hold(service, resource, start, "+44 7911 123456")

    assert booking.contact.phone == "+447911123456"


def test_an_invalid_number_is_refused_with_the_countrys_own_example(acme):
    service, resource, start = _bookable("DE")

    with pytest.raises(ValidationFailed) as refused:
        _hold(service, resource, start, "030 12")

    [detail] = refused.value.details
    assert detail.field == "phone"
    assert detail.message == "Enter a valid phone number, e.g. 030 123456 or +49 30 123456."
    assert not Booking.objects.exists()


def test_without_a_country_a_national_number_needs_its_country_code(acme):
    service, resource, start = _bookable("")

    with pytest.raises(ValidationFailed) as refused:
        _hold(service, resource, start, "030 123456")

    assert "with its country code" in refused.value.details[0].message


def test_before_going_live_customers_cannot_hold_but_staff_can(acme):
    service, resource, start = _bookable("DE")
    acme.live_at = None
    acme.save(update_fields=["live_at"])

    with pytest.raises(BusinessNotLive):
        _hold(service, resource, start, "")
    booking = booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=CustomerInput(name="Jana", email="jana@example.test"),
        actor=ActorRef.staff("staff-1", label="front desk"),
    )

    assert booking.status == Booking.Status.HELD
