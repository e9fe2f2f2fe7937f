"""The booking widget on a business's own website, in a real browser: a page on another
origin (127.0.0.1, a small HTTP server of this test) pastes the dashboard's snippet for
acme (acme.localhost, the live server); Chromium blocks third-party cookies; the customer
books inside the frame, which follows its content's height.

Third-party cookies: Chromium 156's preference `profile.cookie_controls_mode` = 1 blocks
them (0 lets the same frame receive the same cookie: tried when this test was written).
The test checks that they really are blocked: a cookie of the booking site that the
browser sends to it on a visit of its own is sent to none of the frame's requests.

Languages: each run follows one `Wording` (the texts the customer clicks and reads);
a language is one more entry in WORDINGS.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import (
    Browser,
    BrowserContext,
    BrowserType,
    ConsoleMessage,
    FrameLocator,
    Request,
    expect,
)

from apps.accounts.models import Membership, Tenant
from apps.bookings.models import Booking
from apps.dashboard.embed.views import snippet_html
from tests.browser.customer_booking import Shop, shop_fixture  # noqa: F401 - `shop`
from tests.browser.live import LIVE_DB
from tests.browser.staff import log_in, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.slow, LIVE_DB]


@dataclass(frozen=True)
class Wording:
    """What the customer reads and clicks in one language."""

    language: str
    choose_time: str
    next_month: str
    your_name: str
    email: str
    continue_: str
    confirm_heading: str
    confirm_button: str
    booked_heading: str


ENGLISH = Wording(
    language="en",
    choose_time="Choose a time",
    next_month="Next month",
    your_name="Your name",
    email="Email",
    continue_="Continue",
    confirm_heading="Confirm your booking",
    confirm_button="Confirm booking",
    booked_heading="You are booked",
)
WORDINGS = [ENGLISH]


class _SitePage(http.server.BaseHTTPRequestHandler):
    """The business's own website: a page holding the snippet (at any path but those of
    `pages`)."""

    html = b""
    pages: dict[str, bytes] = {}

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.pages.get(self.path, self.html))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Website:
    origin: str  # http://127.0.0.1:<port>
    handler: type[_SitePage]


@pytest.fixture
def website() -> Iterator[Website]:
    handler = type("SitePage", (_SitePage,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Website(origin=f"http://127.0.0.1:{server.server_address[1]}", handler=handler)
    server.shutdown()
    server.server_close()


@pytest.fixture
def blocking_context(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    tmp_path: Path,
    content_security_violations: list[str],
) -> Iterator[BrowserContext]:
    """A browser profile that blocks third-party cookies, as a visitor may have set it."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    context = browser_type.launch_persistent_context(str(profile), **browser_type_launch_args)

    def listen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            content_security_violations.append(message.text)

    context.on("console", listen)
    yield context
    context.close()


def _month_show(frame: FrameLocator, day_name: str, wording: Wording) -> None:
    expect(frame.locator("table.calendar")).to_be_visible()
    for _ in range(3):
        if frame.get_by_role("link", name=re.compile(f"^{day_name},")).count():
            return
        heading = frame.locator("#month-heading").inner_text()
        frame.get_by_role("link", name=re.compile(f"^{wording.next_month}")).click()
        expect(frame.locator("#month-heading")).not_to_have_text(heading)
    raise AssertionError("the catalogue's day never showed in the month view")


@pytest.mark.parametrize("wording", WORDINGS, ids=[w.language for w in WORDINGS])
def test_customer_books_in_the_widget_on_another_site_without_cookies(
    blocking_context: BrowserContext,
    shop: Shop,
    website: Website,
    wording: Wording,
    content_security_violations: list[str],
):
    # given: acme lists the website, whose page holds the snippet starting with Dr Ada
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
        f"<!doctype html><html><head><title>Acme's own site</title></head><body>"
        f"<h1>Welcome to Acme</h1>{snippet}<p id='below'>Opening hours</p></body></html>"
    ).encode()
    # the same page, on it, sending no Referer: the booking pages cannot tell who frames
    # them, so only the browser's frame-ancestors check stands in the way
    website.handler.pages = {
        "/quiet": website.handler.html.replace(
            b"<head>", b"<head><meta name='referrer' content='no-referrer'>"
        )
    }
    page = blocking_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    app_requests: list[Request] = []
    page.on("request", lambda r: app_requests.append(r) if r.url.startswith(shop.base) else None)
    # a cookie of the booking site that the browser sends it anywhere it may (SameSite=None),
    # and does send it on a visit of its own
    page.goto(shop.base + "/")
    page.evaluate("document.cookie = 'probe=first-party; SameSite=None; Secure; path=/'")
    visit = page.reload()
    assert visit is not None and "probe=first-party" in (visit.request.header_value("cookie") or "")
    app_requests.clear()

    # when the customer books inside the frame on the website
    page.goto(website.origin + "/")
    iframe = page.get_by_title("Book with Acme")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name=wording.choose_time)).to_be_visible()
    day = catalogue.day
    _month_show(frame, f"{day:%A} {day.day} {day:%B}", wording)
    frame.get_by_role("link", name=re.compile(f"^{day:%A} {day.day} {day:%B},")).click()
    expect(frame.locator("a.time")).to_have_count(3)
    when_height = _frame_height(page)
    expect(iframe).to_have_css("height", f"{when_height}px")
    frame.locator("a.time").first.click()
    frame.get_by_label(wording.your_name).fill("Jane Doe")
    frame.get_by_label(wording.email, exact=True).fill("jane@example.test")
    frame.get_by_role("button", name=wording.continue_).click()
    expect(frame.get_by_role("heading", name=wording.confirm_heading)).to_be_visible()
    frame.get_by_role("button", name=wording.confirm_button).click()

    # then the booking is made, in the frame, on the website's page
    expect(frame.get_by_role("heading", name=wording.booked_heading)).to_be_visible()
    assert page.url == website.origin + "/"
    with tenant_context(shop.tenant):
        booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.resource_id == catalogue.ada.pk
    # the frame took its content's height, on each page
    booked_height = _frame_height(page)
    expect(iframe).to_have_css("height", f"{booked_height}px")
    assert booked_height != when_height and 640 not in (when_height, booked_height)
    # no cookie reached the frame: not the booking site's own, not one it tried to set
    frame_requests = [r for r in app_requests if r.frame != page.main_frame]
    assert len(frame_requests) >= 6
    assert [r.url for r in frame_requests if r.header_value("cookie")] == []
    assert _booking_frame(page).evaluate("document.cookie") == ""
    assert errors == []

    # and a height posted by another window is not heard: the website's own page (its
    # origin), and a window of the booking site's origin that is not the widget's frame
    _heights_heard(page, booked_height, booking_origin=shop.base, from_other_windows=[1234, 4321])
    expect(iframe).to_have_css("height", f"{booked_height}px")
    # (the widget's own frame is heard: the checks above are not vacuous)
    _booking_frame(page).evaluate(
        "window.parent.postMessage({type: 'timenest:height', height: 777}, '*')"
    )
    expect(iframe).to_have_css("height", "777px")

    # and on a site that is not listed the frame does not show the booking pages: the
    # booking site says so when the browser names the site
    unlisted = website.origin.replace("127.0.0.1", "localhost")
    page.goto(unlisted + "/")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("alert")).to_contain_text(f"{unlisted} is not one of the websites")
    expect(frame.get_by_role("heading", name=wording.choose_time)).to_have_count(0)
    # and, when it is not named, the browser refuses the frame (frame-ancestors)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        page.goto(unlisted + "/quiet")
    refused = [v for v in content_security_violations if "frame-ancestors" in v]
    assert len(refused) == 1 and f"frame-ancestors {website.origin}" in refused[0]
    content_security_violations.remove(refused[0])  # expected: the refusal under test
    assert [f.url for f in page.frames if "/embed/" in f.url and f.url.startswith("http")] == []
    expect(frame.get_by_role("heading", name=wording.choose_time)).to_have_count(0)
    assert Tenant.objects.get(pk=shop.tenant.pk).embed_origins == [website.origin]


def _heights_heard(
    page: Any, height: int, *, booking_origin: str, from_other_windows: list[int]
) -> None:
    """Posts each height as the widget's message would be, from another window than the
    widget's frame, and returns once the website's page has received them all (embed.js
    listens first, so it has had each of them by then)."""
    page.evaluate("window.heard = []; window.addEventListener('message', e => heard.push(e.data))")
    first, second = from_other_windows
    # from the website's page itself
    page.evaluate("h => window.postMessage({type: 'timenest:height', height: h}, '*')", first)
    # from a window of the booking site's origin inside the widget's frame
    _booking_frame(page).evaluate("document.body.appendChild(document.createElement('iframe'))")
    inner = page.frame_locator("iframe").frame_locator("iframe").locator("html")
    assert inner.evaluate("() => window.origin") == booking_origin
    inner.evaluate(
        "(_el, h) => window.parent.parent.postMessage({type: 'timenest:height', height: h}, '*')",
        second,
    )
    page.wait_for_function(
        "want => want.every(h => heard.some(d => d && d.height === h))", arg=from_other_windows
    )
    assert page.evaluate("document.querySelector('iframe').style.height") == f"{height}px"


def _booking_frame(page: Any) -> Any:
    frames = [f for f in page.frames if "/embed/" in f.url]
    assert len(frames) == 1, [f.url for f in page.frames]
    return frames[0]


def _frame_height(page: Any) -> int:
    """The height of the booking pages inside the frame, as the frame measures it."""
    return int(
        _booking_frame(page).evaluate(
            "Math.ceil(document.querySelector('[data-embed-root]').getBoundingClientRect().height)"
        )
    )


def test_admin_lists_the_website_and_picks_what_the_snippet_starts_with(
    browser: Browser, shop: Shop
):
    # given an admin on the settings screen
    email = staff_member(shop.tenant, Membership.Role.ADMIN, "a-long-password-1")
    page = browser.new_context().new_page()
    log_in(page, shop.base, email, "a-long-password-1")
    page.goto(shop.base + "/dashboard/settings/")
    page.get_by_role("link", name="Embed on your website").click()
    field = page.get_by_label("Websites that may show your booking pages")

    # when a line is not a website, then it is named and what was typed stays
    field.fill("https://www.acme-clinic.example\nhttps://www.acme-clinic.example/booking")
    page.get_by_role("button", name="Save websites").click()
    expect(page.locator("#id_embed_origins_error")).to_contain_text(
        "https://www.acme-clinic.example/booking: "
    )
    expect(field).to_have_value(
        "https://www.acme-clinic.example\nhttps://www.acme-clinic.example/booking"
    )
    assert Tenant.objects.get(pk=shop.tenant.pk).embed_origins == []

    # when corrected, then it is saved
    field.fill("https://www.acme-clinic.example")
    page.get_by_role("button", name="Save websites").click()
    expect(page.get_by_text("Websites saved.")).to_be_visible()
    assert Tenant.objects.get(pk=shop.tenant.pk).embed_origins == [
        "https://www.acme-clinic.example"
    ]

    # when a service and a person are picked, then the snippet follows (htmx)
    snippet = page.locator("#snippet-code")
    expect(snippet).to_have_value(
        re.compile(r'<div data-timenest="[^"]+/" data-title="[^"]+"></div>')
    )
    page.get_by_label("Start with the service").select_option(label="Consultation")
    expect(snippet).to_have_value(re.compile(f'data-service="{shop.catalogue.service.pk}"'))
    page.get_by_label("With", exact=True).select_option(label="Dr Ada")
    expect(snippet).to_have_value(
        re.compile(
            f'data-service="{shop.catalogue.service.pk}" data-resource="{shop.catalogue.ada.pk}"'
        )
    )
