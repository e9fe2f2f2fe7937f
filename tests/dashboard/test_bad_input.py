"""No input, however odd, makes a dashboard screen fail: every screen and every form
answers garbage with a page (200), a refusal (400/409) or a redirect, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.bookings.models import Booking
from apps.resources.models import Resource
from tests.dashboard.factories import local_at
from tests.dashboard.screens import SCREENS, screen_url

pytestmark = pytest.mark.django_db

ODD_QUERIES = [
    {"date": "\x00"},
    {"date": "2031-99-99", "view": "week", "resource": "'; DROP TABLE x; --"},
    {"page": "1e9", "status": "x" * 5000, "date_from": "0000-00-00"},
    {"kind": "exception", "for": "resource:" + "f" * 36},
    {"who": "any", "date": "9999-12-31"},
    {"date": "0001-01-01", "location": "00000000-0000-0000-0000-000000000000"},
]

ODD_POSTS = [
    {},
    {"reason": "\x00", "name": "\x00", "start": "\x00"},
    {
        "name": ["one", "two"],
        "duration_minutes": "1" * 50,
        "price": "1e999",
        "currency": "€€€",
        "start": "2031-01-01T10:00:00+25:00",
        "resource": "x",
        "resources": ["00000000-0000-0000-0000-000000000000"],
        "applies_to": "location:" + "0" * 36,
        "kind": "weekly",
        "granularity_minutes": "99999999999999999999999",
        "days_of_week": ["0", "8", "x"],
        "valid_from": "2031-02-29",
        "valid_to": "9999-12-31",
        "timezone": "Etc/../../passwd",
        "tags": "," * 1000,
        "user": "0",
        "location": "../",
        "is_closed": "yes please",
    },
    {
        "kind": "exception",
        "applies_to": "resource:not-a-uuid",
        "valid_from": "9999-12-31",
        "start": "9999-12-31T23:59:00+14:00",
        "resource": "01a237aa-8a67-7a58-bf5c-585971e34063",
        "reason": "r" * 100_000,
    },
]

POSTS = [
    ("dashboard:booking_confirm", "booking_id"),
    ("dashboard:booking_cancel", "booking_id"),
    ("dashboard:booking_completed", "booking_id"),
    ("dashboard:booking_no_show", "booking_id"),
    ("dashboard:booking_reschedule", "booking_id"),
    ("dashboard:rule_create", None),
    ("dashboard:rule_edit", "rule_id"),
    ("dashboard:location_create", None),
    ("dashboard:location_edit", "location_id"),
    ("dashboard:resource_create", None),
    ("dashboard:resource_edit", "resource_id"),
    ("dashboard:service_create", None),
    ("dashboard:service_edit", "service_id"),
    ("dashboard:settings", None),
    ("dashboard:customer_erase", "customer_id"),
]


@pytest.mark.parametrize("query", ODD_QUERIES)
@pytest.mark.parametrize(("name", "minimum", "text", "key"), SCREENS)
def test_odd_query_strings_never_fail_a_screen(
    admin_client_acme, ids, name, minimum, text, key, query
):
    response = admin_client_acme.get(screen_url(name, key, ids), query)

    assert response.status_code in (200, 400), response.content.decode()[:300]


@pytest.mark.parametrize("data", ODD_POSTS)
@pytest.mark.parametrize(("name", "key"), POSTS)
def test_odd_form_posts_never_fail(admin_client_acme, ids, name, key, data):
    for htmx in (False, True):
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = admin_client_acme.post(screen_url(name, key, ids), data, **extra)
        assert response.status_code in (200, 302, 400, 409), (
            response.status_code,
            response.content.decode()[:300],
        )


def test_a_screen_of_an_unknown_id_is_404(admin_client_acme, acme):
    unknown = "01a237aa-8a67-7a58-bf5c-585971e34063"

    for name, key in [
        ("dashboard:booking", "booking_id"),
        ("dashboard:rule_edit", "rule_id"),
        ("dashboard:service_edit", "service_id"),
    ]:
        assert admin_client_acme.get(reverse(name, kwargs={key: unknown})).status_code == 404
    assert admin_client_acme.get("/dashboard/bookings/not-a-uuid/").status_code == 404


# Every query parameter a dashboard screen or its htmx parts read: searches and filters
# (q, email, actor, name...), prefills of the forms, ids, days and pages. PostgreSQL text
# cannot hold a NUL, so each one alone carries one to wherever it is compared.
QUERY_PARAMETERS = [
    *("q", "customer", "name", "email", "phone", "service", "resource", "date", "start"),
    *("time", "mode", "payment", "override_reason", "notes", "request_key", "every_weeks"),
    *("count", "until", "shown", "day", "earliest", "latest", "location", "view"),
    *("cancelled", "status", "date_from", "date_to", "page", "who", "kind", "for"),
    *("model", "actor", "event_type", "reported", "format", "connected", "paid"),
]

# The htmx parts of screens, which read the query themselves.
PARTS: list[tuple[str, str | None]] = [
    ("dashboard:booking_new_customers", None),
    ("dashboard:booking_new_times", None),
    ("dashboard:integrations", None),
]


@pytest.mark.parametrize(
    ("name", "key"), [(name, key) for name, _role, _text, key in SCREENS] + PARTS
)
def test_a_nul_in_any_query_parameter_never_fails_a_screen(admin_client_acme, ids, name, key):
    url = screen_url(name, key, ids)

    for parameter in QUERY_PARAMETERS:
        response = admin_client_acme.get(url, {parameter: "te\x00st"})
        assert response.status_code in (200, 400), (parameter, response.status_code)


def _booking_new_form(clinic) -> dict[str, str]:
    day = local_at(clinic.location, days=3, hour=10)
    return {
        "request_key": "nul-check",
        "q": "Ada",
        "customer": "new",
        "name": "Ada Lovelace",
        "email": "ada@example.test",
        "phone": "+44 20 7946 0958",
        "service": str(clinic.service.pk),
        "resource": str(clinic.smith.pk),
        "date": day.date().isoformat(),
        "start": day.isoformat(),
        "mode": "confirm",
        "payment": "at_venue",
        "notify": "on",
        "notes": "Kept notes",
        "override_reason": "Kept reason",
        "every_weeks": "1",
        "count": "2",
        "until": "",
    }


def _service_form(clinic) -> dict[str, str | list[str]]:
    return {
        "name": "Kept service",
        "description": "Kept description",
        "duration_minutes": "45",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "10",
        "capacity": "1",
        "price": "60.00",
        "currency": "gbp",
        "deposit_amount": "",
        "deposit_percent": "",
        "resources": [str(clinic.smith.pk)],
        "min_notice_minutes": "",
        "horizon_days": "",
        "is_active": "on",
    }


def _resource_form(clinic) -> dict[str, str]:
    return {
        "name": "Kept resource",
        "kind": Resource.Kind.choices[0][0],
        "location": str(clinic.location.pk),
        "tags": "kept, tags",
        "is_active": "on",
    }


def _location_form(clinic) -> dict[str, str]:
    return {"name": "Kept location", "address": "1 Dean St", "timezone": "Europe/London"}


# (form, the screen that takes it, its text fields, two values typed into other fields)
TEXT_FORMS = [
    (
        _booking_new_form,
        "dashboard:booking_new",
        [
            *("q", "customer", "name", "email", "phone", "start", "notes", "override_reason"),
            *("every_weeks", "count", "until", "request_key"),
        ],
        ("ada@example.test", "Kept notes"),
    ),
    (
        _service_form,
        "dashboard:service_create",
        [
            *("name", "description", "price", "currency", "deposit_amount", "deposit_percent"),
            *("duration_minutes", "capacity", "min_notice_minutes", "horizon_days"),
        ],
        ("Kept description", "Kept service"),
    ),
    (
        _resource_form,
        "dashboard:resource_create",
        ["name", "tags"],
        ("kept, tags", "Kept resource"),
    ),
    (
        _location_form,
        "dashboard:location_create",
        ["name", "address", "timezone"],
        ("1 Dean St", "Kept location"),
    ),
]
# Not typed by anyone (a tampered page): refused, with nothing to show beside a field.
HIDDEN = {"request_key"}
REFUSALS = ("Null characters are not allowed.", "Select a valid choice.")


@pytest.mark.parametrize(
    ("form", "name", "field", "kept"),
    [(form, name, field, kept) for form, name, fields, kept in TEXT_FORMS for field in fields],
)
def test_a_nul_in_a_text_field_is_a_field_error_that_keeps_what_was_typed(
    admin_client_acme, clinic, form, name, field, kept
):
    data = form(clinic)
    other = next(value for value in kept if data.get(field) != value)

    response = admin_client_acme.post(reverse(name), {**data, field: "te\x00st"})

    body = response.content.decode()
    assert response.status_code == 400, body[:300]
    assert field in HIDDEN or any(refusal in body for refusal in REFUSALS), field
    assert other in body
    assert not Booking.objects.filter(notes="Kept notes").exists()
