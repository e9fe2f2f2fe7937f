"""Bad input to the waitlist's new surfaces answers a clear refusal, never a 500: the
API's line and entry endpoints and its join (the one error envelope), and the
dashboard's add form and screen (field errors that keep what was typed)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from apps.resources.intake import question_create
from apps.resources.models import IntakeQuestion
from apps.waitlist.models import WaitlistEntry
from tests.api.calls import error_of, key_client, rates, send_json
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, member_client
from tests.waitlist.factories import full_time

pytestmark = pytest.mark.django_db

URL = "/api/v1/waitlist"
HUGE = "x" * 100_000


@pytest.fixture
def api(acme, settings) -> Client:
    settings.REST_FRAMEWORK = rates()
    return Client(HTTP_HOST=HOST)


@pytest.mark.parametrize(
    "params",
    [
        {"service": "nope"},
        {"resource": HUGE},
        {"date": "2026-02-30"},
        {"date": "99999-01-01"},
        {"date": "0001-01-01"},
        {"date": HUGE},
        {"service": "\x00"},
        {"page": "-1"},
        {"page": HUGE},
        {"per_page": "100000"},
        {"page": "99999999999999999999999"},
    ],
)
def test_bad_line_filters_are_refused_in_the_envelope(api, params):
    reader = key_client(HOST, "readonly")
    full_time()

    response = reader.get(URL, params)

    assert response.status_code == 400, response.content[:500]
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert {detail["field"] for detail in error["details"]} == set(params)


@pytest.mark.parametrize("path", ["not-a-uuid", "1" * 5000, "%00", "01900000-0000-7000-8000"])
@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_malformed_entry_id_is_404_in_the_envelope(api, path, method):
    desk = key_client(HOST, "frontdesk")

    response = getattr(desk, method)(f"{URL}/{path}")

    assert response.status_code == 404, response.content[:500]
    assert error_of(response)["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "changes",
    [
        {"service": "nope"},
        {"service": "01900000-0000-7000-8000-000000000000"},
        {"resource": "01900000-0000-7000-8000-000000000000"},
        {"resource": 12},
        {"earliest": "tomorrow"},
        {"earliest": "2026-12-31T10:00:00"},
        {"latest": "9999-12-31T23:59:59+14:00"},
        {"latest": "0001-01-01T00:00:00-14:00"},
        {"customer": "Ann"},
        {"customer": {"name": HUGE, "email": "ann@example.test"}},
        {"customer": {"name": "Ann", "email": HUGE + "@example.test"}},
        {"customer": {"name": "Ann", "email": "ann@example.test", "phone": HUGE}},
        {"customer": {"name": "A\x00nn", "email": "ann@example.test"}},
        {"customer": {"name": ["Ann"], "email": "ann@example.test"}},
        {"answers": ["yes"]},
        {"answers": "yes"},
        {"answers": {"x": HUGE}},
        {"answers": {"01900000-0000-7000-8000-000000000000": {"deep": [1, 2]}}},
    ],
)
def test_bad_joins_are_refused_in_the_envelope(api, changes):
    full = full_time()
    body = {
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "earliest": full.starts_at.isoformat(),
        "latest": full.starts_at.isoformat(),
        "customer": {"name": "Ann Waiting", "email": "ann@example.test"},
        **changes,
    }

    response = send_json(api, "post", URL, body)

    assert response.status_code == 400, response.content[:500]
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert not WaitlistEntry.objects.exists()


@pytest.fixture
def desk(shop):
    membership = MembershipFactory.create(tenant=shop, role="frontdesk")
    return member_client(membership, HOST)


@pytest.mark.parametrize(
    "changes",
    [
        {"q": "\x00"},
        {"q": HUGE},
        {"customer": "\x00"},
        {"customer": HUGE},
        {"service": "nope"},
        {"service": "01900000-0000-7000-8000-000000000000"},
        {"resource": "\x00"},
        {"day": "2026-02-30"},
        {"day": "99999-01-01"},
        {"day": "0001-01-01"},
        {"earliest": "25:00"},
        {"latest": HUGE},
        {"name": HUGE},
        {"name": "W\x00lk"},
        {"email": HUGE},
        {"phone": "not a phone"},
    ],
)
def test_bad_adds_are_field_errors_never_a_500(desk, changes):
    full = full_time()
    form = {
        "customer": "new",
        "name": "Walk In",
        "email": "walk.in@example.test",
        "phone": "",
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "day": full.starts_at.date().isoformat(),
        **changes,
    }

    response = desk.post("/dashboard/waitlist/add/", form)

    assert response.status_code == 400, response.content[:500]
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"q": HUGE},
        {"customer": "\x00"},
        {"customer": "01900000-0000-7000-8000-000000000000"},
        {"day": "nope"},
        {"service": "\x00"},
    ],
)
def test_the_screens_search_takes_any_query(desk, params):
    response = desk.get("/dashboard/waitlist/", params)

    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize(
    "changes",
    [
        {"day": "2026-02-30"},
        {"day": "99999-01-01"},
        {"earliest": "25:00"},
        {"name": HUGE},
        {"name": "A\x00nn"},
        {"email": HUGE},
        {"phone": "\x00"},
        {"answer": HUGE},
        {"answer": "\x00"},
        {"choice": "not one of them"},
        {"choice": "\x00"},
    ],
)
def test_bad_joins_from_the_booking_pages_are_field_errors(shop, visitor, changes):
    full = full_time()
    allergies = question_create(
        service=full.service, kind=IntakeQuestion.Kind.SHORT_TEXT, label="Allergies"
    )
    colour = question_create(
        service=full.service,
        kind=IntakeQuestion.Kind.SINGLE_CHOICE,
        label="Colour",
        choices=["Red", "Blue"],
    )
    local = full.starts_at.astimezone(ZoneInfo(full.resource.location.timezone))
    form = {
        "day": local.date().isoformat(),
        "name": "Ann Waiting",
        "email": "ann@example.test",
        f"answer_{allergies.pk}": changes.pop("answer", "Peanuts"),
        f"answer_{colour.pk}": changes.pop("choice", "Red"),
        **changes,
    }
    url = reverse("booking:waitlist", args=[full.service.pk, full.resource.pk])

    response = visitor.post(url, form)

    assert response.status_code == 400, response.content[:500]
    assert not WaitlistEntry.objects.exists()
