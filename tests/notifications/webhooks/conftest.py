from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from django.core import mail

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.notifications.webhooks.models import WebhookEndpoint
from apps.notifications.webhooks.services import webhook_endpoint_create
from apps.resources.models import Resource, Service
from tests.notifications.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    hour_from_now,
    slots_for,
)
from tests.notifications.webhooks.receivers import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


# Named like tests/notifications/conftest.py's autouse fixture, which it replaces here:
# webhook tests send their emails (disabled-endpoint notices) through the test settings'
# own backend, as they did before they moved under tests/notifications/.
@pytest.fixture(autouse=True)
def _outboxes() -> None:
    mail.outbox = []


@dataclass
class Subscription:
    endpoint: WebhookEndpoint
    secret: str


def subscribe(url: str, events: list[str] | None = None) -> Subscription:
    endpoint, secret = webhook_endpoint_create(url=url, events=events, description="CRM sync")
    return Subscription(endpoint=endpoint, secret=secret)


@dataclass
class Place:
    resource: Resource
    service: Service

    def hold(self, *, starts_at: datetime | None = None, email: str = "jane@example.test"):
        starts_at = starts_at or hour_from_now()
        slots_for(resource=self.resource, starts_at=starts_at)
        return booking_hold(
            service=self.service,
            resource=self.resource,
            starts_at=starts_at,
            customer=CustomerInput(name="Jane Doe", email=email, phone="+447911123456"),
            actor=CUSTOMER,
        )

    def book(self, *, starts_at: datetime | None = None) -> Booking:
        return booking_confirm(booking=self.hold(starts_at=starts_at), actor=CUSTOMER)


@pytest.fixture
def place(acme: Tenant) -> Place:
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], name="Check-up")
    return Place(resource=resource, service=service)
