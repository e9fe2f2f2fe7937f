from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from django.core import mail

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.notifications.messages import sms
from apps.resources.models import Resource, Service
from tests.notifications.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    hour_from_now,
    slots_for,
)


@pytest.fixture(autouse=True)
def _outboxes(settings) -> Iterator[None]:
    """Email through anymail's test backend (it records what anymail would send);
    SMS through the locmem backend. Both start empty."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.SMS_BACKEND = "apps.notifications.messages.sms.LocmemSmsBackend"
    mail.outbox = []
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@dataclass
class Place:
    resource: Resource
    service: Service

    def book(
        self,
        *,
        starts_at: datetime | None = None,
        email: str = "jane@example.test",
        phone: str = "",
        name: str = "Jane O'Brien",
        confirm: bool = True,
    ) -> Booking:
        """A booking made through the booking services (hold, then confirm)."""
        starts_at = starts_at or hour_from_now()
        slots_for(resource=self.resource, starts_at=starts_at)
        booking = booking_hold(
            service=self.service,
            resource=self.resource,
            starts_at=starts_at,
            customer=CustomerInput(name=name, email=email, phone=phone),
            actor=CUSTOMER,
        )
        if confirm:
            booking = booking_confirm(booking=booking, actor=CUSTOMER)
        return booking

    def slots(self, starts_at: datetime) -> None:
        slots_for(resource=self.resource, starts_at=starts_at)


@pytest.fixture
def place(acme: Tenant) -> Place:
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], name="Check-up")
    return Place(resource=resource, service=service)


@pytest.fixture
def staff() -> object:
    return STAFF


# Committed data (own tenant) for the tests that start real worker processes.
from tests.notifications.committed import committed, worker_tenant  # noqa: E402, F401
