"""A GDPR request in a real browser: an admin goes from a booking to its customer,
downloads their data, and erases them after reading what will happen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from apps.bookings.models import Booking, Customer
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    booking_made,
    local_at,
)
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = [pytest.mark.browser, LIVE_DB]

PASSWORD = "a-long-password-1"


@pytest.fixture
def booked(live_tenants: dict[str, Any]) -> Iterator[tuple[str, Tenant, Booking]]:
    tenant: Tenant = live_tenants["tenants"]["acme"]
    business_tables_truncate(tenant.schema_name)
    with tenant_context(tenant):
        location = LocationFactory.create(name="Harley Street", timezone="Europe/London")
        smith = ResourceFactory.create(name="Dr Smith", location=location)
        service = ServiceFactory.create(name="Check-up", resources=[smith])
        booking = booking_made(
            service=service,
            resource=smith,
            starts_at=local_at(location, days=3, hour=10),
            name="Grace Hopper",
            email="grace@example.test",
        )
    yield live_tenants["acme"], tenant, booking
    business_tables_truncate(tenant.schema_name)


def test_an_admin_exports_and_erases_a_customer(
    page: Page, booked: tuple[str, Tenant, Booking], screenshot_dir: Path
):
    base, tenant, booking = booked
    log_in(page, base, staff_member(tenant, "admin", PASSWORD), PASSWORD)

    # given the booking's page, the admin opens its customer
    page.goto(f"{base}/dashboard/bookings/{booking.pk}/")
    page.get_by_role("link", name="Customer's data (export, erase)").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(screenshot_dir / "customer-page.png"), full_page=True)

    # when they download the data
    with page.expect_download() as download:
        page.get_by_role("link", name="Export data (JSON)").click()
    document = json.loads(Path(download.value.path()).read_text())
    assert document["customer"]["email"] == "grace@example.test"

    # and erase the customer, having read what will happen
    page.get_by_role("link", name="Erase customer").click()
    expect(page.get_by_text("1 booking still to come will be cancelled")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Reason").fill("Request ticket 12")
    page.get_by_role("button", name="Erase customer").click()
    expect(page.get_by_text("Tick the box to confirm.")).to_be_visible()
    page.get_by_label("I understand that this cannot be undone").check()
    page.screenshot(path=str(screenshot_dir / "customer-erase.png"), full_page=True)
    page.get_by_role("button", name="Erase customer").click()

    # then the page shows the pseudonym, and the booking is cancelled
    expect(page.get_by_text("The customer's data is erased")).to_be_visible()
    expect(page.get_by_role("heading", name="Erased customer")).to_be_visible()
    expect(page.get_by_text("grace@example.test")).to_have_count(0)
    with tenant_context(tenant):
        assert Customer.objects.get(pk=booking.customer_id).erased_at is not None
        assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CANCELLED
