"""A customer answers a service's intake questions in a real browser: a missing consent
and a wrong choice come back on their questions with what was typed kept, the page
passes an axe scan with and without errors, and the answers are kept with the hold."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.bookings.models import Booking
from apps.resources.intake import question_create
from apps.resources.models import IntakeQuestion
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

Kind = IntakeQuestion.Kind


def test_customer_answers_the_questions_and_fixes_what_was_refused(page: Page, shop: Shop):
    with tenant_context(shop.tenant):
        service = shop.catalogue.service
        question_create(
            service=service,
            kind=Kind.SINGLE_CHOICE,
            label="Which knee?",
            choices=["Left", "Right"],
            required=True,
            help_text="The one that hurts most.",
        )
        question_create(service=service, kind=Kind.LONG_TEXT, label="Past treatment")
        question_create(
            service=service, kind=Kind.CHECKBOX, label="I agree to the terms", required=True
        )

    page.goto(shop.base + "/")
    page.get_by_role("link", name=re.compile("^Consultation")).click()
    page.get_by_role("link", name=re.compile("^Dr Ada")).click()
    month_show(page, shop.catalogue)
    page.get_by_role("link", name=re.compile(f"^{day_label(shop.catalogue)},")).click()
    page.locator("a.time").first.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    knee = page.get_by_role("group", name="Which knee? (required)")
    expect(knee).to_be_visible()
    assert_accessible(page)

    # leaving the consent unticked
    details_fill(page)
    knee.get_by_label("Right").check()
    page.get_by_label("Past treatment").fill("Physio in 2021")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    consent = page.get_by_label("I agree to the terms")
    expect(consent).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Tick this box to continue.").first).to_be_visible()
    expect(knee.get_by_label("Right")).to_be_checked()
    expect(page.get_by_label("Past treatment")).to_have_value("Physio in 2021")
    assert_accessible(page)

    consent.check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    with tenant_context(shop.tenant):
        booking = Booking.objects.get()
        assert [(a.label, a.value) for a in booking.answers] == [
            ("Which knee?", "Right"),
            ("Past treatment", "Physio in 2021"),
            ("I agree to the terms", True),
        ]
