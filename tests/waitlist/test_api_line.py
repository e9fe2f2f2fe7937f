"""The line over the API: `GET /api/v1/waitlist` (filters, pages, line order),
`GET /api/v1/waitlist/{id}` and `DELETE /api/v1/waitlist/{id}` with the bookings
endpoints' roles, contact shown as theirs show a customer, refusals in the one error
envelope; and a second join of one person for overlapping times is 409."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel
from apps.waitlist.models import WaitlistEntry, WaitlistOffer
from apps.waitlist.services import waitlist_entry_move, waitlist_offers_make
from tests.api.calls import error_of, key_client, rates, send_json
from tests.bookings.factories import CUSTOMER
from tests.dashboard.screens import HOST
from tests.waitlist.factories import full_time, wait_in_line

URL = "/api/v1/waitlist"
UNKNOWN = "01900000-0000-7000-8000-000000000000"


@pytest.fixture
def api(acme, settings) -> Client:
    settings.REST_FRAMEWORK = rates()
    return Client(HTTP_HOST=HOST)


@pytest.fixture
def reader(api) -> Client:
    return key_client(HOST, "readonly")


@pytest.fixture
def desk(api) -> Client:
    return key_client(HOST, "frontdesk")


def test_the_line_is_listed_in_its_order_with_the_contact_as_bookings_show_it(reader):
    # given three waiting for a full time, the last moved to the front
    full = full_time()
    ann, bob, cat = wait_in_line(full, "ann", "bob", "cat")
    waitlist_entry_move(entry=cat, direction="up")
    waitlist_entry_move(entry=cat, direction="up")

    response = reader.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(cat.pk), str(ann.pk), str(bob.pk)]
    assert body["pagination"]["total"] == 3
    first = body["data"][1]
    assert first["customer"] == {
        "id": str(ann.customer_id),
        "name": "Customer ann",
        "email": "customerann@example.test",
        "phone": "",
    }
    assert first["status"] == "waiting" and first["offer"] is None
    assert first["answers"] == []


def test_the_line_is_filtered_and_paginated(reader):
    # given people waiting for two services' full times, on two different days
    early = full_time(days=3, tag="early")
    late = full_time(days=5, tag="late")
    [ann] = wait_in_line(early, "ann")
    bob, cat = wait_in_line(late, "bob", "cat")
    late_day = late.starts_at.astimezone(ZoneInfo("Europe/London")).date()

    def ids(**params) -> list[str]:
        response = reader.get(URL, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["data"]]

    assert ids(service=str(early.service.pk)) == [str(ann.pk)]
    assert ids(resource=str(late.resource.pk)) == [str(bob.pk), str(cat.pk)]
    assert ids(date=late_day.isoformat()) == [str(bob.pk), str(cat.pk)]
    assert ids(date=(late_day + timedelta(days=1)).isoformat()) == []
    assert ids(per_page="1", page="2") == [str(bob.pk)]


def test_bad_filters_are_400_in_the_envelope(reader):
    response = reader.get(URL, {"service": "nope", "date": "31-12-2026", "page": "0"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert {detail["field"] for detail in error["details"]} >= {"service", "date"}


def test_an_entry_is_read_with_its_live_offer(reader):
    full = full_time()
    [entry] = wait_in_line(full, "ann")
    booking_cancel(booking=full.bookings[0], actor=CUSTOMER)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()

    response = reader.get(f"{URL}/{entry.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "offered"
    assert body["offer"]["id"] == str(offer.pk)
    assert body["offer"]["booking"] == str(offer.booking_id)


def test_an_unknown_entry_is_404_in_the_envelope(reader, desk):
    for client, method in ((reader, "get"), (desk, "delete")):
        response = getattr(client, method)(f"{URL}/{UNKNOWN}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "NOT_FOUND"


def test_the_line_is_staffs_to_read_and_front_desk_takes_people_off(api, reader):
    full = full_time()
    [entry] = wait_in_line(full, "ann")

    # anyone may join, but not read the line or take anyone off it
    assert api.get(URL).status_code == 401
    assert api.get(f"{URL}/{entry.pk}").status_code == 401
    assert api.delete(f"{URL}/{entry.pk}").status_code == 401
    # a read-only key reads but does not remove
    refused = reader.delete(f"{URL}/{entry.pk}")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "PERMISSION_DENIED"
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.WAITING


def test_removing_takes_the_entry_off_the_line_as_staff_do(desk):
    # given the first of two waiting holds an offer, and the second waits
    full = full_time()
    first, second = wait_in_line(full, "ann", "bob")
    booking_cancel(booking=full.bookings[0], actor=CUSTOMER)
    waitlist_offers_make()
    offer = WaitlistOffer.objects.get()

    # when both are taken off the line (one twice)
    for entry in (first, second, second):
        response = desk.delete(f"{URL}/{entry.pk}", headers={"Idempotency-Key": f"rm-{entry.pk}"})
        assert response.status_code == 204

    # then neither waits; the live offer's hold stays the customer's until it lapses
    assert set(WaitlistEntry.objects.values_list("status", flat=True)) == {"removed"}
    assert desk.get(URL).json()["data"] == []
    assert Booking.objects.get(pk=offer.booking_id).status == Booking.Status.HELD


def test_joining_again_for_overlapping_times_is_409_in_the_envelope(api):
    full = full_time(count=2)
    body = {
        "service": str(full.service.pk),
        "resource": str(full.resource.pk),
        "earliest": full.slots[0].starts_at.isoformat(),
        "latest": full.slots[1].starts_at.isoformat(),
        "customer": {"name": "Ann Waiting", "email": "ann@example.test"},
    }
    first = send_json(api, "post", URL, body)
    same = send_json(api, "post", URL, body)
    overlapping = send_json(api, "post", URL, {**body, "earliest": body["latest"]})

    assert first.status_code == same.status_code == 201
    assert same.json()["id"] == first.json()["id"]
    assert overlapping.status_code == 409
    error = error_of(overlapping)
    assert error["code"] == "WAITLIST_ALREADY_WAITING"
    assert error["message"] == "Already on the waitlist for some of these times."
    assert WaitlistEntry.objects.count() == 1


def test_a_longer_line_is_read_in_the_same_number_of_queries(reader):
    full = full_time()
    wait_in_line(full, "ann", "bob")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(URL).status_code == 200
        return len(captured)

    queries()  # (the key's first use is noted once)
    short = queries()
    wait_in_line(full, "cat", "dan", "eve", "fay")
    assert queries() == short


def test_more_live_offers_are_read_in_the_same_number_of_queries(reader):
    # given six waiting for a full time of six places, two of them offered a place
    full = full_time(capacity=6)
    wait_in_line(full, "ann", "bob", "cat", "dan", "eve", "fay")
    for booking in full.bookings[:2]:
        booking_cancel(booking=booking, actor=CUSTOMER)
    assert waitlist_offers_make() == 2

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = reader.get(URL)
            assert response.status_code == 200
        assert sum(row["offer"] is not None for row in response.json()["data"]) == offered
        return len(captured)

    offered = 2
    queries()  # (the key's first use is noted once)
    short = queries()

    # when two more are offered, the line is read in as many queries
    for booking in full.bookings[2:4]:
        booking_cancel(booking=booking, actor=CUSTOMER)
    assert waitlist_offers_make() == 2
    offered = 4
    assert queries() == short
