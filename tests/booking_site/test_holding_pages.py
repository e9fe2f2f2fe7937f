"""Details → hold → confirm on the customer booking pages."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.booking_site.forms import slot_value
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking
from tests.booking_site.catalogue import (
    LONDON,
    confirmed_booking,
    generous_rates,
    held_booking,
    policy_set,
)

pytestmark = pytest.mark.django_db

TYPED = {
    "name": "Jane Doe",
    "email": "jane@example.test",
    "phone": "+44 7911 123456",
    "notes": "First visit",
}
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _details_url(catalogue, *, who=None, resource=None, hour=10, minute=0) -> str:
    who = who or str(catalogue.ada.pk)
    slot = slot_value(resource_id=(resource or catalogue.ada).pk, start=catalogue.at(hour, minute))
    return f"/book/{catalogue.service.pk}/{who}/details/?slot={slot}&tz=Europe/London"


def _post(client, url, *, key="form-key-1", slot=None, **fields):
    data = {**TYPED, "idempotency_key": key, "tz": "Europe/London", **fields}
    data["slot"] = slot if slot is not None else url.split("slot=")[1].split("&")[0]
    return client.post(url, data)


# --- Details ------------------------------------------------------------------------


def test_details_page_shows_the_chosen_time_and_a_fresh_form(client, htmx, catalogue):
    url = _details_url(catalogue)

    first = client.get(url)
    second = client.get(url)
    partial = htmx.get(url)

    body = first.content.decode()
    assert first.status_code == 200
    assert "10:00\u201310:30" in body and "Dr Ada" in body and "Camden Clinic" in body
    assert 'for="id_name"' in body and 'for="id_email"' in body and 'for="id_phone"' in body
    assert 'for="id_notes"' in body
    # each rendered form gets its own idempotency key
    assert KEY.search(body)[1] != KEY.search(second.content.decode())[1]
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_details_post_holds_the_time_and_redirects_to_the_hold_page(client, catalogue):
    response = _post(client, _details_url(catalogue))

    booking = Booking.objects.get()
    assert response.status_code == 303
    # the hold page of this booking: the token's claims (its signature carries the
    # second it was made, which may have ticked since)
    assert response["Location"].startswith("/hold/")
    token = response["Location"].split("/")[2]
    assert token.split(":")[0] == booking_access_token(booking_id=booking.id).split(":")[0]
    assert booking.status == Booking.Status.HELD
    assert booking.source == Booking.Source.PAGE
    assert booking.resource == catalogue.ada
    assert booking.starts_at == catalogue.at(10)
    assert booking.customer.email == "jane@example.test"
    assert booking.customer.phone == "+447911123456"
    assert booking.notes == "First visit"


def test_details_post_with_htmx_redirects_the_same_way(htmx, catalogue):
    response = _post(htmx, _details_url(catalogue))

    assert response.status_code == 303
    assert response["Location"].startswith("/hold/")


def test_details_field_errors_keep_what_was_typed(client, catalogue):
    url = _details_url(catalogue)

    response = _post(client, url, email="not-an-email", phone="12", name="  Jane   Doe ")

    body = response.content.decode()
    assert response.status_code == 400
    assert Booking.objects.count() == 0
    assert "Enter a valid email address." in body
    assert "Enter a valid phone number with its country code" in body
    assert 'value="not-an-email"' in body
    assert 'value="12"' in body
    assert "First visit</textarea>" in body
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="id_email_helptext id_email_error"' in body
    assert 'id="id_email_helptext"' in body


def test_details_shows_every_mistake_at_once(client, catalogue):
    response = _post(client, _details_url(catalogue), name="", email="jane@", phone="+1 2")

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_name_error"' in body and "Enter your name." in body
    assert 'id="id_email_error"' in body and 'value="jane@"' in body
    assert 'id="id_phone_error"' in body and 'value="+1 2"' in body
    assert Booking.objects.count() == 0


def test_details_double_submit_books_once(client, catalogue):
    url = _details_url(catalogue)

    first = _post(client, url, key="double-submit")
    second = _post(client, url, key="double-submit")

    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert Booking.objects.count() == 1


def test_details_same_key_with_other_details_asks_to_send_again(client, catalogue):
    url = _details_url(catalogue)
    _post(client, url, key="reused")

    response = _post(client, url, key="reused", name="Someone Else")

    body = response.content.decode()
    assert response.status_code == 409
    assert "already sent with other details" in body
    assert 'value="Someone Else"' in body
    assert KEY.search(body)[1] != "reused"
    assert Booking.objects.count() == 1


def test_details_taken_time_offers_the_nearest_alternatives_keeping_the_details(client, catalogue):
    # given someone else holds Ada's 10:00 and 11:00
    held_booking(catalogue, hour=10)
    held_booking(catalogue, hour=11)
    url = _details_url(catalogue, hour=10)

    response = _post(client, url, name="Late Comer", email="late@example.test")

    body = response.content.decode()
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in body
    assert "That time is no longer available." in body
    assert 'value="Late Comer"' in body and "First visit</textarea>" in body
    offered = re.findall(r'type="radio" name="slot" id="alt-\d+" value="([^"]+)"', body)
    assert offered == [slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10, 30))]
    assert Booking.objects.count() == 2


def test_details_taken_time_for_anyone_offers_the_same_time_with_someone_else(client, catalogue):
    held_booking(catalogue, resource=catalogue.ada, hour=10)
    url = _details_url(catalogue, who="anyone")

    response = _post(client, url, email="other@example.test")

    body = response.content.decode()
    assert response.status_code == 409
    offered = re.findall(r'type="radio" name="slot" id="alt-\d+" value="([^"]+)"', body)
    assert slot_value(resource_id=catalogue.grace.pk, start=catalogue.at(10)) in offered
    assert "with Dr Grace" in body


def test_details_picking_an_alternative_holds_it(client, catalogue):
    held_booking(catalogue, resource=catalogue.ada, hour=10)
    url = _details_url(catalogue)
    alternative = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10, 30))

    response = _post(client, url, slot=alternative, email="other@example.test")

    assert response.status_code == 303
    booking = Booking.objects.get(customer__name="Jane Doe", notes="First visit")
    assert booking.starts_at == catalogue.at(10, 30)


def test_details_posted_without_a_time_asks_to_choose_one(client, catalogue):
    response = _post(client, _details_url(catalogue), slot="")

    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose another time" in body
    assert 'value="Jane Doe"' in body
    assert Booking.objects.count() == 0


def test_details_too_soon_is_explained_with_alternatives(client, tenant, catalogue):
    policy_set(tenant, min_notice_minutes=60 * 24 * 30)

    response = _post(client, _details_url(catalogue))

    body = response.content.decode()
    assert response.status_code == 409
    assert "Sorry, that time cannot be booked" in body
    assert "That time is too soon to book." in body
    assert "There are no free times nearby." in body


@pytest.mark.usefixtures("throttle_counters")
def test_details_post_over_the_rate_limit_is_a_friendly_429_keeping_the_form(
    client, catalogue, settings
):
    settings.REST_FRAMEWORK = generous_rates(anon_booking="1/day")
    url = _details_url(catalogue)
    first = _post(client, url, key="first")

    second = _post(client, url, key="second", name="Jane Again")

    body = second.content.decode()
    assert first.status_code == 303
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0
    assert "Too many tries" in body
    assert 'value="Jane Again"' in body
    assert Booking.objects.count() == 1


# --- Hold and confirm ---------------------------------------------------------------


def test_hold_page_shows_the_hold_end_as_text_and_a_confirm_button(client, htmx, catalogue):
    booking = held_booking(catalogue)
    url = f"/hold/{booking_access_token(booking_id=booking.id)}/"

    full = client.get(url)
    partial = htmx.get(url)

    body = full.content.decode()
    until = booking.hold_expires_at.astimezone(LONDON)
    assert full.status_code == 200
    assert f"We are holding this time for you until <strong>{until:%H:%M}</strong>" in body
    assert f'data-expires-at="{until.isoformat()}"' in body
    assert "Confirm booking" in body and "Let this time go" in body
    assert "j***@e***.test" in body
    assert "jane@example.test" not in body
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_confirming_the_hold_books_and_shows_the_confirmation(client, catalogue):
    booking = held_booking(catalogue)
    token = booking_access_token(booking_id=booking.id)

    response = client.post(f"/hold/{token}/", {"tz": "Europe/London"})
    page = client.get(response["Location"])

    booking.refresh_from_db()
    body = page.content.decode()
    assert response.status_code == 303
    assert response["Location"].startswith(f"/booked/{token}/")
    assert booking.status == Booking.Status.CONFIRMED
    assert page.status_code == 200
    assert "You are booked" in body
    assert f'href="/manage/{token}/booking.ics"' in body
    assert f"http://acme.localhost/manage/{token}/" in body


def test_confirming_twice_keeps_one_confirmed_booking(client, catalogue):
    booking = held_booking(catalogue)
    url = f"/hold/{booking_access_token(booking_id=booking.id)}/"

    first = client.post(url)
    second = client.post(url)

    assert first.status_code == second.status_code == 303
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


def test_an_expired_hold_says_so_and_offers_to_pick_again(client, catalogue):
    booking = held_booking(catalogue)
    Booking.objects.filter(pk=booking.pk).update(
        hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    url = f"/hold/{booking_access_token(booking_id=booking.id)}/"

    shown = client.get(url)
    confirmed = client.post(url)

    for response in (shown, confirmed):
        body = response.content.decode()
        assert "Your hold has expired" in body
        assert f'href="/book/{catalogue.service.pk}/{catalogue.ada.pk}/?day=' in body
    assert confirmed.status_code == 409
    assert Booking.objects.get().status == Booking.Status.EXPIRED


def test_a_paid_service_hold_says_online_payment_is_not_available(client, catalogue):
    catalogue.service.price = Decimal("45.00")
    catalogue.service.currency = "GBP"
    catalogue.service.requires_payment = True
    catalogue.service.save()
    details = client.get(_details_url(catalogue)).content.decode()
    booking = held_booking(catalogue)
    url = f"/hold/{booking_access_token(booking_id=booking.id)}/"

    body = client.get(url).content.decode()
    refused = client.post(url)

    assert "Online payment is not available yet" in details
    assert "Online payment is not available yet" in body
    assert "Confirm booking" not in body
    assert refused.status_code == 409
    assert "confirmed once it is paid" in refused.content.decode()
    assert Booking.objects.get().status == Booking.Status.HELD


def test_letting_the_time_go_frees_it_and_returns_to_the_times(client, catalogue):
    booking = held_booking(catalogue)

    response = client.post(f"/hold/{booking_access_token(booking_id=booking.id)}/release/")
    page = client.get(response["Location"])

    assert response.status_code == 303
    assert response["Location"].startswith(f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/")
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    body = page.content.decode()
    assert "We let that time go." in body
    assert ">10:00<" in body


def test_the_hold_page_of_a_released_hold_says_so(client, catalogue):
    booking = held_booking(catalogue)
    token = booking_access_token(booking_id=booking.id)
    client.post(f"/hold/{token}/release/")

    body = client.get(f"/hold/{token}/").content.decode()

    assert "You let this time go" in body


def test_booked_page_as_htmx_request_is_only_the_partial(htmx, catalogue):
    token = booking_access_token(booking_id=confirmed_booking(catalogue).id)

    response = htmx.get(f"/booked/{token}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "You are booked" in body
    assert f'href="/manage/{token}/booking.ics"' in body


def test_booked_page_of_a_hold_goes_back_to_the_hold(client, catalogue):
    token = booking_access_token(booking_id=held_booking(catalogue).id)

    response = client.get(f"/booked/{token}/")

    assert response.status_code == 303
    assert response["Location"] == f"/hold/{token}/"


def test_add_to_calendar_downloads_the_bookings_event(client, catalogue):
    booking = confirmed_booking(catalogue)
    token = booking_access_token(booking_id=booking.id)

    response = client.get(f"/manage/{token}/booking.ics")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    assert f"UID:{booking.id}@acme.localhost" in body
    local = booking.starts_at.astimezone(LONDON)
    assert f"DTSTART;TZID=Europe/London:{local:%Y%m%dT%H%M%S}" in body
    assert f"/manage/{token}/" in body.replace("\r\n ", "")


def test_add_to_calendar_of_a_hold_is_not_found(client, catalogue):
    token = booking_access_token(booking_id=held_booking(catalogue).id)

    assert client.get(f"/manage/{token}/booking.ics").status_code == 404
