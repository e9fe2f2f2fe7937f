"""Every customer booking page passes an axe-core scan (no serious or critical
violations), and the main ones are photographed at desktop and phone sizes into
test-artifacts/ for people to look at."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, ViewportSize, expect

from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking
from tests.booking_site.catalogue import held_booking
from tests.browser.accessibility import assert_accessible
from tests.browser.customer_booking import (
    Shop,
    day_label,
    details_fill,
    month_show,
    shop_fixture,  # noqa: F401 - the `shop` fixture
)
from tests.browser.live import LIVE_DB

pytestmark = [pytest.mark.browser, LIVE_DB]

PAGES = [
    "home",
    "who",
    "month",
    "times",
    "details",
    "details-errors",
    "details-taken",
    "hold",
    "booked",
    "manage",
    "reschedule",
    "reschedule-confirm",
    "cancel",
    "hold-expired",
    "not-found",
]
VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "mobile": {"width": 390, "height": 844},
}


def _walk(page: Page, shop: Shop, visit: Callable[[str], None]) -> None:
    """Goes through every customer page, calling `visit(name)` on each."""
    catalogue = shop.catalogue
    page.goto(shop.base + "/")
    visit("home")
    page.get_by_role("link", name=re.compile("^Consultation")).click()
    expect(page.get_by_role("heading", name="Who would you like to see?")).to_be_visible()
    visit("who")
    page.get_by_role("link", name=re.compile("^Dr Ada")).click()
    month_show(page, catalogue)
    visit("month")
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
    expect(page.locator("a.time").first).to_be_visible()
    visit("times")
    page.locator("a.time").nth(1).click()  # 10:30 in London
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    visit("details")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    visit("details-errors")

    # someone else takes 10:30 meanwhile
    with tenant_context(shop.tenant):
        held_booking(catalogue, hour=10, minute=30)

    details_fill(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Sorry, that time was just taken")).to_be_visible()
    visit("details-taken")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    visit("hold")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    visit("booked")
    page.get_by_role("link", name="manage your booking").click()
    expect(page.get_by_role("heading", name="Your booking", exact=True)).to_be_visible()
    visit("manage")
    page.get_by_role("link", name="Reschedule").click()
    month_show(page, catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
    expect(page.locator("a.time").first).to_be_visible()
    visit("reschedule")
    page.locator("a.time").first.click()
    expect(page.get_by_role("button", name="Move my booking")).to_be_visible()
    visit("reschedule-confirm")
    page.get_by_role("link", name="Pick another time").click()
    expect(page.locator("table.calendar")).to_be_visible()
    page.get_by_role("link", name="← Your booking").click()
    expect(page.get_by_role("heading", name="Your booking", exact=True)).to_be_visible()
    page.get_by_role("link", name="Cancel booking").click()
    expect(page.get_by_role("button", name="Yes, cancel my booking")).to_be_visible()
    visit("cancel")

    with tenant_context(shop.tenant):
        expired = held_booking(catalogue, resource=catalogue.grace, hour=11)
        Booking.objects.filter(pk=expired.pk).update(
            hold_expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
    token = booking_access_token(booking_id=expired.id, schema=shop.tenant.schema_name)
    page.goto(f"{shop.base}/hold/{token}/")
    expect(page.get_by_role("heading", name="Your hold has expired")).to_be_visible()
    visit("hold-expired")
    page.goto(f"{shop.base}/book/not-a-service/")
    visit("not-found")


def test_every_customer_page_passes_the_accessibility_scan(browser: Browser, shop: Shop):
    page = browser.new_context(timezone_id="Europe/London").new_page()
    scanned: list[str] = []

    def scan(name: str) -> None:
        assert_accessible(page)
        scanned.append(name)

    _walk(page, shop, scan)

    assert scanned == PAGES


@pytest.mark.parametrize("size", VIEWPORTS)
def test_customer_pages_screenshots(browser: Browser, shop: Shop, screenshot_dir: Path, size):
    page = browser.new_context(timezone_id="America/New_York", viewport=VIEWPORTS[size]).new_page()
    shots: list[Path] = []

    def photograph(name: str) -> None:
        path = screenshot_dir / f"customer-{name}-{size}.png"
        # caret="initial": hiding the caret would make Playwright add an inline style,
        # which the Content-Security-Policy reports (and the test would fail on)
        page.screenshot(path=str(path), full_page=True, caret="initial")
        shots.append(path)

    _walk(page, shop, photograph)

    assert [path.name for path in shots] == [f"customer-{name}-{size}.png" for name in PAGES]
    assert all(path.stat().st_size > 0 for path in shots)
