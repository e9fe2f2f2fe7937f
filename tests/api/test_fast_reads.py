"""Repeated availability reads answered from the cache before DRF (apps/api/fast_reads.py):
the same answer as the full way, byte for byte, one count per request in the rate
bucket, and every request that is not plain handed to the full way."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.test import Client
from rest_framework.views import APIView

from apps.accounts.middleware import tenant_routes_forget
from apps.accounts.models import Tenant
from apps.api import fast_reads
from apps.api.models import ApiKey
from apps.api.services import api_key_create, api_key_revoke
from apps.api.views.catalogue import DatesApi, SlotsApi
from tests.api.calls import Catalogue, error_of, hold, rates

pytestmark = pytest.mark.django_db

# Headers that differ between any two answers.
_PER_RESPONSE = {"date", "x-request-id", "traceparent", "server-timing"}


@pytest.fixture
def full_way(monkeypatch) -> list[str]:
    """The names of the DRF views that ran, in order."""
    ran: list[str] = []
    for view in (SlotsApi, DatesApi):
        original = view.get

        def get(self: APIView, request, *args, _original=original, **kwargs):
            ran.append(type(self).__name__)
            return _original(self, request, *args, **kwargs)

        monkeypatch.setattr(view, "get", get)
    return ran


def _day(catalogue: Catalogue) -> dt.date:
    return catalogue.start.astimezone(dt.UTC).date()


def _slots_path(catalogue: Catalogue, **extra: str) -> str:
    query = (
        f"service={catalogue.service.pk}&resource={catalogue.resource.pk}&date={_day(catalogue)}"
    )
    return "/api/v1/slots?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def _dates_path(catalogue: Catalogue) -> str:
    day = _day(catalogue)
    return (
        f"/api/v1/dates?service={catalogue.service.pk}&from={day - dt.timedelta(days=3)}"
        f"&to={day + dt.timedelta(days=3)}"
    )


def _headers(response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in _PER_RESPONSE}


def _key_client(host: str) -> tuple[Client, ApiKey]:
    key, secret = api_key_create(role="readonly", name="fast reads")
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {secret}"), key


@pytest.mark.parametrize("kind", ["slots", "dates"])
@pytest.mark.parametrize("caller", ["api key", "anonymous"])
def test_a_repeated_read_skips_the_full_way_and_answers_the_same(
    kind, caller, acme, acme_host, catalogue, full_way
):
    client = _key_client(acme_host)[0] if caller == "api key" else Client(HTTP_HOST=acme_host)
    path = _slots_path(catalogue) if kind == "slots" else _dates_path(catalogue)

    first = client.get(path)
    second = client.get(path)
    third = client.get(path)

    assert first.status_code == second.status_code == third.status_code == 200
    view = "SlotsApi" if kind == "slots" else "DatesApi"
    assert full_way == [view]  # the first computed it; the others came from the cache
    assert second.content == first.content == third.content
    assert _headers(second) == _headers(first)
    assert second["Content-Type"] == "application/json"
    if kind == "slots":
        assert [slot["id"] for slot in second.json()["slots"]] == [
            str(slot.pk) for slot in catalogue.slots
        ]
    else:
        free = {entry["date"]: entry["free"] for entry in second.json()["dates"]}
        assert free[_day(catalogue).isoformat()] == len(catalogue.slots)


def test_a_hold_is_seen_by_the_next_fast_read(acme, acme_host, catalogue, full_way):
    client = Client(HTTP_HOST=acme_host)
    before = client.get(_slots_path(catalogue)).json()

    assert hold(client, catalogue, slot=catalogue.slots[0]).status_code == 201
    after = client.get(_slots_path(catalogue)).json()
    again = client.get(_slots_path(catalogue)).json()

    assert before["total"] == len(catalogue.slots)
    assert after["total"] == again["total"] == len(catalogue.slots) - 1
    assert str(catalogue.slots[0].pk) not in {slot["id"] for slot in again["slots"]}
    assert full_way == ["SlotsApi", "SlotsApi"]  # the hold's new token: computed again


def test_each_request_counts_once_in_its_bucket(acme, acme_host, catalogue, settings, full_way):
    settings.REST_FRAMEWORK = rates(api_key="3/min")
    client = _key_client(acme_host)[0]
    other_day = _slots_path(catalogue).replace(
        str(_day(catalogue)), str(_day(catalogue) + dt.timedelta(days=1))
    )

    statuses = [
        client.get(_slots_path(catalogue)).status_code,  # full way: key and answer cached
        client.get(other_day).status_code,  # counted here, answer missing: full way
        client.get(_slots_path(catalogue)).status_code,  # from the cache
        client.get(_slots_path(catalogue)).status_code,  # the fourth in the minute
    ]

    assert statuses == [200, 200, 200, 429]
    assert full_way == ["SlotsApi", "SlotsApi"]


def test_the_refusal_over_the_rate_is_the_api_envelope(acme, acme_host, catalogue, settings):
    settings.REST_FRAMEWORK = rates(anon_read="2/min")
    # An address of its own: other tests' anonymous reads count in 127.0.0.1's bucket.
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=f"203.0.113.{secrets.randbelow(250) + 1}")

    answers = [client.get(_slots_path(catalogue)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert error_of(answers[2])["code"] == "RATE_LIMITED"
    assert int(answers[2]["Retry-After"]) >= 1


def test_a_wrong_secret_is_refused_and_costs_the_real_key_nothing(
    acme, acme_host, catalogue, settings
):
    settings.REST_FRAMEWORK = rates(api_key="2/min")
    client, key = _key_client(acme_host)
    forged = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {key.prefix}_not-the-secret")

    first = client.get(_slots_path(catalogue))  # the key's row is cached now
    refused = [forged.get(_slots_path(catalogue)) for _ in range(3)]
    second = client.get(_slots_path(catalogue))
    third = client.get(_slots_path(catalogue))

    assert [r.status_code for r in refused] == [401, 401, 401]
    assert error_of(refused[0])["code"] == "UNAUTHENTICATED"
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)


def test_a_revoked_key_is_refused_at_once(acme, acme_host, catalogue):
    client, key = _key_client(acme_host)
    assert client.get(_slots_path(catalogue)).status_code == 200
    assert client.get(_slots_path(catalogue)).status_code == 200

    api_key_revoke(api_key=key)
    response = client.get(_slots_path(catalogue))

    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("extra", "headers"),
    [
        ({"tz": "Asia/Tokyo"}, {}),  # a documented parameter: its own cached answer
        ({"unknown": "1"}, {}),
        ({}, {"HTTP_X_EXPOSURE_VARIANT": "all"}),
        ({}, {"HTTP_ACCEPT": "application/json; indent=2"}),  # DRF indents it
        ({}, {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}),
    ],
)
def test_requests_that_are_not_plain_go_the_full_way(
    acme, acme_host, catalogue, full_way, extra, headers
):
    client = Client(HTTP_HOST=acme_host)
    path = _slots_path(catalogue, **extra)

    answers = [client.get(path, **headers) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    assert answers[1].json()["total"] == len(catalogue.slots)
    expected = 1 if extra.get("tz") else 2
    assert full_way == ["SlotsApi"] * expected


@pytest.mark.parametrize(
    "query",
    [
        "service={service}&date=2026-02-30",
        "service={service}&date=tomorrow",
        "service=not-a-uuid&date={day}",
        "date={day}",  # no service
        "service={service}&date=1800-01-01",
        "service={service}&date={day}&tz=Not/AZone",
    ],
)
def test_bad_input_is_answered_by_the_full_way(acme, acme_host, catalogue, query):
    client = Client(HTTP_HOST=acme_host)
    path = "/api/v1/slots?" + query.format(service=catalogue.service.pk, day=_day(catalogue))

    answers = [client.get(path) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [400, 400]
    assert error_of(answers[1])["code"] == "VALIDATION_ERROR"


def test_a_curated_business_goes_the_full_way(acme, acme_host, catalogue, full_way):
    Tenant.objects.filter(pk=acme.pk).update(exposure_mode=Tenant.ExposureMode.CURATED)
    tenant_routes_forget()
    client = Client(HTTP_HOST=acme_host)

    answers = [client.get(_slots_path(catalogue)).json() for _ in range(2)]

    assert full_way == ["SlotsApi", "SlotsApi"]
    assert all(1 <= len(answer["slots"]) <= 3 for answer in answers)


def test_a_suspended_business_is_refused_by_the_full_way(acme, acme_host, catalogue):
    client = Client(HTTP_HOST=acme_host)
    assert client.get(_slots_path(catalogue)).status_code == 200

    Tenant.objects.filter(pk=acme.pk).update(status=Tenant.Status.SUSPENDED)
    tenant_routes_forget()
    response = client.get(_slots_path(catalogue))

    assert response.status_code == 402
    assert error_of(response)["code"] == "PLAN_INACTIVE"


def test_an_empty_accept_header_is_refused_as_drf_refuses_it(acme, acme_host, catalogue):
    client = Client(HTTP_HOST=acme_host)
    assert client.get(_slots_path(catalogue)).status_code == 200  # the answer is cached

    answers = [client.get(_slots_path(catalogue), HTTP_ACCEPT="") for _ in range(2)]

    assert [answer.status_code for answer in answers] == [406, 406]


def test_a_zone_named_dash_is_not_the_absence_of_a_zone(acme, acme_host, catalogue):
    client = Client(HTTP_HOST=acme_host)
    assert client.get(_slots_path(catalogue)).status_code == 200  # cached without a zone

    answer = client.get(_slots_path(catalogue, tz="-"))

    assert answer.status_code == 400
    assert error_of(answer)["details"][0]["field"] == "tz"


def test_a_plain_read_is_answered_before_the_pages_middleware(acme, acme_host, catalogue, full_way):
    client = Client(HTTP_HOST=acme_host)

    first, second = (client.get(_slots_path(catalogue)) for _ in range(2))

    assert full_way == ["SlotsApi"]
    # Sessions and authentication ran for the full way only (and the security middleware
    # above for both: its headers are on each).
    assert hasattr(first.wsgi_request, "user") and hasattr(first.wsgi_request, "session")
    assert not hasattr(second.wsgi_request, "user")
    assert not hasattr(second.wsgi_request, "session")
    assert second["X-Content-Type-Options"] == first["X-Content-Type-Options"] == "nosniff"
    assert second["X-Frame-Options"] == first["X-Frame-Options"]


@pytest.mark.parametrize(
    ("accept_language", "locale", "expected"),
    [("de-DE,de;q=0.9", "en", "de"), ("", "fr", "fr"), ("xx", "es", "es"), ("", "", "en")],
)
def test_the_answer_names_the_language_the_full_way_names(
    acme, acme_host, catalogue, full_way, accept_language, locale, expected
):
    Tenant.objects.filter(pk=acme.pk).update(locale=locale)
    tenant_routes_forget()
    client = Client(HTTP_HOST=acme_host, HTTP_ACCEPT_LANGUAGE=accept_language)

    first, second = (client.get(_slots_path(catalogue)) for _ in range(2))

    assert full_way == ["SlotsApi"]
    assert first["Content-Language"] == second["Content-Language"] == expected
    assert first["Vary"] == second["Vary"] == "Accept-Language, Cookie"


def test_the_redirect_to_https_comes_first(acme, acme_host, catalogue, settings, full_way):
    assert Client(HTTP_HOST=acme_host).get(_slots_path(catalogue)).status_code == 200  # cached
    settings.SECURE_SSL_REDIRECT = True

    answer = Client(HTTP_HOST=acme_host).get(_slots_path(catalogue))

    assert answer.status_code == 301
    assert answer["Location"].startswith("https://")
    assert full_way == ["SlotsApi"]


def test_other_paths_of_the_api_go_the_full_way(acme, acme_host, catalogue, full_way):
    client = Client(HTTP_HOST=acme_host)
    assert client.get(_slots_path(catalogue)).status_code == 200  # cached

    answer = client.get(_slots_path(catalogue).replace("/slots?", "/slots/?"))

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "NOT_FOUND"


def test_a_kept_answer_is_given_again_until_the_clock_may_change_it(
    acme, acme_host, catalogue, full_way, monkeypatch
):
    cuts: list[dt.datetime] = []
    cut = fast_reads.availability_slots_cached

    def counted(**kwargs):
        answer = cut(**kwargs)
        if answer is not None:  # (the first request's is None: nothing cached yet)
            cuts.append(kwargs["now"])
        return answer

    monkeypatch.setattr(fast_reads, "availability_slots_cached", counted)
    monkeypatch.setattr(fast_reads, "_kept", {})
    client = Client(HTTP_HOST=acme_host)

    answers = [client.get(_slots_path(catalogue)) for _ in range(4)]
    assert full_way == ["SlotsApi"] and len(cuts) == 1  # cut once, then given again
    (query, kept), *others = fast_reads._kept.items()
    assert not others and kept.body == answers[3].content
    # The instant the clock may change it: cut again.
    fast_reads._kept[query] = kept._replace(until=kept.since)
    again = client.get(_slots_path(catalogue))
    # Another hold: the tokens differ, so the cache values do.
    assert hold(client, catalogue, slot=catalogue.slots[1]).status_code == 201
    client.get(_slots_path(catalogue))  # the full way computes it again
    after_hold = client.get(_slots_path(catalogue))

    assert len(cuts) == 3
    assert {answer.content for answer in answers} == {again.content}
    assert after_hold.json()["total"] == len(catalogue.slots) - 1
