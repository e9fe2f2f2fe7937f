"""Fixtures of the waitlist's page tests: acme's host, every slot shown, rates roomy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from apps.accounts.models import Tenant
from tests.booking_site.catalogue import generous_rates, policy_set
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, member_client


@pytest.fixture
def shop(acme: Tenant, settings) -> Tenant:
    settings.REST_FRAMEWORK = generous_rates()
    return policy_set(acme)


@pytest.fixture
def visitor() -> Client:
    return Client(HTTP_HOST=HOST)


@pytest.fixture
def staff_as(acme: Tenant) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        return member_client(MembershipFactory.create(tenant=acme, role=role), HOST)

    return make
