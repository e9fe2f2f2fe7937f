"""What the customer booking pages' browser tests share: a bookable catalogue in acme
(committed, for the live server) that is emptied again afterwards, and small steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from apps.bookings.access_tokens import booking_access_token
from tests.booking_site.catalogue import (
    Catalogue,
    catalogue_create,
    confirmed_booking,
    generous_rates,
    policy_set,
)
from tests.plugins.tenant_tables import business_tables_truncate


# The live server keeps tenant schemas between tests (its flush empties public tables
# only): these tests start and end with acme's business tables empty. CASCADE takes the
# notification and webhook rows that point at bookings along.
def acme_tables_empty(tenant: Tenant) -> None:
    business_tables_truncate(tenant.schema_name)


@dataclass
class Shop:
    base: str  # http://acme.localhost:<port>
    tenant: Tenant
    catalogue: Catalogue

    def manage_url(self, booking: Any) -> str:
        token = booking_access_token(booking_id=booking.id, schema=self.tenant.schema_name)
        return f"{self.base}/manage/{token}/"

    def confirmed(self, **kwargs: Any) -> Any:
        with tenant_context(self.tenant):
            return confirmed_booking(self.catalogue, **kwargs)


@pytest.fixture(name="shop")
def shop_fixture(live_tenants: dict[str, Any], settings: Any) -> Iterator[Shop]:
    settings.REST_FRAMEWORK = generous_rates()
    tenant = Tenant.objects.get(slug="acme")
    acme_tables_empty(tenant)
    with tenant_context(tenant):
        policy_set(tenant)
        catalogue = catalogue_create()
    yield Shop(base=live_tenants["acme"], tenant=tenant, catalogue=catalogue)
    acme_tables_empty(tenant)


def day_label(catalogue: Catalogue) -> str:
    """The accessible name of the catalogue day's link in the month view."""
    day = catalogue.day
    return f"{day:%A} {day.day} {day:%B}"


def month_show(page: Page, catalogue: Catalogue) -> None:
    """Moves the month view forward until the catalogue's day is on it."""
    expect(page.locator("table.calendar")).to_be_visible()
    for _ in range(3):
        if page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).count():
            return
        heading = page.locator("#month-heading").inner_text()
        page.get_by_role("link", name=re.compile("^Next month")).click()
        expect(page.locator("#month-heading")).not_to_have_text(heading)
    raise AssertionError("the catalogue's day never showed in the month view")


def details_fill(page: Page, *, name: str = "Jane Doe", email: str = "jane@example.test") -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone (optional)").fill("+44 20 7946 0958")
    page.get_by_label("Anything we should know? (optional)").fill("First visit")


def booked_expect(page: Page) -> None:
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/booked/[^/]+/"))
