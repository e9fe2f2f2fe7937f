"""A recurring series in a real browser: front desk books a client every week from the
New booking screen, sees the dates on the booking's page and cancels the rest; a
customer holds a weekly series on the booking pages and confirms every date."""

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
from tests.booking_site.catalogue import slots_add
from tests.browser.customer_booking import (
    Shop,
    booked_expect,
    day_label,
    details_fill,
    month_show,
    shop_fixture,  # noqa: F401 - the `shop` fixture
)
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


def test_a_customer_holds_a_weekly_series_and_confirms_every_date(
    browser: Any, shop: Shop, screenshot_dir: Path
):
    # given a service customers may repeat, free at 10:00 on its day and the week after
    catalogue = shop.catalogue
    with tenant_context(shop.tenant):
        catalogue.service.customers_may_repeat = True
        catalogue.service.save(update_fields=["customers_may_repeat"])
        later = catalogue.at(10, day=catalogue.day + dt.timedelta(weeks=1))
        slots_add(catalogue, catalogue.ada, later)
    page = browser.new_context(timezone_id="Europe/London").new_page()

    # when a customer picks 10:00, ticks Repeat for two weeks and continues
    page.goto(shop.base + "/")
    page.get_by_role("link", name=re.compile(f"^{catalogue.service.name}")).click()
    page.get_by_role("link", name=re.compile("^Dr Ada")).click()
    month_show(page, catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
    page.locator("a.time", has_text="10:00").click()
    details_fill(page)
    page.get_by_label("Book this every week or few weeks").check()
    page.get_by_label("Every how many weeks").fill("1")
    page.get_by_label("How many times in all").fill("2")
    page.get_by_role("button", name="Continue").click()

    # then both dates are held and listed on the confirm page, nothing booked yet
    expect(page.get_by_role("heading", name="We are holding all 2 dates for you")).to_be_visible()
    dates = page.locator("section.series li")
    expect(dates).to_have_count(2)
    page.screenshot(path=str(screenshot_dir / "series-customer-hold.png"), full_page=True)
    with tenant_context(shop.tenant):
        assert set(Booking.objects.values_list("status", flat=True)) == {Booking.Status.HELD}

    # and confirming books them all
    page.get_by_role("button", name="Confirm all 2 dates").click()
    booked_expect(page)
    with tenant_context(shop.tenant):
        series = BookingSeries.objects.get()
        statuses = set(series.occurrences.values_list("status", flat=True))
    assert statuses == {Booking.Status.CONFIRMED}
