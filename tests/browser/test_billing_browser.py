"""Paying in a real browser on the Stripe stand-in: an admin pays for a plan, and a
customer pays for a held booking; each comes back to a page that already shows the
result (the stand-in's signed webhook reached the live server first)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.accounts.models import Tenant
from apps.billing.connect import account_connect_start, account_refresh
from apps.billing.models import PlanChange, StripeAccount
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, Payment
from apps.bookings.services import CustomerInput, booking_hold
from tests.bookings.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.browser.accessibility import assert_accessible
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member
from tests.plugins.tenant_tables import business_tables_truncate

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
    expect(invoices).to_contain_text("$19.00")
    expect(invoices.get_by_role("link", name="PDF")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=screenshot_dir / "billing-paid.png")
    acme.refresh_from_db()
    assert (acme.plan, acme.status) == ("starter", Tenant.Status.ACTIVE)
    assert PlanChange.objects.filter(tenant=acme, to_plan="starter").count() == 1


def test_a_customer_pays_for_a_held_booking_and_is_booked(
    page: Page, live_tenants: dict[str, Any], stripe_standin, screenshot_dir
):
    # given a business taking payments on its own Stripe account, and a paid hold
    stripe_standin.webhook_add(
        f"{live_tenants['root']}/billing/stripe/connect/webhook/",
        secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        connect=True,
    )
    acme: Tenant = live_tenants["tenants"]["acme"]
    business_tables_truncate(acme.schema_name)
    account_connect_start(
        tenant=acme, email="owner@acme.test", return_url="http://x/", refresh_url="http://x/"
    )
    account = StripeAccount.objects.get(tenant=acme)
    stripe_standin.account_onboard(account.account_id)
    account_refresh(acme)
    with tenant_context(acme):
        location = LocationFactory.create(timezone="Europe/London")
        physio = ResourceFactory.create(name="Sam Okafor", location=location)
        service = ServiceFactory.create(
            name="Physiotherapy consultation",
            price=Decimal("60.00"),
            currency="GBP",
            requires_payment=True,
            resources=[physio],
        )
        slot = slots_create(resource=physio, starts_at=future_start(), count=2)[0]
        booking = booking_hold(
            service=service,
            resource=physio,
            starts_at=slot.starts_at,
            customer=CustomerInput(name="Ann Lee", email="ann@example.com"),
            actor=ActorRef.customer("", label="test"),
        )
        token = booking_access_token(booking_id=booking.pk)

    # when the customer pays on Stripe's page
    page.goto(f"{live_tenants['acme']}/hold/{token}/")
    assert_accessible(page)
    page.get_by_role("button", name="Pay £60.00 now").click()
    page.wait_for_url(f"{stripe_standin.url}/**")
    page.get_by_role("button", name="Pay").click()

    # then they land on the confirmation: booked and paid
    page.wait_for_url(f"**/booked/{token}/**")
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    page.screenshot(path=screenshot_dir / "booking-paid.png")
    with tenant_context(acme):
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CONFIRMED
        assert booking.payment_status == Booking.PaymentStatus.PAID
        assert Payment.objects.get(booking=booking).amount == Decimal("60.00")
        business_tables_truncate(acme.schema_name)
