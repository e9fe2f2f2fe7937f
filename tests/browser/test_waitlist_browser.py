"""A waitlist offer accepted from the email link, in a real browser: a customer finds
the day full and joins the waitlist; a booking is cancelled; the offer's email arrives
with its link; the customer opens it and takes the place."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel, booking_confirm
from apps.waitlist.models import WaitlistEntry, WaitlistOffer
from tests.booking_site.catalogue import SLOT_HOURS, held_booking
from tests.browser.customer_booking import (
    Shop,
    booked_expect,
    shop_fixture,  # noqa: F401 - the `shop` fixture
)
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member

pytestmark = [pytest.mark.browser, LIVE_DB]

CUSTOMER = ActorRef.customer("", label="booking page")


def test_a_waitlist_offer_accepted_from_the_email_link(page: Page, shop: Shop):
    # given Dr Ada's day is full
    catalogue = shop.catalogue
    with tenant_context(shop.tenant):
        bookings = [
            booking_confirm(
                booking=held_booking(catalogue, resource=catalogue.ada, hour=hour, minute=minute),
                actor=CUSTOMER,
            )
            for hour, minute in SLOT_HOURS
        ]
    day = catalogue.day.isoformat()

    # when a customer, finding no free time that day, joins the waitlist from the times
    page.goto(f"{shop.base}/book/{catalogue.service.pk}/{catalogue.ada.pk}/?day={day}")
    page.get_by_role("link", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="Join the waitlist")).to_be_visible()
    expect(page.get_by_label("Day")).to_have_value(day)
    page.get_by_label("Name").fill("Wanda Waiting")
    page.get_by_label("Email").fill("wanda@example.test")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", name="You are on the waitlist")).to_be_visible()

    # and a place frees: the first booking is cancelled
    mail.outbox.clear()
    with tenant_context(shop.tenant):
        assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.WAITING
        booking_cancel(booking=bookings[0], actor=CUSTOMER)
        offer = WaitlistOffer.objects.get()

    # then the offer's email carries a link that takes the place in one click
    [message] = [m for m in mail.outbox if m.to == ["wanda@example.test"]]
    assert "A place is free" in message.subject
    link = re.search(r"https?://\S+/waitlist/offer/\S+/", str(message.body))
    assert link is not None
    page.goto(shop.base + urlsplit(link.group(0)).path)
    expect(page.get_by_role("heading", name="A place is free for you")).to_be_visible()
    page.get_by_role("button", name="Take this place").click()
    booked_expect(page)
    with tenant_context(shop.tenant):
        assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.CONFIRMED
        assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.BOOKED


PASSWORD = "a-long-password-1"


def test_front_desk_adds_a_caller_to_the_waitlist(page: Page, shop: Shop):
    # given Dr Ada's day is full, and a caller wants a place that day
    catalogue = shop.catalogue
    with tenant_context(shop.tenant):
        for hour, minute in SLOT_HOURS:
            booking_confirm(
                booking=held_booking(catalogue, resource=catalogue.ada, hour=hour, minute=minute),
                actor=CUSTOMER,
            )
    log_in(page, shop.base, staff_member(shop.tenant, "frontdesk", PASSWORD), PASSWORD)

    # when front desk fills in the waitlist screen's add form for a new customer
    page.goto(f"{shop.base}/dashboard/waitlist/")
    form = page.get_by_role("region", name="Add someone to the waitlist")
    form.locator('input[name="customer"][value="new"]').check()
    form.get_by_label("Name", exact=True).fill("Carl Caller")
    form.get_by_label("Email", exact=True).fill("carl@example.test")
    form.get_by_label("Service", exact=True).select_option(label=catalogue.service.name)
    form.get_by_label("With", exact=True).select_option(label=catalogue.ada.name)
    form.get_by_label("Day", exact=True).fill(catalogue.day.isoformat())
    form.get_by_role("button", name="Add to the waitlist").click()

    # then the line shows them, and they wait for that day with Dr Ada
    expect(page.get_by_text("Added to the waitlist.")).to_be_visible()
    expect(page.get_by_text("Carl Caller")).to_be_visible()
    with tenant_context(shop.tenant):
        entry = WaitlistEntry.objects.get()
        assert (entry.contact_name, entry.resource_id) == ("Carl Caller", catalogue.ada.pk)
        assert entry.created_by_type == "staff"
