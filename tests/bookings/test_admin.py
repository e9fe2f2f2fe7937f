"""Bookings and customers in the tenant's admin: found by hashed contact data, masked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_hold
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.plugins.factories import verified_staff_client


@pytest.fixture
def support(acme, acme_host):
    return verified_staff_client(acme_host)


@pytest.fixture
def bookings(acme):
    resource = ResourceFactory(name="Room Alpha")
    service = ServiceFactory(resources=[resource], capacity=2)
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    people = [
        CustomerInput(name="Grace Hopper", email="grace.hopper@navy.example", phone="+12125550100"),
        CustomerInput(name="Alan Turing", email="alan@bletchley.example"),
    ]
    return [
        booking_hold(
            service=service, resource=resource, starts_at=start, customer=person, actor=CUSTOMER
        )
        for person in people
    ]


def test_booking_admin_list_shows_contact_data_masked(support, bookings):
    response = support.get("/admin/bookings/booking/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "g***@n***.example" in html
    assert "+1********00" in html
    assert "grace.hopper@navy.example" not in html
    assert "2125550100" not in html


@pytest.mark.parametrize("query", ["GRACE.HOPPER@navy.example ", "+1 212 555 0100"])
def test_booking_admin_search_by_email_or_phone_matches_the_hash(support, bookings, query):
    response = support.get("/admin/bookings/booking/", {"q": query})

    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert [booking.pk for booking in found] == [bookings[0].pk]


def test_booking_admin_filters_by_status_and_resource(support, bookings):
    resource_id = bookings[0].resource_id

    response = support.get(
        "/admin/bookings/booking/", {"status__exact": "held", "resource__id__exact": resource_id}
    )

    assert {b.pk for b in response.context["cl"].result_list} == {b.pk for b in bookings}
    response = support.get("/admin/bookings/booking/", {"status__exact": "confirmed"})
    assert list(response.context["cl"].result_list) == []


def test_booking_admin_filters_by_date(support, bookings):
    day = bookings[0].starts_at.date()
    on_the_day = {
        "starts_at__gte": day.isoformat(),
        "starts_at__lt": (day + timedelta(days=1)).isoformat(),
    }
    the_day_before = {
        "starts_at__gte": (day - timedelta(days=1)).isoformat(),
        "starts_at__lt": day.isoformat(),
    }

    shown = support.get("/admin/bookings/booking/", on_the_day).context["cl"].result_list
    none = support.get("/admin/bookings/booking/", the_day_before).context["cl"].result_list

    assert {b.pk for b in shown} == {b.pk for b in bookings}
    assert list(none) == []


def test_booking_admin_page_shows_read_only_history_and_edits_only_notes(support, bookings):
    booking = bookings[0]
    url = f"/admin/bookings/booking/{booking.pk}/change/"

    page = support.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "g***@n***.example" in html and "grace.hopper@" not in html
    assert "Held" in html  # the history inline

    # what the browser posts back: the notes and the (read-only) history's management form
    form = {
        "notes": "Wheelchair access",
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "1",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "0",
        "events-0-id": booking.events.get().pk,
        "events-0-booking": booking.pk,
    }
    response = support.post(url, form)

    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.notes, booking.status) == ("Wheelchair access", Booking.Status.HELD)
    assert booking.events.count() == 1


def test_customer_admin_search_by_email_and_masking(support, bookings):
    response = support.get("/admin/bookings/customer/", {"q": "alan@bletchley.example"})

    assert [c.name for c in response.context["cl"].result_list] == ["Alan Turing"]
    assert "a***@b***.example" in response.content.decode()
