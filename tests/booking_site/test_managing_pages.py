"""The signed manage link from the emails: view, cancel and reschedule."""

from __future__ import annotations

import re

import pytest
from django.core import signing

from apps.booking_site.forms import slot_value
from apps.bookings.access_tokens import LEGACY_PAGE_SALT, booking_access_token
from apps.bookings.models import Booking, BookingEvent
from apps.notifications.links import booking_manage_url
from tests.booking_site.catalogue import (
    confirmed_booking,
    generous_rates,
    held_booking,
    policy_set,
)

pytestmark = pytest.mark.django_db


def _manage_path(booking, tenant) -> str:
    """The path of the link the confirmation email carries."""
    url = booking_manage_url(booking, tenant=tenant)
    return url[url.index("/manage/") :]


def test_the_email_link_opens_the_booking_with_its_choices(client, htmx, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)

    full = client.get(path)
    partial = htmx.get(path)

    body = full.content.decode()
    assert full.status_code == 200
    assert "Your booking" in body and "Confirmed" in body
    assert "Consultation" in body and "Dr Ada" in body
    assert f'href="{path}reschedule/"' in body
    assert f'href="{path}cancel/"' in body
    assert f'href="{path}booking.ics"' in body
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_a_zone_the_customer_picked_travels_with_the_links(client, tenant, catalogue):
    path = _manage_path(confirmed_booking(catalogue), tenant)

    body = client.get(path, {"tz": "Asia/Tokyo"}).content.decode()

    assert f'href="{path}reschedule/?tz=Asia/Tokyo"' in body
    assert f'href="{path}cancel/?tz=Asia/Tokyo"' in body


def test_manage_page_inside_the_cancellation_window_says_it_is_too_late(client, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    policy_set(tenant, cancellation_window_minutes=30 * 24 * 60)

    body = client.get(_manage_path(booking, tenant)).content.decode()

    assert "It is too late to change this booking online" in body
    assert "until 30 days before they start" in body
    assert "cancel/" not in body and "reschedule/" not in body


def test_cancel_asks_first_then_cancels(client, htmx, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)

    question = client.get(f"{path}cancel/")
    partial = htmx.get(f"{path}cancel/")
    response = client.post(f"{path}cancel/", {"tz": "Europe/London"})
    after = client.get(response["Location"])

    assert question.status_code == 200
    assert "Yes, cancel my booking" in question.content.decode()
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert response.status_code == 303
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    body = after.content.decode()
    assert "Your booking is cancelled." in body
    assert "Cancelled" in body


def test_cancel_inside_the_window_is_refused_with_a_clear_message(client, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    policy_set(tenant, cancellation_window_minutes=30 * 24 * 60)
    path = _manage_path(booking, tenant)

    question = client.get(f"{path}cancel/").content.decode()
    response = client.post(f"{path}cancel/")

    assert "It is too late to cancel this booking online" in question
    assert "Yes, cancel my booking" not in question
    assert response.status_code == 409
    assert "It is too late to cancel this booking online" in response.content.decode()
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


def test_reschedule_shows_the_month_and_the_days_times(client, htmx, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)

    response = client.get(f"{path}reschedule/", {"day": catalogue.day.isoformat()})
    partial = htmx.get(f"{path}reschedule/", {"day": catalogue.day.isoformat()})

    body = response.content.decode()
    assert response.status_code == 200
    times = re.findall(r'class="time" href="([^"]+)">(\d\d:\d\d)', body)
    assert [label for _, label in times] == ["10:30", "11:00"]  # 10:00 is this booking
    assert times[0][0].startswith(f"{path}reschedule/?slot=")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_reschedule_asks_to_confirm_the_new_time_then_moves(client, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)
    new_slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(11))

    question = client.get(f"{path}reschedule/", {"slot": new_slot, "tz": "Europe/London"})
    response = client.post(f"{path}reschedule/", {"slot": new_slot, "tz": "Europe/London"})
    after = client.get(response["Location"])

    assert "Move to" in question.content.decode()
    assert "11:00" in question.content.decode()
    assert response.status_code == 303
    booking.refresh_from_db()
    assert booking.starts_at == catalogue.at(11)
    assert booking.status == Booking.Status.CONFIRMED
    assert BookingEvent.objects.filter(booking=booking, kind="rescheduled").count() == 1
    assert "Your booking has moved to the new time." in after.content.decode()


def test_reschedule_to_a_taken_time_offers_alternatives_and_changes_nothing(
    client, tenant, catalogue
):
    booking = confirmed_booking(catalogue)
    held_booking(catalogue, hour=11)  # someone holds Ada's 11:00
    path = _manage_path(booking, tenant)
    taken = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(11))

    response = client.post(f"{path}reschedule/", {"slot": taken})

    body = response.content.decode()
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in body
    alternatives = re.findall(r'class="time" href="[^"]+\?slot=([^&"]+)', body)
    assert slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10, 30)) in alternatives
    booking.refresh_from_db()
    assert booking.starts_at == catalogue.at(10)


def test_reschedule_to_another_persons_time_is_not_found(client, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)
    elsewhere = slot_value(resource_id=catalogue.grace.pk, start=catalogue.at(11))

    assert client.get(f"{path}reschedule/", {"slot": elsewhere}).status_code == 404
    assert client.post(f"{path}reschedule/", {"slot": elsewhere}).status_code == 404
    booking.refresh_from_db()
    assert booking.starts_at == catalogue.at(10)


def test_reschedule_inside_the_window_is_refused(client, tenant, catalogue):
    booking = confirmed_booking(catalogue)
    policy_set(tenant, cancellation_window_minutes=30 * 24 * 60)
    path = _manage_path(booking, tenant)
    new_slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(11))

    page = client.get(f"{path}reschedule/").content.decode()
    response = client.post(f"{path}reschedule/", {"slot": new_slot})

    assert "It is too late to move this booking online" in page
    assert response.status_code == 409
    booking.refresh_from_db()
    assert booking.starts_at == catalogue.at(10)


@pytest.mark.usefixtures("throttle_counters")
def test_reschedule_over_the_rate_limit_is_a_friendly_429(client, tenant, catalogue, settings):
    settings.REST_FRAMEWORK = generous_rates(anon_booking="1/day")
    booking = confirmed_booking(catalogue)
    path = _manage_path(booking, tenant)
    client.post(f"{path}reschedule/", {"slot": "garbage"})

    response = client.post(
        f"{path}reschedule/",
        {"slot": slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(11))},
    )

    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()
    booking.refresh_from_db()
    assert booking.starts_at == catalogue.at(10)


def test_manage_page_of_a_live_hold_leads_to_finishing_it(client, tenant, catalogue):
    booking = held_booking(catalogue)
    path = _manage_path(booking, tenant)

    body = client.get(path).content.decode()

    assert "Finish booking" in body
    assert f'href="{path.replace("/manage/", "/hold/")}"' in body


def test_a_manage_link_sent_before_the_token_schemes_merged_still_opens(client, catalogue):
    # given a confirmation email sent with the old manage-link token
    booking = confirmed_booking(catalogue)
    legacy = signing.dumps(str(booking.pk), salt=LEGACY_PAGE_SALT)

    # when the customer follows it
    response = client.get(f"/manage/{legacy}/")

    # then the booking opens as with a new link, its actions under the same link
    body = response.content.decode()
    assert response.status_code == 200
    assert "Your booking" in body and "Confirmed" in body
    assert f'href="/manage/{legacy}/cancel/"' in body


def test_the_api_booking_token_opens_the_manage_page(client, catalogue):
    # one scheme: what the API hands out is what the emails carry
    booking = confirmed_booking(catalogue)

    response = client.get(f"/manage/{booking_access_token(booking_id=booking.pk)}/")

    assert response.status_code == 200
    assert "Your booking" in response.content.decode()
