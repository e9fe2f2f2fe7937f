"""An admin pays for a plan in a real browser: the billing page, the Stripe stand-in's
Checkout page, back to the billing page on the new plan (the stand-in's signed webhook
reached the live server first)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from apps.billing.models import PlanChange
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member

pytestmark = [pytest.mark.browser, LIVE_DB]
PASSWORD = "correct horse battery staple"


def test_an_admin_pays_for_starter_and_comes_back_to_it(
    page: Page, live_tenants: dict[str, Any], stripe_standin, screenshot_dir
):
    # given an admin of a business on trial, and Stripe sending its events to the server
    stripe_standin.webhook_add(
        f"{live_tenants['root']}/billing/stripe/webhook/", secret=settings.STRIPE_WEBHOOK_SECRET
    )
    acme: Tenant = live_tenants["tenants"]["acme"]
    email = staff_member(acme, "admin", PASSWORD)
    log_in(page, live_tenants["acme"], email, PASSWORD)

    # when they open billing and pay for Starter on Stripe's page
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Plan and billing")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Pay for Starter").click()
    page.wait_for_url(f"{stripe_standin.url}/**")
    page.screenshot(path=screenshot_dir / "billing-checkout.png")
    page.get_by_role("button", name="Pay").click()

    # then they are back on billing, on Starter, with its first invoice
    page.wait_for_url("**/dashboard/billing/?paid=1")
    expect(page.locator(".lead-line")).to_contain_text("Starter plan")
    expect(page.locator(".lead-line .badge")).to_have_text("Active")
    invoices = page.get_by_role("region", name="Invoices")
    expect(invoices).to_contain_text("19.00 USD")
    expect(invoices.get_by_role("link", name="PDF")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "billing-paid.png")
    acme.refresh_from_db()
    assert (acme.plan, acme.status) == ("starter", Tenant.Status.ACTIVE)
    assert PlanChange.objects.filter(tenant=acme, to_plan="starter").count() == 1
