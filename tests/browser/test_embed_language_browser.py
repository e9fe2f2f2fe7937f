"""The booking flow in German inside a frame on another origin, in Chromium blocking
third-party cookies (the widget's set-up of tests/browser/test_embed_widget_browser.py):
an English-speaking browser, the customer picks Deutsch in the frame, and every page
after it (links, forms, redirects) stays German with no cookie to remember it; the
booking keeps German for its confirmation email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import dateformat, translation
from django_tenants.utils import tenant_context
from playwright.sync_api import BrowserContext, Request, expect

from apps.bookings.models import Booking
from apps.dashboard.embed.views import snippet_html
from apps.notifications.models import Notification
from tests.browser.customer_booking import Shop, shop_fixture  # noqa: F401 - `shop`
from tests.browser.live import LIVE_DB
from tests.browser.test_embed_widget_browser import (  # noqa: F401 - fixtures
    Website,
    blocking_context,
    website,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    LIVE_DB,
    pytest.mark.usefixtures("compiled_catalogues"),
]


def test_customer_books_in_german_in_the_widget_on_another_site_without_cookies(
    blocking_context: BrowserContext,  # noqa: F811 - the imported fixture
    shop: Shop,
    website: Website,  # noqa: F811 - the imported fixture
    content_security_violations: list[str],
):
    # given acme's widget on the business's own site, in an English-speaking browser
    catalogue = shop.catalogue
    shop.tenant.embed_origins = [website.origin]
    shop.tenant.save(update_fields=["embed_origins"])
    snippet = snippet_html(
        base_url=shop.base,
        title="Book with Acme",
        service_id=str(catalogue.service.pk),
        resource_id=str(catalogue.ada.pk),
    )
    website.handler.html = (
        "<!doctype html><html><head><title>Acme</title></head>"
        f"<body><h1>Welcome</h1>{snippet}</body></html>"
    ).encode()
    page = blocking_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    frame_requests: list[Request] = []
    page.on(
        "request",
        lambda r: (
            frame_requests.append(r)
            if r.url.startswith(shop.base) and r.frame != page.main_frame
            else None
        ),
    )
    page.goto(website.origin + "/")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Choose a time")).to_be_visible()

    # when the customer picks Deutsch in the frame
    before_pick = len(frame_requests)
    frame.get_by_role("link", name="Deutsch").click()

    # then the page is German, and stays German through the whole flow
    expect(frame.get_by_role("heading", name="Wählen Sie eine Zeit")).to_be_visible()
    expect(frame.locator("html")).to_have_attribute("lang", "de")
    with translation.override("de"):
        day_name = str(dateformat.format(catalogue.day, "l j F"))
    for _ in range(3):
        if frame.get_by_role("link", name=re.compile(f"^{day_name},")).count():
            break
        heading = frame.locator("#month-heading").inner_text()
        frame.get_by_role("link", name=re.compile("^Nächster Monat")).click()
        expect(frame.locator("#month-heading")).not_to_have_text(heading)
    frame.get_by_role("link", name=re.compile(f"^{day_name},")).click()
    expect(frame.locator("a.time")).to_have_count(3)
    frame.locator("a.time").first.click()
    expect(frame.get_by_role("heading", name="Ihre Angaben")).to_be_visible()
    frame.get_by_label("Ihr Name").fill("Jana Weiß")
    frame.get_by_label("E-Mail", exact=True).fill("jana@example.test")
    frame.get_by_role("button", name="Weiter").click()
    expect(frame.get_by_role("heading", name="Bestätigen Sie Ihre Buchung")).to_be_visible()
    frame.get_by_role("button", name="Buchung bestätigen").click()
    expect(frame.get_by_role("heading", name="Sie sind gebucht")).to_be_visible()

    # and the frame carried the language in its pages' URLs (forms: in their fields),
    # never in a cookie
    assert frame_requests and not [r.url for r in frame_requests if r.header_value("cookie")]
    pages = [
        r.url for r in frame_requests[before_pick:] if r.method == "GET" and "/static/" not in r.url
    ]
    assert len(pages) >= 4 and all("lang=de" in url for url in pages), pages
    assert errors == [] and content_security_violations == []

    # and the booking keeps German: its confirmation email is German
    with tenant_context(shop.tenant):
        booking = Booking.objects.get()
        assert booking.status == Booking.Status.CONFIRMED
        assert booking.language == "de"
        confirmation = Notification.objects.get(
            booking=booking, kind=Notification.Kind.CONFIRMED, channel="email"
        )
        # (sent by the worker's task, run eagerly in tests, once the booking committed)
        assert confirmation.status == Notification.Status.SENT
    [message] = [m for m in mail.outbox if m.to == ["jana@example.test"]]
    assert message.subject.startswith("Gebucht: ")
    assert "Hallo Jana Weiß," in message.body
    assert "Ihre Buchung ist bestätigt" in message.body
