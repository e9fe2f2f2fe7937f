"""The booking pages in the customer's language: the browser's Accept-Language, the
picker's `lang` carried on through every step (cookies may be kept out, in a frame),
the business's default language, an unknown code refused clearly, and the booking
remembering the language it was made in."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.bookings.models import Booking
from tests.booking_site.catalogue import LONDON

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
TYPED = {"name": "Jana Weiß", "email": "jana@example.test", "phone": "", "notes": ""}


def _details(client, catalogue, **params: str) -> str:
    """The details form's address, as the times of the day link to it."""
    page = client.get(
        f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/", {"day": catalogue.day, **params}
    )
    assert page.status_code == 200, page.status_code
    url = re.findall(r'href="([^"]*/details/\?slot=[^"]+)"', page.content.decode())[0]
    return url.replace("&amp;", "&")


def _slot(url: str) -> str:
    return url.split("slot=")[1].split("&")[0]


def test_services_page_speaks_the_browsers_language(client, catalogue):
    # when a German browser asks for the business's home page
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")

    # then it is in German, says so, and varies by the language asked for
    body = response.content.decode()
    assert response.status_code == 200
    assert "Wählen Sie eine Leistung" in body
    assert '<html lang="de">' in body
    assert response.headers["Content-Language"] == "de"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response.headers["Vary"].split(",")}


def test_a_language_we_do_not_speak_falls_back_to_the_businesss(client, tenant, catalogue):
    # given a business whose default language is German
    tenant.locale = "de"
    tenant.save(update_fields=["locale"])

    # when a browser asks only for Japanese, or for nothing
    japanese = client.get("/", HTTP_ACCEPT_LANGUAGE="ja-JP,ja;q=0.9")
    unasked = client.get("/")

    # then the business's language answers; a browser asking for one of ours gets it
    assert "Wählen Sie eine Leistung" in japanese.content.decode()
    assert "Wählen Sie eine Leistung" in unasked.content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert "Choose a service" in english.content.decode()


def test_picker_offers_each_language_by_its_own_name_keeping_the_page(client, catalogue):
    url = f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/"

    response = client.get(url, {"day": catalogue.day.isoformat(), "tz": LONDON})

    body = response.content.decode()
    picker = re.search(r'<nav class="language-picker".*?</nav>', body, re.S)
    assert picker is not None
    links = dict(re.findall(r'<a href="([^"]+)" lang="(\w+)"', picker.group(0)))
    assert sorted(links.values()) == ["de", "es", "fr"]  # English is the current one
    german = next(href for href, code in links.items() if code == "de").replace("&amp;", "&")
    assert f"day={catalogue.day.isoformat()}" in german and "lang=de" in german
    assert ">Deutsch</a>" in picker.group(0) and ">Français</a>" in picker.group(0)


def test_picked_language_is_carried_through_the_flow_and_kept_by_the_booking(client, catalogue):
    # given an English browser whose customer picked German (no cookies kept, as in a
    # frame on another site)
    client.cookies.clear()
    who = client.get(f"/book/{catalogue.service.pk}/", {"lang": "de"})
    assert "Zu wem möchten Sie?" in who.content.decode()
    # every link onwards carries the pick
    when_url = re.findall(r'href="(/book/[^"]+/[^"]+/\?[^"]*)"', who.content.decode())[0]
    assert "lang=de" in when_url

    # when the customer goes on to the details form and sends it, without cookies
    client.cookies.clear()
    details_url = _details(client, catalogue, lang="de")
    assert "lang=de" in details_url
    client.cookies.clear()
    form = client.get(details_url, HTTP_ACCEPT_LANGUAGE="en")
    body = form.content.decode()
    assert "Ihre Angaben" in body
    key = KEY.search(body)
    assert key is not None
    client.cookies.clear()
    held = client.post(
        details_url,
        {**TYPED, "idempotency_key": key.group(1), "slot": _slot(details_url)},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    # then the hold page is German too, and the booking remembers German
    assert held.status_code == 303
    assert "lang=de" in held["Location"]
    client.cookies.clear()
    hold_page = client.get(held["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "Bestätigen Sie Ihre Buchung" in hold_page.content.decode()
    assert 'name="lang" value="de"' in hold_page.content.decode()
    assert Booking.objects.get().language == "de"


def test_picked_language_is_remembered_in_a_cookie_outside_a_frame(client, catalogue):
    first = client.get("/", {"lang": "de"})
    assert first.cookies["django_language"].value == "de"

    # the next page, without the parameter, stays German
    later = client.get(f"/book/{catalogue.service.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Zu wem möchten Sie?" in later.content.decode()


def test_a_booking_made_without_a_pick_keeps_the_browsers_language(client, catalogue):
    url = _details(client, catalogue)
    form = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    key = KEY.search(form.content.decode())
    assert key is not None

    client.post(
        url,
        {**TYPED, "idempotency_key": key.group(1), "slot": _slot(url)},
        HTTP_ACCEPT_LANGUAGE="de",
    )

    assert Booking.objects.get().language == "de"


@pytest.mark.parametrize("code", ["xx", "de-XX-nonsense", "<script>"])
def test_an_unknown_language_code_is_a_clear_400_naming_ours(client, catalogue, code):
    response = client.get("/", {"lang": code})

    body = response.content.decode()
    assert response.status_code == 400
    assert "Unknown language code." in body
    assert "en, de, fr, es" in body
    assert "<script>" not in body
    # a link to each language we speak, so the customer can go on
    assert "?lang=de" in body
    assert "django_language" not in response.cookies


def test_an_unknown_language_in_a_form_post_writes_nothing(client, catalogue):
    url = _details(client, catalogue)
    key = KEY.search(client.get(url).content.decode())
    assert key is not None

    response = client.post(
        url,
        {**TYPED, "idempotency_key": key.group(1), "slot": _slot(url), "lang": "zz"},
    )

    assert response.status_code == 400
    assert Booking.objects.count() == 0
    # the form comes back with what was typed and why, never a page that loses it
    body = response.content.decode()
    assert 'value="Jana Weiß"' in body and 'value="jana@example.test"' in body
    assert "“zz” is not a language we speak" in body
    assert 'name="lang"' not in body  # the bad code is not carried on

    # and sent again without it, it holds the time
    again = client.post(url, {**TYPED, "idempotency_key": key.group(1), "slot": _slot(url)})
    assert again.status_code == 303
    assert Booking.objects.count() == 1


def test_a_page_answered_before_the_language_is_chosen_never_speaks_the_last_requests(
    client, catalogue
):
    # given a German request this thread has just answered
    assert "Wählen Sie eine Leistung" in client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    # when the next one is for an address no business uses (answered by the tenant
    # routing, before the request's language is chosen)
    response = Client(HTTP_HOST="no-such-business.localhost").get("/")

    # then it is not in the previous request's German
    assert response.status_code == 404
    assert "We couldn\u2019t find that booking page" in response.content.decode()


def test_confirm_and_cancel_sent_with_an_unknown_language_change_nothing(client, catalogue):
    # given a held time
    url = _details(client, catalogue)
    key = KEY.search(client.get(url).content.decode())
    assert key is not None
    held = client.post(url, {**TYPED, "idempotency_key": key.group(1), "slot": _slot(url)})
    token = held["Location"].split("/hold/")[1].split("/")[0]

    # when its confirmation and its cancellation are sent with a code we do not speak
    confirm = client.post(f"/hold/{token}/", {"lang": "zz"})
    cancel = client.post(f"/manage/{token}/cancel/", {"lang": "zz"})

    # then each page comes back saying why, and the booking is still only held
    for response in (confirm, cancel):
        assert response.status_code == 400
        assert "“zz” is not a language we speak" in response.content.decode()
    assert Booking.objects.get().status == Booking.Status.HELD

    # and sent again without it, the confirmation goes through
    assert client.post(f"/hold/{token}/").status_code == 303
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED

    # and a move to another time sent with the unknown code moves nothing
    moved = client.post(f"/manage/{token}/reschedule/", {"slot": _slot(url), "lang": "zz"})
    assert moved.status_code == 400
    assert "“zz” is not a language we speak" in moved.content.decode()
    assert Booking.objects.get().starts_at == booking.starts_at
