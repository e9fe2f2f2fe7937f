"""A new business's first day in a browser: signup → the checklist on Today → going live →
the first booking by a customer."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from tests.browser.live import LIVE_DB
from tests.browser.staff import enrol_from_setup_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, LIVE_DB]


def _today(page: Page, base: str) -> None:
    page.goto(base + "/dashboard/")
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()


def test_signup_checklist_go_live_and_a_customers_first_booking(
    browser: Browser, live_tenants, screenshot_dir
):
    root = live_tenants["root"]
    port = root.rsplit(":", 1)[1]
    base = f"http://haarwerk.localhost:{port}"
    page = browser.new_context(timezone_id="Europe/Berlin").new_page()
    try:
        # given someone signing up in Berlin: the zone picker proposes the browser's zone,
        # and its search box narrows the list (the choice follows the first match)
        page.goto(f"{root}/signup/")
        page.get_by_label("Business name").fill("Haarwerk")
        page.get_by_label("Subdomain").fill("haarwerk")
        page.get_by_label("Your email").fill("owner@haarwerk.test")
        page.get_by_label("Password").fill("a-long-enough-password")
        zone = page.get_by_label("Time zone", exact=True)
        expect(zone).to_have_value("Europe/Berlin")
        search = page.get_by_role("searchbox", name="Find a city or region")
        search.fill("sao paulo")
        expect(zone).to_have_value("America/Sao_Paulo")
        shown_groups = (
            "s => [...s.querySelectorAll('optgroup')].filter(g => !g.hidden).map(g => g.label)"
        )
        assert zone.evaluate(shown_groups) == ["America"]
        search.fill("berlin")
        expect(zone).to_have_value("Europe/Berlin")
        page.get_by_role("button", name="Create my business").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

        # when the emailed link is opened and confirmed
        [message] = [m for m in mail.outbox if m.to == ["owner@haarwerk.test"]]
        link = re.search(r"http://\S+/signup/confirm/\S+/", str(message.body))
        assert link is not None, message.body
        page.goto(link.group(0))
        page.get_by_role("button", name="Confirm and open my business").click()

        # then the business's own Today opens, signed in, on the checklist
        page.wait_for_url(base + "/dashboard/")
        checklist = page.locator("section.checklist")
        expect(checklist.get_by_role("heading", name="Set up your booking page")).to_be_visible()
        expect(checklist).to_contain_text("1 of 8 done")
        page.screenshot(path=str(screenshot_dir / "first-day-checklist.png"), full_page=True)
        # going live before the steps are done is refused, saying why
        checklist.get_by_role("button", name="Go live").click()
        expect(page.get_by_text(re.compile("Finish these steps before going live"))).to_be_visible()

        # the location (its zone proposed from the business's, its country from the zone)
        page.get_by_role("link", name="Add your location and its time zone").click()
        page.get_by_label("Name").fill("Mitte")
        expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/Berlin")
        page.get_by_role("button", name=re.compile("^(Add|Save) location")).click()
        expect(page.get_by_text("Location “Mitte” saved.")).to_be_visible()

        # the first person, then the service they deliver
        _today(page, base)
        page.get_by_role("link", name=re.compile("^Add the first person or room")).click()
        page.get_by_label("Name").fill("Anna")
        page.get_by_role("button", name=re.compile("^(Add|Save) resource")).click()
        expect(page.get_by_text("Resource “Anna” saved.")).to_be_visible()
        _today(page, base)
        page.get_by_role("link", name="Add the first service customers book").click()
        page.get_by_label("Name").fill("Haircut")
        page.get_by_label("Duration (minutes)").fill("30")
        page.get_by_label("Anna").check()
        page.get_by_role("button", name=re.compile("^(Add|Save) service")).click()
        expect(page.get_by_text("Service “Haircut” saved.")).to_be_visible()

        # the proposed weekly hours in one click, and no holiday closures
        _today(page, base)
        page.get_by_role(
            "button", name="Open Monday to Friday, 9:00\u201317:00 (Europe/Berlin)"
        ).click()
        expect(page.get_by_text("Mitte is open Monday to Friday")).to_be_visible()
        page.get_by_role("link", name="Choose which public holidays you close on").click()
        expect(page.get_by_role("heading", name="Public holidays")).to_be_visible()
        page.get_by_role("button", name="No closures").click()

        # two-step sign-in, the last required step, then going live
        page.get_by_role("link", name=re.compile("^Set up two-step sign-in")).click()
        enrol_from_setup_page(page)
        page.get_by_role("link", name="I have saved my codes: continue").click()
        page.wait_for_url(base + "/dashboard/")
        page.locator("section.checklist").get_by_role("button", name="Go live").click()
        expect(page.get_by_text("Haarwerk is live: customers can book online.")).to_be_visible()
        expect(page.locator("section.checklist")).to_have_count(0)

        # a customer books the first time offered with anyone available
        customer = browser.new_context(timezone_id="Europe/Berlin").new_page()
        customer.goto(base + "/")
        customer.get_by_role("link", name=re.compile("^Haircut")).click()
        customer.get_by_role("link", name=re.compile("^Anyone available")).click()
        expect(customer.get_by_role("heading", name="Choose a time")).to_be_visible()
        customer.locator("table.calendar a.day").first.click()
        first_time = customer.locator("a.time").first
        expect(first_time).to_contain_text("with Anna")
        first_time.click()
        expect(customer.get_by_role("heading", name="Your details")).to_be_visible()
        customer.get_by_label("Your name").fill("Jana Kunde")
        customer.get_by_label("Email").fill("jana@example.test")
        customer.get_by_label("Phone (optional)").fill("030 123456")
        customer.get_by_role("button", name="Continue").click()
        customer.get_by_role("button", name="Confirm booking").click()
        expect(customer.get_by_role("heading", name="You are booked")).to_be_visible()

        tenant = Tenant.objects.get(slug="haarwerk")
        with tenant_context(tenant):
            booking = Booking.objects.select_related("resource").get()
            assert booking.status == Booking.Status.CONFIRMED
            assert booking.resource.name == "Anna"
            assert booking.contact.phone == "+4930123456"
    finally:
        tenant = Tenant.objects.filter(slug="haarwerk").first()
        if tenant is not None:
            tenant.delete(force_drop=True)
