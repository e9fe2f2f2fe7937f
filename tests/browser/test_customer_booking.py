"""A customer books in a real browser: end to end with htmx, racing another customer
for the last place, from the keyboard only, without JavaScript, and later changes the
booking from the link in the email."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, expect

from apps.bookings.models import Booking
from tests.booking_site.catalogue import SLOT_HOURS
from tests.browser.customer_booking import (
    Shop,
    booked_expect,
    day_label,
    details_fill,
    month_show,
    shop_fixture,  # noqa: F401 - the `shop` fixture
)
from tests.browser.live import LIVE_DB

pytestmark = [pytest.mark.browser, LIVE_DB]


def _bookings(shop: Shop) -> list[Booking]:
    with tenant_context(shop.tenant):
        return list(Booking.objects.select_related("resource").order_by("created_at"))


def test_customer_books_end_to_end_and_sees_the_confirmation(browser: Browser, shop: Shop):
    # given a customer in New York (the business is in London)
    context = browser.new_context(timezone_id="America/New_York", accept_downloads=True)
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("response", lambda r: script_errors.append(r.url) if r.status >= 400 else None)
    catalogue = shop.catalogue
    new_york = ZoneInfo("America/New_York")
    expected_times = [f"{catalogue.at(h, m).astimezone(new_york):%H:%M}" for h, m in SLOT_HOURS]

    # when they go through the steps
    page.goto(shop.base + "/")
    expect(page.get_by_role("heading", name="Acme Clinic", level=1)).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name=re.compile("^Consultation")).click()
    expect(page.get_by_role("heading", name="Consultation", level=1)).to_be_focused()
    page.get_by_role("link", name=re.compile("^Dr Ada")).click()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    month_show(page, catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()

    # then the times are in their zone, the business's zone is named, and the update
    # was announced and focused
    times = page.locator("a.time")
    expect(times).to_have_count(3)
    assert [text.strip() for text in times.all_inner_texts()] == expected_times
    expect(page.get_by_text("The business is in Europe/London")).to_be_visible()
    expect(page.locator("#times-heading")).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(re.compile("3 free times on"))
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in place by htmx

    times.first.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    # the browser's back button returns to the times, and forward again
    page.go_back()
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    expect(page.locator("a.time")).to_have_count(3)
    page.go_forward()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    details_fill(page)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+:\d\d left$"))
    expect(page).to_have_url(re.compile(r"/hold/[^/]+/"))
    page.get_by_role("button", name="Confirm booking").click()

    booked_expect(page)
    assert page.evaluate("window.stillTheSamePage") is True
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    ics = download.value.path().read_text()
    assert "BEGIN:VEVENT" in ics and "DTSTART;TZID=Europe/London" in ics

    [booking] = _bookings(shop)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.starts_at == catalogue.at(10)
    assert booking.resource == catalogue.ada
    assert script_errors == []
    context.close()


def test_two_customers_race_for_the_last_place_and_the_loser_gets_alternatives(
    browser: Browser, shop: Shop
):
    catalogue = shop.catalogue
    first = browser.new_context(timezone_id="Europe/London").new_page()
    second = browser.new_context(timezone_id="Europe/London").new_page()
    for page, name in ((first, "Ann First"), (second, "Bob Second")):
        page.goto(f"{shop.base}/book/{catalogue.service.pk}/{catalogue.ada.pk}/")
        month_show(page, catalogue)
        page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
        page.locator("a.time", has_text="10:00").click()
        details_fill(page, name=name, email=f"{name.split()[0].lower()}@example.test")

    first.get_by_role("button", name="Continue").click()
    expect(first.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    second.get_by_role("button", name="Continue").click()

    expect(second.get_by_role("heading", name="Sorry, that time was just taken")).to_be_visible()
    expect(second.get_by_label("Your name")).to_have_value("Bob Second")
    alternatives = second.get_by_role("group", name="Choose another time").get_by_role("radio")
    expect(alternatives.first).to_be_visible()
    second.get_by_label(re.compile("10:30")).check()
    second.get_by_role("button", name="Continue").click()
    expect(second.get_by_role("heading", name="Confirm your booking")).to_be_visible()

    holds = {(b.customer_id, b.starts_at) for b in _bookings(shop)}
    assert len(holds) == 2
    assert {start for _, start in holds} == {catalogue.at(10), catalogue.at(10, 30)}


def _tab_to(page: Page, name: str | re.Pattern[str], *, limit: int = 80) -> None:
    """Presses Tab until the focused element's text or label matches `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el) return "";
                const byFor = el.id ? document.querySelector(`label[for="${el.id}"]`) : null;
                return (el.getAttribute("aria-label") || (byFor && byFor.textContent)
                        || el.textContent || el.value || "").trim();
            }"""
        )
        if name.search(label) if isinstance(name, re.Pattern) else label == name:
            focus_ring = page.evaluate(
                """() => { const s = getComputedStyle(document.activeElement);
                          return s.boxShadow !== "none" || s.outlineStyle !== "none"; }"""
            )
            assert focus_ring, f"no visible focus on {label!r}"
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_keyboard_only_booking(browser: Browser, shop: Shop):
    catalogue = shop.catalogue
    page = browser.new_context(timezone_id="Europe/London").new_page()
    page.goto(shop.base + "/")

    _tab_to(page, re.compile("^Consultation"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Consultation", level=1)).to_be_focused()
    _tab_to(page, re.compile("^Anyone available"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Choose a time")).to_be_focused()
    for _ in range(3):
        if page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).count():
            break
        month = page.locator("#month-heading").inner_text()
        _tab_to(page, re.compile("^Next month"))
        page.keyboard.press("Enter")
        # (htmx swaps the month in: look for the day, and Tab on, only once it is there)
        expect(page.locator("#month-heading")).not_to_have_text(month)
        expect(page.get_by_role("heading", name="Choose a time")).to_be_focused()
    _tab_to(page, re.compile(f"^{day_label(catalogue)},"))
    page.keyboard.press("Enter")
    expect(page.locator("#times-heading")).to_be_focused()
    _tab_to(page, re.compile("^10:00"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your details")).to_be_focused()
    _tab_to(page, "Your name")
    page.keyboard.type("Kim Keys")
    _tab_to(page, "Email")
    page.keyboard.type("kim@example.test")
    _tab_to(page, "Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_focused()
    _tab_to(page, "Confirm booking")
    page.keyboard.press("Enter")

    booked_expect(page)
    expect(page.get_by_role("heading", name="You are booked")).to_be_focused()
    [booking] = _bookings(shop)
    assert booking.status == Booking.Status.CONFIRMED


def test_the_same_booking_works_with_javascript_disabled(browser: Browser, shop: Shop):
    catalogue = shop.catalogue
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = context.new_page()

    page.goto(shop.base + "/")
    page.get_by_role("link", name=re.compile("^Consultation")).click()
    page.get_by_role("link", name=re.compile("^Dr Grace")).click()
    month_show(page, catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
    # no script detects the zone: the business's zone is shown, and can be changed
    expect(page.get_by_label("Times are shown in")).to_have_value("Europe/London")
    expect(page.locator("a.time")).to_have_text(["10:00", "10:30", "11:00"])
    page.get_by_label("Times are shown in").select_option("America/New_York")
    page.get_by_role("button", name="Change time zone").click()
    expect(page.get_by_text("The business is in Europe/London")).to_be_visible()
    new_york = ZoneInfo("America/New_York")
    page.locator("a.time").first.click()

    page.get_by_role("button", name="Continue").click()  # empty form: errors, nothing lost
    expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    details_fill(page, name="Nora Script")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    until = page.locator(".hold-timer strong").inner_text()
    assert re.fullmatch(r"\d\d:\d\d", until)
    page.get_by_role("button", name="Confirm booking").click()

    booked_expect(page)
    ten_in_new_york = f"{catalogue.at(10).astimezone(new_york):%H:%M}"
    expect(page.get_by_text(f"at {ten_in_new_york}.")).to_be_visible()
    [booking] = _bookings(shop)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.resource == catalogue.grace
    context.close()


def test_cancel_and_reschedule_from_the_manage_link(browser: Browser, shop: Shop):
    catalogue = shop.catalogue
    booking = shop.confirmed(hour=10)
    page = browser.new_context(timezone_id="Europe/London").new_page()

    page.goto(shop.manage_url(booking))
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    page.get_by_role("link", name="Reschedule").click()
    month_show(page, catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(catalogue)},")).click()
    page.locator("a.time", has_text="11:00").click()
    expect(page.get_by_role("heading", name=re.compile("^Move to"))).to_be_focused()
    page.get_by_role("button", name="Move my booking").click()
    expect(page.get_by_text("Your booking has moved to the new time.")).to_be_visible()
    expect(page.get_by_text(re.compile("11:00"))).not_to_have_count(0)

    page.get_by_role("link", name="Cancel booking").click()
    page.get_by_role("button", name="Yes, cancel my booking").click()
    expect(page.get_by_text("Your booking is cancelled.")).to_be_visible()
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()

    [after] = _bookings(shop)
    assert after.status == Booking.Status.CANCELLED
    assert after.starts_at == catalogue.at(11)


def test_a_visitor_arriving_on_a_times_link_sees_their_own_zone(browser: Browser, shop: Shop):
    catalogue = shop.catalogue
    page = browser.new_context(timezone_id="Asia/Tokyo").new_page()
    tokyo = ZoneInfo("Asia/Tokyo")
    day = catalogue.at(10).astimezone(tokyo).date()

    page.goto(f"{shop.base}/book/{catalogue.service.pk}/{catalogue.ada.pk}/?day={day}")

    expect(page.get_by_label("Times are shown in")).to_have_value("Asia/Tokyo")
    expected = [f"{catalogue.at(h, m).astimezone(tokyo):%H:%M}" for h, m in SLOT_HOURS]
    expect(page.locator("a.time")).to_have_text(expected)
