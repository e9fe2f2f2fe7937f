from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from tests.browser.live import LIVE_DB

pytestmark = [pytest.mark.browser, LIVE_DB]


def test_business_signs_up_in_a_browser_and_reaches_its_page(
    page: Page, live_tenants, screenshot_dir
):
    root = live_tenants["root"]
    try:
        page.goto(f"{root}/signup/")
        page.get_by_label("Business name").fill("Paws & Claws Grooming")
        page.get_by_label("Subdomain").fill("www")
        page.get_by_label("Your email").fill("groomer@paws.test")
        page.get_by_label("Password").fill("a-long-enough-password")
        page.get_by_label("Time zone").select_option("America/Sao_Paulo")
        page.get_by_role("button", name="Create my business").click()

        # a reserved subdomain is refused and what was typed is kept
        expect(page.get_by_text("“www” is reserved")).to_be_visible()
        expect(page.get_by_label("Business name")).to_have_value("Paws & Claws Grooming")
        page.screenshot(path=str(screenshot_dir / "signup-error.png"), full_page=True)

        page.get_by_label("Subdomain").fill("paws-claws")
        page.get_by_role("button", name="Create my business").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        expect(page.get_by_text("We sent a link to groomer@paws.test")).to_be_visible()

        # the emailed link confirms the address and opens the business
        [message] = [m for m in mail.outbox if m.to == ["groomer@paws.test"]]
        link = re.search(r"http://\S+/signup/confirm/\S+/", str(message.body))
        assert link is not None, message.body
        page.goto(link.group(0))
        page.get_by_role("button", name="Confirm and open my business").click()
        # it opens the business's own dashboard, signed in, on the first-day checklist
        expect(page.get_by_role("heading", name="Set up your booking page")).to_be_visible()
        expect(page).to_have_url(re.compile(r"^http://paws-claws\.localhost:\d+/dashboard/$"))

        # and its booking page says it opens soon (not "nothing can be booked")
        page.goto(page.url.replace("/dashboard/", "/"))
        expect(page.get_by_role("heading", name="Opening soon")).to_be_visible()
    finally:
        tenant = Tenant.objects.filter(slug="paws-claws").first()
        if tenant is not None:
            tenant.delete(force_drop=True)
