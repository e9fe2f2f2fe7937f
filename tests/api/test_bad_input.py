"""No input, however odd, makes the API fail: a NUL (which PostgreSQL text cannot hold)
in a query parameter, a JSON text field or a header is refused in the error envelope
with the field named, never a 500."""

from __future__ import annotations

import pytest

from apps.bookings.models import Booking
from tests.api.calls import error_of, hold_payload, send_json

pytestmark = pytest.mark.django_db

NUL = "te\x00st"

LISTS = [
    "/api/v1/services",
    "/api/v1/resources",
    "/api/v1/locations",
    "/api/v1/dates",
    "/api/v1/slots",
    "/api/v1/admin/locations",
    "/api/v1/admin/resources",
    "/api/v1/admin/services",
    "/api/v1/admin/availability-rules",
    "/api/v1/admin/bookings",
    "/api/v1/admin/api-keys",
    "/api/v1/admin/webhook-endpoints",
    "/api/v1/admin/webhook-deliveries",
]

# Every filter the lists read, and their pages.
QUERY_PARAMETERS = [
    *("status", "resource", "service", "location", "customer_email", "date_from", "date_to"),
    *("from", "to", "month", "day", "tz", "page", "per_page", "include_revoked", "active"),
    *("endpoint", "event_type", "event", "booking"),
]


@pytest.mark.parametrize("url", LISTS)
def test_a_nul_in_any_query_parameter_is_refused_or_ignored(admin_client, catalogue, url):
    for parameter in QUERY_PARAMETERS:
        response = admin_client.get(url, {parameter: NUL})

        assert response.status_code in (200, 400), (parameter, response.status_code)
        if response.status_code == 400:
            assert error_of(response)["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("customer", "name"), "customer.name"),
        (("customer", "email"), "customer.email"),
        (("customer", "phone"), "customer.phone"),
        (("notes",), "notes"),
        (("service",), "service"),
        (("slot",), "slot"),
    ],
)
def test_a_nul_in_a_booking_field_is_a_validation_error_naming_it(
    anon_client, catalogue, path, field
):
    payload = hold_payload(catalogue)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = NUL

    response = send_json(anon_client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert any(detail["field"].startswith(path[0]) for detail in error["details"]), error
    assert not Booking.objects.exists()


def test_a_nul_in_question_answers_or_the_idempotency_key_is_no_server_error(
    anon_client, catalogue
):
    answers = {**hold_payload(catalogue), "answers": {NUL: NUL}}
    with_answers = send_json(anon_client, "post", "/api/v1/bookings", answers)
    keyed = send_json(
        anon_client, "post", "/api/v1/bookings", hold_payload(catalogue), HTTP_IDEMPOTENCY_KEY=NUL
    )

    assert with_answers.status_code in (201, 400), with_answers.content[:300]
    assert keyed.status_code in (201, 400), keyed.content[:300]
    for response in (with_answers, keyed):
        if response.status_code == 400:
            assert error_of(response)["code"] in ("VALIDATION_ERROR", "IDEMPOTENCY_KEY_REQUIRED")


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/admin/locations", {"name": NUL, "timezone": "Europe/London"}),
        ("/api/v1/admin/locations", {"name": "Soho", "timezone": NUL}),
        ("/api/v1/admin/services", {"name": NUL, "duration_minutes": 30}),
        ("/api/v1/admin/services", {"name": "Massage", "duration_minutes": 30, "currency": NUL}),
        ("/api/v1/admin/resources", {"name": NUL}),
        ("/api/v1/admin/api-keys", {"role": "readonly", "name": NUL}),
        ("/api/v1/admin/webhook-endpoints", {"url": NUL, "events": ["booking.confirmed"]}),
    ],
)
def test_a_nul_in_an_admin_text_field_is_a_validation_error(admin_client, catalogue, url, body):
    response = send_json(admin_client, "post", url, body)

    assert response.status_code == 400, response.content[:300]
    assert error_of(response)["code"] == "VALIDATION_ERROR"
