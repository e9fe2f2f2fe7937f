"""The public API and customer identity: a hold never changes the customer record its
email matches, and a booking token stops working after its booking's end plus the
grace (401, saying it expired), or at once when altered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking, Customer
from tests.api.calls import error_of, hold, send_json

pytestmark = pytest.mark.django_db


def test_an_anonymous_hold_never_changes_the_customer_its_email_matches(anon_client, catalogue):
    # given a customer known by their address, with no phone
    first = hold(anon_client, catalogue, key="victim").json()
    Customer.objects.update(phone_encrypted="", phone_hash="")
    # when someone holds with that address, their own name and phone
    payload = {
        "service": str(catalogue.service.pk),
        "slot": str(catalogue.slots[2].pk),
        "customer": {"name": "Mallory", "email": "JANE@example.test", "phone": "+12125550100"},
    }
    response = send_json(
        anon_client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="intruder"
    )

    # then the hold is made, on the same customer, whose record is as it was
    assert response.status_code == 201
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.phone_hash) == ("Jane Doe", "", "")
    intruder = Booking.objects.get(pk=response.json()["id"])
    assert intruder.customer_id == Booking.objects.get(pk=first["id"]).customer_id
    assert (intruder.contact.name, intruder.contact.phone) == ("Mallory", "+12125550100")


def test_a_booking_token_expires_with_its_booking(anon_client, catalogue, settings):
    # given a booking that ended 31 days ago, and its token
    settings.BOOKING_LINK_GRACE_DAYS = 30
    held = hold(anon_client, catalogue).json()
    ends_at = timezone.now() - dt.timedelta(days=31)
    Booking.objects.filter(pk=held["id"]).update(
        status=Booking.Status.COMPLETED,
        hold_expires_at=None,
        starts_at=ends_at - dt.timedelta(minutes=30),
        ends_at=ends_at,
    )
    token = booking_access_token(booking_id=held["id"])
    url = f"/api/v1/bookings/{held['id']}"

    # when it is used
    read = anon_client.get(url, HTTP_X_BOOKING_TOKEN=token)
    cancel = send_json(anon_client, "post", f"{url}/cancel", {}, HTTP_X_BOOKING_TOKEN=token)

    # then it is refused, saying why, and changes nothing
    assert read.status_code == 401
    assert error_of(read)["code"] == "UNAUTHENTICATED"
    assert error_of(read)["message"].startswith("This booking token has expired")
    assert cancel.status_code == 401
    assert Booking.objects.get(pk=held["id"]).status == Booking.Status.COMPLETED
    # with a longer grace the same token opens the booking again
    settings.BOOKING_LINK_GRACE_DAYS = 32
    assert anon_client.get(url, HTTP_X_BOOKING_TOKEN=token).status_code == 200


def test_an_altered_booking_token_is_refused(anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    payload, *signature = held["token"].split(":")
    altered = ":".join([payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), *signature])

    response = anon_client.get(f"/api/v1/bookings/{held['id']}", HTTP_X_BOOKING_TOKEN=altered)

    assert response.status_code == 401
    assert error_of(response)["message"] == "This booking token is not valid for this business."
