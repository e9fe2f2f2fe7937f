"""HTTP clients for acme with each kind of credential, and a bookable catalogue."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import Tenant
from tests.api.calls import (
    Catalogue,
    key_client,
    rates,
)
from tests.api.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    """Tests send many requests from one address; throttling has tests of its own."""
    settings.REST_FRAMEWORK = rates()


@pytest.fixture
def admin_client(acme: Tenant, acme_host: str) -> Client:
    return key_client(acme_host, "admin")


@pytest.fixture
def frontdesk_client(acme: Tenant, acme_host: str) -> Client:
    return key_client(acme_host, "frontdesk")


@pytest.fixture
def readonly_client(acme: Tenant, acme_host: str) -> Client:
    return key_client(acme_host, "readonly")


@pytest.fixture
def anon_client(acme: Tenant, acme_host: str) -> Client:
    return Client(HTTP_HOST=acme_host)


@pytest.fixture
def catalogue(acme: Tenant) -> Catalogue:
    """One person at one London location offering a 30-minute service, with eight free
    slots three days ahead (10:00 to 14:00 UTC)."""
    location = LocationFactory.create(name="Camden", timezone="Europe/London")
    resource = ResourceFactory.create(name="Ada", location=location)
    service = ServiceFactory.create(name="Consultation", resources=[resource])
    slots = slots_create(resource=resource, starts_at=future_start(), count=8)
    return Catalogue(location=location, resource=resource, service=service, slots=slots)
