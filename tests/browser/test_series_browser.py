"""A recurring series in a real browser: front desk books a client every week from the
New booking screen, sees the dates on the booking's page and cancels the rest."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from apps.bookings.models import Booking, BookingSeries
from apps.calendars.grid.services import resources_materialize
from apps.resources.models import Location
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.dashboard.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
    local_at,
)
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = [pytest.mark.browser, pytest.mark.slow, LIVE_DB]

PASSWORD = "a-long-password-1"


@pytest.fixture
def clinic(live_tenants: dict[str, Any]) -> Iterator[tuple[str, Tenant, Location]]:
    """A London clinic open every day, its grid built for four weeks."""
    tenant: Tenant = live_tenants["tenants"]["acme"]
    business_tables_truncate(tenant.schema_name)
    with tenant_context(tenant):
        location = LocationFactory.create(name="Harley Street", timezone="Europe/London")
        jones = ResourceFactory.create(name="Dr Jones", location=location)
        ServiceFactory.create(name="Check-up", resources=[jones])
        WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
        resources_materialize(resources=[jones], days=28)
    yield live_tenants["acme"], tenant, location
    business_tables_truncate(tenant.schema_name)


def test_front_desk_books_a_weekly_series_and_cancels_the_rest(
    page: Page, clinic: tuple[str, Tenant, Location], screenshot_dir: Path
):
    base, tenant, location = clinic
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, staff_member(tenant, "frontdesk", PASSWORD), PASSWORD)
    day = local_at(location, days=2, hour=9).date()

    # when front desk books a new client at 09:30 every week, three times
    page.goto(f"{base}/dashboard/bookings/new/?date={day.isoformat()}")
    page.wait_for_load_state("load")
    page.get_by_label("Name", exact=True).fill("Rosalind Franklin")
    page.get_by_label("Email", exact=True).fill("rosalind@example.test")
    page.locator('input[name="customer"][value="new"]').check()
    times = page.get_by_role("group", name=re.compile("^Free times on"))
    with page.expect_response(re.compile(r"/dashboard/bookings/new/times/\?")):
        page.get_by_label("With", exact=True).select_option(label="Dr Jones")
    with page.expect_response(re.compile(r"/dashboard/bookings/new/times/\?")):
        page.get_by_label("Service", exact=True).select_option(label="Check-up")
    expect(times.get_by_label("09:30")).to_be_visible()
    times.get_by_label("09:30").check()
    page.get_by_label("Repeat this booking").check()
    page.get_by_label("How many times in all").fill("3")
    page.screenshot(path=str(screenshot_dir / "series-new.png"), full_page=True)
    page.get_by_role("button", name="Book", exact=True).click()

    # then the three dates are booked and listed on the first one's page
    expect(page.get_by_text("The series is booked and confirmed.")).to_be_visible()
    dates = page.get_by_role("region", name="Repeats every week")
    expect(dates.get_by_role("listitem")).to_have_count(3)
    page.screenshot(path=str(screenshot_dir / "series-booked.png"), full_page=True)

    # when the second date is cancelled with the rest
    dates.get_by_role("link").first.click()
    page.get_by_label("Reason for cancelling").fill("Course finished early")
    page.get_by_label("This booking and the rest of the series").check()
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_text("2 bookings of the series are cancelled.")).to_be_visible()

    with tenant_context(tenant):
        occurrences = BookingSeries.objects.get().occurrences.order_by("starts_at")
        assert [b.status for b in occurrences] == [
            Booking.Status.CONFIRMED,
            Booking.Status.CANCELLED,
            Booking.Status.CANCELLED,
        ]
        local = occurrences[0].starts_at.astimezone(dt.UTC)
        assert local == local_at(location, days=2, hour=9, minute=30).astimezone(dt.UTC)
