"""Rate limits (Redis): anonymous reads and booking writes per client IP, per API key;
429 in the envelope with Retry-After. Rates are made small and hourly here, so a test
never straddles a window."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client

from apps.api.services import api_key_create
from apps.billing.plans import FREE, PLANS
from apps.core.rate_limits import parse_rate
from config.settings import base as base_settings
from tests.api.calls import error_of, hold, rates

pytestmark = pytest.mark.django_db


def _address() -> str:
    """A client address no other test has used, so its buckets start empty."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def test_default_rates_match_the_contract():
    # The autouse fixture loosens the live settings; the configured ones are these.
    configured = base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert parse_rate(configured["anon_read"]) == (60, 60)
    assert parse_rate(configured["anon_booking"]) == (10, 60)
    # Per key, the plan decides (100/min on the lowest, as the contract says) under a
    # configured ceiling as high as the highest plan's.
    assert parse_rate(configured["api_key"]) == (1000, 60)
    assert FREE.api_requests_per_minute == 100
    assert max(plan.api_requests_per_minute for plan in PLANS.values()) == 1000


def test_anonymous_reads_are_limited_per_ip_with_retry_after(acme, acme_host, settings):
    settings.REST_FRAMEWORK = rates(anon_read="3/hour")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    allowed = [client.get("/api/v1/services").status_code for _ in range(3)]
    limited = client.get("/api/v1/services")
    other_ip = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address()).get("/api/v1/services")

    assert allowed == [200, 200, 200]
    assert limited.status_code == 429
    error = error_of(limited)
    assert error["code"] == "RATE_LIMITED"
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert str(retry_after) in error["message"]
    assert other_ip.status_code == 200


def test_anonymous_booking_posts_have_their_own_smaller_bucket(
    acme, acme_host, catalogue, settings
):
    settings.REST_FRAMEWORK = rates(anon_read="100/hour", anon_booking="2/hour")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    first = hold(client, catalogue, key="a")
    second = hold(client, catalogue, key="b", slot=catalogue.slots[1], email="b@example.test")
    third = hold(client, catalogue, key="c", slot=catalogue.slots[2], email="c@example.test")
    read = client.get("/api/v1/services")

    assert [first.status_code, second.status_code] == [201, 201]
    assert third.status_code == 429
    assert "Retry-After" in third
    assert error_of(third)["code"] == "RATE_LIMITED"
    assert read.status_code == 200


def test_api_keys_are_limited_per_key_not_per_ip(acme, acme_host, settings):
    settings.REST_FRAMEWORK = rates(api_key="3/hour", anon_read="100/hour")
    address = _address()
    _key, secret = api_key_create(role="readonly")
    _other, other_secret = api_key_create(role="readonly")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=address, HTTP_AUTHORIZATION=f"Bearer {secret}")
    other = Client(
        HTTP_HOST=acme_host, REMOTE_ADDR=address, HTTP_AUTHORIZATION=f"Bearer {other_secret}"
    )

    statuses = [client.get("/api/v1/admin/locations").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert other.get("/api/v1/admin/locations").status_code == 200
    assert (
        Client(HTTP_HOST=acme_host, REMOTE_ADDR=address).get("/api/v1/services").status_code == 200
    )


def test_the_token_endpoint_is_limited_against_password_guessing(acme, acme_host, settings):
    settings.REST_FRAMEWORK = rates(auth="2/hour")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    def attempt():
        return client.post(
            "/api/v1/auth/token",
            data={"email": "nobody@acme.test", "password": "guess-guess-guess"},
            content_type="application/json",
        )

    statuses = [attempt().status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


# --- the contract's figure, the client key, and Redis out of reach -----------------------


@pytest.mark.usefixtures("rate_clock")
def test_the_61st_anonymous_read_in_a_minute_is_refused_for_that_client_only(
    acme, acme_host, settings
):
    # given the configured rate, 60 reads a minute
    configured = base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon_read"]
    assert parse_rate(configured) == (60, 60)
    settings.REST_FRAMEWORK = rates(anon_read=configured)
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    # when one client reads 61 times
    statuses = [client.get("/api/v1/services").status_code for _ in range(60)]
    limited = client.get("/api/v1/services")
    other = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address()).get("/api/v1/services")

    # then the 61st is a 429 in the envelope, and another client is served
    assert statuses == [200] * 60
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "RATE_LIMITED"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert other.status_code == 200


@pytest.mark.usefixtures("rate_clock")
def test_ipv6_callers_of_one_64_share_a_bucket(acme, acme_host, settings, new_ipv6_prefix):
    settings.REST_FRAMEWORK = rates(anon_read="3/min")
    net, neighbour = new_ipv6_prefix(), new_ipv6_prefix()

    statuses = [
        Client(HTTP_HOST=acme_host, REMOTE_ADDR=f"{net}::{n:x}").get("/api/v1/services").status_code
        for n in (1, 0xBEEF, 0xFFFF, 2)
    ]
    neighbour_status = (
        Client(HTTP_HOST=acme_host, REMOTE_ADDR=f"{neighbour}::1").get("/api/v1/services")
    ).status_code

    assert statuses == [200, 200, 200, 429]
    assert neighbour_status == 200


@pytest.mark.usefixtures("rate_clock")
def test_behind_one_proxy_the_client_is_the_address_the_proxy_saw(
    acme, acme_host, settings, new_address
):
    # given one trusted proxy at 10.0.0.2, which appends its peer to X-Forwarded-For
    settings.REST_FRAMEWORK = {**rates(anon_read="2/min"), "NUM_PROXIES": 1}
    proxy = Client(HTTP_HOST=acme_host, REMOTE_ADDR="10.0.0.2")
    client, other = new_address(), new_address()

    def read(forwarded: str) -> int:
        return proxy.get("/api/v1/services", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # when a client sends a different made-up address in front of its own each time
    statuses = [read(f"198.51.100.{n}, {client}") for n in range(3)]

    # then it is counted as itself, and the proxy's other clients are not held back
    assert statuses == [200, 200, 429]
    assert read(other) == 200


@pytest.mark.usefixtures("redis_unreachable", "rate_clock")
def test_without_redis_the_token_endpoint_is_still_limited(acme, acme_host, settings):
    settings.REST_FRAMEWORK = rates(auth="2/min")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    def attempt():
        return client.post(
            "/api/v1/auth/token",
            data={"email": "nobody@acme.test", "password": "guess-guess-guess"},
            content_type="application/json",
        )

    answers = [attempt() for _ in range(4)]

    assert [answer.status_code for answer in answers] == [401, 401, 429, 429]
    assert error_of(answers[2])["code"] == "RATE_LIMITED"
    assert int(answers[2]["Retry-After"]) >= 1
    other = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address()).post(
        "/api/v1/auth/token",
        data={"email": "nobody@acme.test", "password": "guess-guess-guess"},
        content_type="application/json",
    )
    assert other.status_code == 401


@pytest.mark.usefixtures("redis_unreachable", "rate_clock")
def test_without_redis_anonymous_booking_posts_are_still_limited_and_reads_served(
    acme, acme_host, catalogue, settings
):
    settings.REST_FRAMEWORK = rates(anon_read="2/min", anon_booking="2/min")
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=_address())

    first = hold(client, catalogue, key="a")
    second = hold(client, catalogue, key="b", slot=catalogue.slots[1], email="b@example.test")
    third = hold(client, catalogue, key="c", slot=catalogue.slots[2], email="c@example.test")
    reads = [client.get("/api/v1/services").status_code for _ in range(4)]

    assert [first.status_code, second.status_code] == [201, 201]
    assert third.status_code == 429
    assert error_of(third)["code"] == "RATE_LIMITED"
    assert reads == [200] * 4
