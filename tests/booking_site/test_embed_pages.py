"""The booking pages under /embed/ (apps/booking_site/embed.py): who may frame them, the
flow without any cookie, and the POSTs' protection in place of the CSRF cookie."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from apps.accounts.embed_origins import tenant_embed_origins_update
from apps.accounts.models import Tenant
from apps.booking_site.embed import FORM_SALT
from apps.booking_site.forms import slot_value
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking
from tests.billing.paying import hold, paid_setting
from tests.booking_site.catalogue import Catalogue

pytestmark = pytest.mark.django_db

HOST = "acme.localhost"
SITE = "https://shop.example.com"
TYPED = {
    "name": "Jane Doe",
    "email": "jane@example.test",
    "phone": "+44 7911 123456",
    "notes": "First visit",
}
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
TOKEN = re.compile(r'name="embed_token" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def _origins_set(tenant: Tenant, *origins: str) -> None:
    tenant.embed_origins = list(origins)
    tenant.save(update_fields=["embed_origins"])


def _policy(response) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _cookieless() -> Client:
    """A browser in a frame on another site with third-party cookies blocked: nothing
    the booking site sets comes back, and CSRF is checked as in production."""
    return Client(HTTP_HOST=HOST, enforce_csrf_checks=True)


def _get(url: str, **headers: str):
    return _cookieless().get(url, headers=headers)


def _post(url: str, data: dict[str, str], **headers: str):
    return _cookieless().post(url, data, headers=headers)


def _details_url(catalogue: Catalogue, *, hour: int = 10) -> str:
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(hour))
    return f"/embed/book/{catalogue.service.pk}/{catalogue.ada.pk}/details/?slot={slot}"


def _form(catalogue: Catalogue, *, hour: int = 10) -> tuple[str, dict[str, str]]:
    """The details page's form action and hidden fields, as a browser would post them."""
    page = _get(_details_url(catalogue, hour=hour))
    assert page.status_code == 200
    body = page.content.decode()
    action = FORM_ACTION.search(body)[1].replace("&amp;", "&")  # type: ignore[index]
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(hour))
    return action, {
        **TYPED,
        "slot": slot,
        "idempotency_key": KEY.search(body)[1],  # type: ignore[index]
        "embed_token": TOKEN.search(body)[1],  # type: ignore[index]
    }


# --- Framing ------------------------------------------------------------------------


def test_embedded_pages_may_be_framed_by_the_listed_sites_only(acme, catalogue):
    # given
    _origins_set(acme, SITE, "https://www.partner.example", "http://localhost:8000")

    # when
    embedded = _get("/embed/")
    page = _get("/")
    dashboard = _get("/accounts/login/")

    # then
    assert embedded.status_code == 200
    assert _policy(embedded)["frame-ancestors"] == [
        SITE,
        "https://www.partner.example",
        "http://localhost:8000",
    ]
    assert _policy(embedded)["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in embedded
    for response in (page, dashboard):
        assert _policy(response)["frame-ancestors"] == ["'none'"]
        assert response["X-Frame-Options"] == "DENY"


def test_embedded_pages_refuse_framing_and_say_why_when_no_site_is_listed(acme, catalogue):
    response = _get("/embed/")

    body = response.content.decode()
    assert response.status_code == 403
    assert "has not listed any website" in body
    assert "Settings → Embed on your website" in body
    assert _policy(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert "data-timenest" not in body and 'href="/embed/book/' not in body


def test_a_frame_on_an_unlisted_site_gets_a_clear_error_it_can_show(acme, catalogue):
    # given
    _origins_set(acme, SITE, "https://www.partner.example")
    frame = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}

    # when
    unlisted = _get("/embed/", Referer="https://evil.example/offers?x=1", **frame)
    listed = _get("/embed/", Referer=f"{SITE}/book-now", **frame)
    second = _get("/embed/", Referer="https://www.partner.example/", **frame)
    other_subdomain = _get("/embed/", Referer="https://shop.partner.example/", **frame)

    # then
    body = unlisted.content.decode()
    assert unlisted.status_code == 403
    assert "https://evil.example is not one of the websites" in body
    # shown in the frame that asked (nothing on it acts), and to no one else
    assert _policy(unlisted)["frame-ancestors"] == ["https://evil.example"]
    assert "no-store" in unlisted["Cache-Control"]  # it depends on who asked
    assert listed.status_code == 200 and second.status_code == 200
    assert other_subdomain.status_code == 403  # each site is listed exactly


def test_every_site_the_settings_save_is_in_the_header(acme, catalogue):
    # given: saved as the settings page saves them
    saved = tenant_embed_origins_update(
        tenant=acme,
        values=[SITE, "http://app.shop.localhost:3000", "http://127.0.0.1:5000"],
    )

    # when
    embedded = _get("/embed/")

    # then: none of them dropped (the header would fall back to 'none')
    assert embedded.status_code == 200
    assert _policy(embedded)["frame-ancestors"] == saved
    assert len(saved) == 3


def test_embedded_links_and_redirects_stay_under_embed(acme, catalogue):
    _origins_set(acme, SITE)
    service, ada = catalogue.service.pk, catalogue.ada.pk

    home = _get("/embed/").content.decode()
    who = _get(f"/embed/book/{service}/").content.decode()
    when = _get(f"/embed/book/{service}/{ada}/?day={catalogue.day.isoformat()}")

    assert f'href="/embed/book/{service}/"' in home
    assert f'href="/embed/book/{service}/{ada}/"' in who
    assert 'href="/embed/"' in who  # "All services" stays in the frame
    assert when.status_code == 200
    assert f"/embed/book/{service}/{ada}/details/?slot=" in when.content.decode()
    # the page without the site's header and staff links
    assert "Staff log in" not in home and 'class="site-header"' not in home
    assert "js/embed_frame.js" in home and f'data-embed-origins="{SITE}"' in home


# --- The flow without cookies -------------------------------------------------------


def test_a_whole_booking_in_the_frame_needs_no_cookie(acme, catalogue):
    # given: a site is listed; every request below is a new client (no cookie kept)
    _origins_set(acme, SITE)
    when_url = f"/embed/book/{catalogue.service.pk}/{catalogue.ada.pk}/"
    when = _get(f"{when_url}?day={catalogue.day.isoformat()}").content.decode()
    details_url = re.search(r'href="(/embed/book/[^"]+/details/\?slot=[^"]+)"', when)[1]
    assert details_url.replace("&amp;", "&") == _details_url(catalogue)
    action, fields = _form(catalogue)

    # when
    held = _post(action, fields, **{"Sec-Fetch-Site": "same-origin"})
    hold_url = held["Location"]
    hold_page = _get(hold_url)
    confirmed = _post(hold_url, {}, Origin=f"http://{HOST}")
    booked = _get(confirmed["Location"])

    # then
    assert held.status_code == 303 and hold_url.startswith("/embed/hold/")
    assert hold_page.status_code == 200
    assert 'action="/embed/hold/' in hold_page.content.decode()
    assert confirmed.status_code == 303 and confirmed["Location"].startswith("/embed/booked/")
    assert booked.status_code == 200 and "You are booked" in booked.content.decode()
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED and booking.contact.name == "Jane Doe"
    # the link to keep leaves the frame (and works without it)
    token = hold_url.split("/")[3]
    assert f'href="http://{HOST}/manage/{token}/" target="_blank"' in booked.content.decode()


def test_outside_the_frame_the_same_post_still_needs_the_csrf_cookie(acme, catalogue):
    _origins_set(acme, SITE)
    _action, fields = _form(catalogue)
    plain = _details_url(catalogue).removeprefix("/embed")

    response = _post(plain, fields)

    assert response.status_code == 403
    assert not Booking.objects.exists()


# --- Bad input ----------------------------------------------------------------------


def test_a_tampered_form_token_holds_nothing_and_keeps_what_was_typed(acme, catalogue):
    _origins_set(acme, SITE)
    action, fields = _form(catalogue)
    _other_action, other_fields = _form(catalogue, hour=11)
    tampered = [
        {**fields, "embed_token": fields["embed_token"][:-2] + "xy"},
        {**fields, "embed_token": ""},
        # a genuine token of another form (another idempotency key)
        {**fields, "embed_token": other_fields["embed_token"]},
    ]

    for data in tampered:
        response = _post(action, data)

        body = response.content.decode()
        assert response.status_code == 403
        assert "This form could not be checked" in body
        assert 'value="Jane Doe"' in body and 'value="jane@example.test"' in body
        # a fresh form to send again
        assert KEY.search(body)[1] != fields["idempotency_key"]
        assert TOKEN.search(body) is not None
    assert not Booking.objects.exists()


def test_a_form_token_of_another_business_or_service_holds_nothing(acme, catalogue):
    _origins_set(acme, SITE)
    action, fields = _form(catalogue)
    claims = {
        "schema": "globex",
        "service": str(catalogue.service.pk),
        "key": fields["idempotency_key"],
    }
    forged = signing.dumps(claims, salt=FORM_SALT)

    response = _post(action, {**fields, "embed_token": forged})

    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_an_expired_form_token_holds_nothing_and_the_form_comes_back(acme, catalogue):
    # given: a form rendered three hours ago
    _origins_set(acme, SITE)
    three_hours_ago = signing.b62_encode(int(time.time()) - 3 * 3600)
    with mock.patch.object(signing.TimestampSigner, "timestamp", return_value=three_hours_ago):
        action, fields = _form(catalogue)

    # when
    response = _post(action, fields)

    # then
    body = response.content.decode()
    assert response.status_code == 403
    assert "This form was open for too long" in body
    assert 'value="Jane Doe"' in body
    assert not Booking.objects.exists()
    # sending the fresh form holds the time
    again = _post(action, {**fields, **_fresh(body)})
    assert again.status_code == 303
    assert Booking.objects.get().status == Booking.Status.HELD


def _fresh(body: str) -> dict[str, str]:
    return {
        "idempotency_key": KEY.search(body)[1],  # type: ignore[index]
        "embed_token": TOKEN.search(body)[1],  # type: ignore[index]
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.acme.localhost"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_an_embedded_post_from_another_site_is_refused(acme, catalogue, headers):
    _origins_set(acme, SITE)
    action, fields = _form(catalogue)

    response = _post(action, fields, **headers)

    assert response.status_code == 403
    assert "nothing was booked" in response.content.decode()
    assert not Booking.objects.exists()


def test_an_unknown_embedded_page_is_a_friendly_404(acme, catalogue):
    _origins_set(acme, SITE)

    response = _get("/embed/book/not-a-service/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert _policy(response)["frame-ancestors"] == [SITE]


# --- Paying ---------------------------------------------------------------------------


def test_stripe_comes_back_to_the_pages_outside_the_frame(acme, stripe_standin):
    # given: a paid hold made in the frame (paying opens Stripe's page in a new tab)
    paid = paid_setting(acme, stripe_standin)
    _origins_set(acme, SITE)
    token = booking_access_token(booking_id=hold(paid).pk)
    page = _get(f"/embed/hold/{token}/").content.decode()
    assert f'action="/embed/hold/{token}/pay/"' in page and 'target="_blank"' in page

    # when
    response = _post(f"/embed/hold/{token}/pay/", {}, **{"Sec-Fetch-Site": "same-origin"})

    # then
    assert response.status_code == 303
    assert response["Location"].startswith(f"{stripe_standin.url}/checkout/")
    session = stripe_standin.object(response["Location"].rsplit("/", 1)[-1])
    assert session["success_url"].split("?")[0] == f"http://{HOST}/booked/{token}/"
    assert session["cancel_url"].split("?")[0] == f"http://{HOST}/hold/{token}/"
