"""The API on a business's first day: a customer's phone as written in the location's
country, stored E.164; no customer holds before the business goes live."""

from __future__ import annotations

import pytest

from apps.bookings.models import Booking
from tests.api.calls import error_of, hold_payload, send_json

pytestmark = pytest.mark.django_db


def _hold(client, catalogue, phone: str, key: str):
    payload = hold_payload(catalogue)
    payload["customer"]["phone"] = phone
    return send_json(client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY=key)


def test_a_national_number_is_stored_e164(anon_client, catalogue):
    catalogue.location.country = "DE"
    catalogue.location.save(update_fields=["country"])

    response = _hold(anon_client, catalogue, "030 123456", "de-1")

    assert response.status_code == 201
    assert Booking.objects.get(pk=response.json()["id"]).contact.phone == "+4930123456"


def test_an_invalid_number_is_a_field_error_with_the_countrys_example(anon_client, catalogue):
    catalogue.location.country = "DE"
    catalogue.location.save(update_fields=["country"])

    response = _hold(anon_client, catalogue, "030 12", "de-2")

    assert response.status_code == 400
    error = error_of(response)
    assert error["details"] == [
        {
            "field": "customer.phone",
            "message": "Enter a valid phone number, e.g. 030 123456 or +49 30 123456.",
        }
    ]
    assert not Booking.objects.exists()


def test_a_business_not_live_yet_takes_no_customer_holds(anon_client, catalogue, acme):
    acme.live_at = None
    acme.save(update_fields=["live_at"])

    response = _hold(anon_client, catalogue, "+447911123456", "not-live")

    assert response.status_code == 403
    assert error_of(response)["code"] == "NOT_LIVE"
    assert not Booking.objects.exists()
