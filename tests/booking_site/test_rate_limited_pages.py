"""Rate limits of the customer booking pages (PRODUCT.md §4.8): 60 page reads a minute
per client (an IPv6 client is its /64), in the API's bucket for anonymous reads; booking
POSTs stay limited with Redis out of reach, page reads are served then."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.booking_site.forms import slot_value
from apps.bookings.models import Booking
from apps.core.rate_limits import parse_rate
from config.settings import base as base_settings
from tests.booking_site.catalogue import generous_rates

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_clock")]


@pytest.fixture
def visitor(acme_host: str) -> Callable[..., Client]:
    """A browser on acme's booking pages from the address given."""

    def make(address: str, **headers: Any) -> Client:
        return Client(HTTP_HOST=acme_host, REMOTE_ADDR=address, **headers)

    return make


def test_the_61st_page_read_in_a_minute_is_a_friendly_429_for_that_client_only(
    visitor, tenant, catalogue, settings, new_address
):
    # given the configured rate, 60 reads a minute
    configured = base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon_read"]
    assert parse_rate(configured) == (60, 60)
    settings.REST_FRAMEWORK = generous_rates(anon_read=configured)
    address = new_address()
    client = visitor(address)
    pages = ["/", f"/book/{catalogue.service.pk}/", f"/book/{catalogue.service.pk}/anyone/"]

    # when one client reads 60 pages, then a 61st (as a page and as an htmx swap)
    statuses = [client.get(pages[n % len(pages)]).status_code for n in range(60)]
    limited = client.get("/")
    limited_partial = visitor(address, HTTP_HX_REQUEST="true").get("/")
    other = visitor(new_address()).get("/")

    # then the 61st is refused with a page that says how long to wait
    assert statuses == [200] * 60
    assert limited.status_code == 429
    wait = int(limited["Retry-After"])
    assert 1 <= wait <= 60
    body = limited.content.decode()
    assert "Too many requests" in body and "<html" in body
    assert f"Please wait {wait} second" in body
    assert limited_partial.status_code == 429
    assert "<html" not in limited_partial.content.decode()
    # and another client is served
    assert other.status_code == 200


def test_page_reads_and_api_reads_count_in_one_bucket(
    visitor, tenant, catalogue, settings, new_address
):
    settings.REST_FRAMEWORK = generous_rates(anon_read="4/min")
    client = visitor(new_address())

    statuses = [
        client.get("/").status_code,
        client.get("/api/v1/services").status_code,
        client.get("/").status_code,
        client.get("/api/v1/services").status_code,
    ]

    assert statuses == [200, 200, 200, 200]
    assert client.get("/").status_code == 429
    assert client.get("/api/v1/services").status_code == 429


def test_page_reads_of_one_ipv6_64_share_a_bucket(
    visitor, tenant, catalogue, settings, new_ipv6_prefix
):
    settings.REST_FRAMEWORK = generous_rates(anon_read="3/min")
    net, neighbour = new_ipv6_prefix(), new_ipv6_prefix()

    statuses = [visitor(f"{net}::{n:x}").get("/").status_code for n in range(1, 5)]

    assert statuses == [200, 200, 200, 429]
    assert visitor(f"{neighbour}::1").get("/").status_code == 200


def test_a_booking_post_is_counted_as_a_booking_not_as_a_read(
    visitor, tenant, catalogue, settings, new_address
):
    settings.REST_FRAMEWORK = generous_rates(anon_read="1/min")
    client = visitor(new_address())
    url = _details_url(catalogue, hour=10)

    assert client.get("/").status_code == 200
    posted = client.post(url, _details(url, key="k1"))

    assert posted.status_code == 303
    assert Booking.objects.count() == 1


# --- Redis out of reach -----------------------------------------------------------------


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_page_reads_are_served(visitor, tenant, catalogue, settings, new_address):
    settings.REST_FRAMEWORK = generous_rates(anon_read="2/min")
    client = visitor(new_address())

    statuses = [client.get("/").status_code for _ in range(5)]

    assert statuses == [200] * 5


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_booking_posts_are_still_limited(
    visitor, tenant, catalogue, settings, new_address
):
    # given 2 booking POSTs a minute and Redis out of reach
    settings.REST_FRAMEWORK = generous_rates(anon_booking="2/min")
    client = visitor(new_address())
    urls = [_details_url(catalogue, hour=10, minute=m) for m in (0, 30)] + [
        _details_url(catalogue, hour=11)
    ]

    # when one client sends three details forms
    answers = [client.post(url, _details(url, key=f"k{n}")) for n, url in enumerate(urls)]

    # then the third is refused by this process's own count, keeping what was typed
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert "Too many tries" in answers[2].content.decode()
    assert Booking.objects.count() == 2
    # and another client may still book
    other_url = _details_url(catalogue, resource=catalogue.grace, hour=10)
    other = visitor(new_address()).post(other_url, _details(other_url, key="other"))
    assert other.status_code == 303


def _details_url(catalogue, *, resource=None, hour: int, minute: int = 0) -> str:
    resource = resource or catalogue.ada
    slot = slot_value(resource_id=resource.pk, start=catalogue.at(hour, minute))
    return f"/book/{catalogue.service.pk}/{resource.pk}/details/?slot={slot}"


def _details(url: str, *, key: str) -> dict[str, str]:
    return {
        "name": "Jane Doe",
        "email": f"jane+{key}@example.test",
        "phone": "+44 7911 123456",
        "notes": "",
        "idempotency_key": key,
        "slot": url.split("slot=")[1],
    }
