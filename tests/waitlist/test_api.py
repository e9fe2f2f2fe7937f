"""The waitlist in the integrator API: `POST /api/v1/waitlist` joins the line; bad input
and a free time come back in the one error envelope, with nothing written."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from apps.waitlist.models import WaitlistEntry
from tests.api.calls import rates
from tests.bookings.factories import slots_create
from tests.dashboard.screens import HOST
from tests.waitlist.factories import full_time

URL = "/api/v1/waitlist"


@pytest.fixture
def api(acme, settings) -> Client:
    settings.REST_FRAMEWORK = rates()
    return Client(HTTP_HOST=HOST)


def _post(api: Client, body: dict, key: str = ""):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def _body(full, **changes):
    return {
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "earliest": full.starts_at.isoformat(),
        "latest": full.starts_at.isoformat(),
        "customer": {"name": "Ann Waiting", "email": "ann@example.test"},
        **changes,
    }


def test_joining_the_waitlist_answers_the_entry_once_per_key(api):
    full = full_time()
    first = _post(api, _body(full), key="join-1")
    again = _post(api, _body(full), key="join-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["status"] == "waiting"
    assert WaitlistEntry.objects.count() == 1


def test_a_free_time_is_409_in_the_envelope_and_writes_nothing(api):
    full = full_time()
    later = full.starts_at + timedelta(hours=1)
    slots_create(resource=full.resource, starts_at=later)

    response = _post(api, _body(full, latest=later.isoformat()))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "WAITLIST_TIME_FREE"
    assert WaitlistEntry.objects.count() == 0


def test_bad_input_names_each_field_in_the_envelope(api):
    full = full_time()
    response = _post(
        api,
        _body(
            full,
            latest=(full.starts_at - timedelta(hours=2)).isoformat(),
            customer={"name": "Ann", "email": "nope"},
        ),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {detail["field"] for detail in error["details"]} >= {"latest", "customer.email"}
    assert WaitlistEntry.objects.count() == 0


def test_an_unknown_service_is_bad_input_naming_the_field(api):
    full = full_time()
    response = _post(api, _body(full, service="01900000-0000-7000-8000-000000000000"))
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == ["service"]
