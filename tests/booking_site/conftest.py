from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts.models import Tenant
from tests.booking_site.catalogue import Catalogue, catalogue_create, generous_rates, policy_set

HOST = "acme.localhost"


@pytest.fixture(autouse=True)
def _roomy_rate_limits(settings):
    """Every test posts from one address; the rate limit has tests of its own."""
    settings.REST_FRAMEWORK = generous_rates()


@pytest.fixture
def tenant(acme: Tenant) -> Tenant:
    return policy_set(acme)


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return catalogue_create()


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST=HOST)


@pytest.fixture
def htmx() -> Client:
    """A client whose requests come from htmx (partial responses)."""
    return Client(HTTP_HOST=HOST, HTTP_HX_REQUEST="true")


@pytest.fixture
def throttle_counters(tenant: Tenant) -> Iterator[None]:
    """Starts and ends with empty rate-limit counters (ours only: the key prefix is
    this test database's)."""
    cache.delete_pattern("throttle:*")  # type: ignore[attr-defined]
    yield
    cache.delete_pattern("throttle:*")  # type: ignore[attr-defined]
