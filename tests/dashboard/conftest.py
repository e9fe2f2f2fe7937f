"""Dashboard test helpers: logged-in clients per role on acme's host, and a small clinic
(a location in London with two people and a service) to book."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from apps.accounts.models import Membership, Tenant
from apps.resources.intake import question_create
from apps.resources.models import Location, Resource, Service
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
    booking_made,
    local_at,
)
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, member_client


@pytest.fixture
def client_as(acme: Tenant) -> Callable[[str], Client]:
    """`client_as("scheduler")`: a client logged in as a new acme member with that role
    (an admin has passed the second factor)."""

    def make(role: str) -> Client:
        return member_client(MembershipFactory.create(tenant=acme, role=role), HOST)

    return make


@pytest.fixture
def admin_client_acme(client_as: Callable[[str], Client]) -> Client:
    return client_as(Membership.Role.ADMIN)


@dataclass
class Clinic:
    location: Location
    smith: Resource
    jones: Resource
    service: Service


@pytest.fixture
def clinic(acme: Tenant) -> Clinic:
    location = LocationFactory.create(name="Harley Street", timezone="Europe/London")
    smith = ResourceFactory.create(name="Dr Smith", location=location)
    jones = ResourceFactory.create(name="Dr Jones", location=location)
    service = ServiceFactory.create(name="Check-up", resources=[smith, jones])
    return Clinic(location=location, smith=smith, jones=jones, service=service)


@pytest.fixture
def ids(clinic: Clinic) -> dict[str, str]:
    """One of everything in acme, by the URL keyword that names it."""
    booking = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=3, hour=10),
    )
    rule = WeeklyRuleFactory.create(resource=clinic.smith)
    return {
        "booking_id": str(booking.pk),
        "rule_id": str(rule.pk),
        "location_id": str(clinic.location.pk),
        "resource_id": str(clinic.smith.pk),
        "service_id": str(clinic.service.pk),
        "customer_id": str(booking.customer_id),
        "question_id": str(
            question_create(service=clinic.service, kind="short_text", label="Allergies?").pk
        ),
    }
