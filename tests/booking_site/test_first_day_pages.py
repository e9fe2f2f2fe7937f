"""The customer pages of a business's first day: phone numbers in the business's national
format, and "Anyone available" times labelled with the person they will be booked with."""

from __future__ import annotations

import re

import pytest

from apps.booking_site.forms import slot_value
from apps.bookings.models import Booking
from tests.booking_site.catalogue import held_booking

pytestmark = pytest.mark.django_db

SLOT_LINK = re.compile(
    r'class="time" href="([^"]+)">(\d\d:\d\d)<span class="time-who"> with ([^<]+)</span>'
)


def _details_post(client, catalogue, *, resource, phone: str, who: str | None = None):
    slot = slot_value(resource_id=resource.pk, start=catalogue.at(10))
    url = f"/book/{catalogue.service.pk}/{who or resource.pk}/details/?slot={slot}"
    return client.post(
        url,
        {
            "name": "Jana",
            "email": "jana@example.test",
            "phone": phone,
            "idempotency_key": f"key-{phone}",
            "slot": slot,
        },
    )


def test_details_accept_a_phone_as_written_in_the_locations_country(client, catalogue):
    catalogue.location.country = "DE"
    catalogue.location.save(update_fields=["country"])
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))

    page = client.get(f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/details/?slot={slot}")
    response = _details_post(client, catalogue, resource=catalogue.ada, phone="030 123456")

    assert "For example 030 123456 or +49 30 123456." in page.content.decode()
    assert response.status_code == 303
    assert Booking.objects.get().contact.phone == "+4930123456"


def test_details_refuse_an_invalid_phone_keeping_what_was_typed(client, catalogue):
    catalogue.location.country = "DE"
    catalogue.location.save(update_fields=["country"])

    response = _details_post(client, catalogue, resource=catalogue.ada, phone="030 12")

    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid phone number, e.g. 030 123456 or +49 30 123456." in body
    assert 'value="030 12"' in body
    assert not Booking.objects.exists()


def test_anyone_available_labels_each_time_with_the_person_it_books(client, catalogue):
    # given Dr Ada is taken at 10:00, so "anyone" at 10:00 can only be Dr Grace
    held_booking(catalogue, resource=catalogue.ada, hour=10)

    body = client.get(
        f"/book/{catalogue.service.pk}/anyone/", {"day": catalogue.day.isoformat()}
    ).content.decode()
    shown = {time: (href, name) for href, time, name in SLOT_LINK.findall(body)}

    assert shown["10:00"][1] == "Dr Grace"
    assert {name for _href, name in shown.values()} <= {"Dr Ada", "Dr Grace"}

    # when the customer takes each labelled time, the booking is with the person named
    for time in ("10:00", "10:30"):
        href, name = shown[time]
        details = client.get(href.replace("&amp;", "&"))
        assert f"<dd>{name}</dd>" in details.content.decode()
        slot = re.search(r"slot=([^&\"]+)", href).group(1)
        response = client.post(
            href.replace("&amp;", "&"),
            {
                "name": "Jana",
                "email": f"jana-{time[:2]}{time[3:]}@example.test",
                "idempotency_key": f"anyone-{time}",
                "slot": slot,
            },
        )
        assert response.status_code == 303
        booked = Booking.objects.filter(contact_name="Jana").latest("created_at")
        assert booked.resource.name == name
