"""No input, however odd, makes a dashboard screen fail: every screen and every form
answers garbage with a page (200), a refusal (400/409) or a redirect, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

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
