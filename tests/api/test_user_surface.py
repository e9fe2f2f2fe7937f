"""Contract tests of the user surface: status, shape and field names (PRODUCT.md §5)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import signing
from django.test import Client

from apps.accounts.models import Tenant
from apps.bookings.access_tokens import LEGACY_API_SALT, LEGACY_PAGE_SALT
from apps.bookings.models import Booking
from apps.core.tenancy import current_schema
from apps.notifications.links import booking_manage_url
from apps.resources.models import Service
from tests.api.calls import error_of, hold, send_json
from tests.api.factories import ServiceFactory

pytestmark = pytest.mark.django_db

PAGINATION = {"page", "per_page", "total", "total_pages"}
BOOKING_FIELDS = {
    "id",
    "status",
    "hold_expires_at",
    "start",
    "end",
    "resource",
    "service",
    "payment_status",
    "payment_url",
    "amount_paid",
    "amount_refunded",
    "timezone",
    "language",
}


def test_services_list_is_paginated_with_the_contract_fields(anon_client, catalogue):
    ServiceFactory(name="Retired", is_active=False)

    response = anon_client.get("/api/v1/services")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "pagination"}
    assert body["pagination"] == {"page": 1, "per_page": 20, "total": 1, "total_pages": 1}
    (service,) = body["data"]
    assert set(service) >= {
        "id",
        "name",
        "duration_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "capacity",
        "price",
        "currency",
        "resources",
        "min_notice_minutes",
        "horizon_days",
    }
    assert service["price"] == "0.00"
    assert service["resources"] == [str(catalogue.resource.pk)]


def test_resources_list_filters_by_service_and_location(anon_client, catalogue):
    other = ServiceFactory(name="Unrelated")

    response = anon_client.get(f"/api/v1/resources?service={catalogue.service.pk}")
    empty = anon_client.get(f"/api/v1/resources?service={other.pk}")

    assert response.status_code == 200
    (resource,) = response.json()["data"]
    assert resource == {
        "id": str(catalogue.resource.pk),
        "name": "Ada",
        "kind": "person",
        "location": str(catalogue.location.pk),
        "tags": [],
    }
    assert empty.json()["data"] == []
    assert set(empty.json()["pagination"]) == PAGINATION


def test_locations_list_has_name_and_timezone(anon_client, catalogue):
    response = anon_client.get("/api/v1/locations")

    assert response.status_code == 200
    (location,) = response.json()["data"]
    assert location["name"] == "Camden"
    assert location["timezone"] == "Europe/London"
    assert set(location) == {"id", "name", "address", "timezone"}


def test_pagination_caps_per_page_and_pages_past_the_end_are_empty(anon_client, acme):
    for n in range(3):
        ServiceFactory(name=f"Service {n}")

    capped = anon_client.get("/api/v1/services?per_page=5000&page=1")
    second = anon_client.get("/api/v1/services?per_page=2&page=2")
    past = anon_client.get("/api/v1/services?per_page=2&page=9")
    bad = anon_client.get("/api/v1/services?page=0")

    assert capped.json()["pagination"]["per_page"] == 100
    assert second.json()["pagination"] == {
        "page": 2,
        "per_page": 2,
        "total": 3,
        "total_pages": 2,
    }
    assert len(second.json()["data"]) == 1
    assert past.json()["data"] == []
    assert bad.status_code == 400
    assert error_of(bad)["details"][0]["field"] == "page"


def test_slots_answer_the_contract_shape_in_the_asked_zone(anon_client, catalogue):
    day = catalogue.start.astimezone(zoneinfo.ZoneInfo("Europe/London")).date()

    response = anon_client.get(
        f"/api/v1/slots?service={catalogue.service.pk}&resource={catalogue.resource.pk}&date={day}"
    )
    in_tokyo = anon_client.get(
        f"/api/v1/slots?service={catalogue.service.pk}&resource={catalogue.resource.pk}"
        f"&date={day}&tz=Asia/Tokyo"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"slots", "total", "has_more", "timezone"}
    assert body["timezone"] == "Europe/London"
    assert body["total"] == 8
    assert body["has_more"] is False
    first = body["slots"][0]
    assert set(first) == {"id", "start", "end", "resource", "remaining"}
    assert first["id"] == str(catalogue.slots[0].pk)
    assert first["remaining"] == 1
    start = dt.datetime.fromisoformat(first["start"])
    assert start == catalogue.start
    assert dt.datetime.fromisoformat(first["end"]) - start == dt.timedelta(minutes=30)
    # Tokyo's calendar day holds other instants; each start keeps its instant and shows
    # Tokyo's offset.
    for slot in in_tokyo.json()["slots"]:
        assert slot["start"].endswith("+09:00")


def test_slots_honour_the_exposure_variant_header(anon_client, catalogue):
    day = catalogue.start.date()
    url = (
        f"/api/v1/slots?service={catalogue.service.pk}&resource={catalogue.resource.pk}&date={day}"
    )

    curated = anon_client.get(url, HTTP_X_EXPOSURE_VARIANT="curated").json()
    every = anon_client.get(url, HTTP_X_EXPOSURE_VARIANT="all").json()
    bad = anon_client.get(url, HTTP_X_EXPOSURE_VARIANT="most")

    assert 1 <= len(curated["slots"]) <= 3
    assert curated["total"] == 8
    assert curated["has_more"] is True
    assert len(every["slots"]) == 8
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "VALIDATION_ERROR"


def test_slots_need_a_service_and_a_real_date(anon_client, catalogue):
    missing = anon_client.get("/api/v1/slots?date=2026-01-01")
    bad_date = anon_client.get(f"/api/v1/slots?service={catalogue.service.pk}&date=tomorrow")
    unknown = anon_client.get(
        "/api/v1/slots?service=01900000-0000-7000-8000-000000000000&date=2026-01-01"
    )

    assert missing.status_code == 400
    assert {d["field"] for d in error_of(missing)["details"]} == {"service"}
    assert bad_date.status_code == 400
    assert error_of(bad_date)["details"][0]["field"] == "date"
    assert unknown.status_code == 404


def test_dates_count_free_starts_per_day(anon_client, catalogue):
    day = catalogue.start.date()

    response = anon_client.get(
        f"/api/v1/dates?service={catalogue.service.pk}&location={catalogue.location.pk}"
        f"&from={day}&to={day + dt.timedelta(days=1)}"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"dates", "timezone", "display_timezone"}
    assert body["dates"] == [
        {"date": day.isoformat(), "free": 8},
        {"date": (day + dt.timedelta(days=1)).isoformat(), "free": 0},
    ]


def test_booking_hold_answers_201_with_the_contract_fields_and_a_token(anon_client, catalogue):
    response = hold(anon_client, catalogue)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == BOOKING_FIELDS | {"token"}
    assert body["status"] == "held"
    assert body["payment_url"] is None
    assert body["resource"] == str(catalogue.resource.pk)
    assert body["service"] == str(catalogue.service.pk)
    assert dt.datetime.fromisoformat(body["start"]) == catalogue.start
    assert dt.datetime.fromisoformat(body["hold_expires_at"]) > dt.datetime.now(dt.UTC)
    booking = Booking.objects.get(pk=body["id"])
    assert booking.source == Booking.Source.API
    assert booking.customer.email == "jane@example.test"


def test_booking_hold_by_resource_and_start(anon_client, catalogue):
    payload = {
        "service": str(catalogue.service.pk),
        "resource": str(catalogue.resource.pk),
        "start": catalogue.slots[2].starts_at.isoformat(),
        "customer": {"name": "Jo", "email": "jo@example.test"},
    }

    response = send_json(anon_client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="x")

    assert response.status_code == 201
    assert dt.datetime.fromisoformat(response.json()["start"]) == catalogue.slots[2].starts_at


def test_booking_hold_reports_bad_contact_fields_under_customer(anon_client, catalogue):
    payload = {
        "service": str(catalogue.service.pk),
        "slot": str(catalogue.slots[0].pk),
        "customer": {"name": "Jo", "email": "not-an-address", "phone": "12"},
    }

    response = send_json(anon_client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="y")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in error["details"]} == {"customer.email", "customer.phone"}
    assert not Booking.objects.exists()


def test_booking_hold_refuses_a_naive_start(anon_client, catalogue):
    payload = {
        "service": str(catalogue.service.pk),
        "resource": str(catalogue.resource.pk),
        "start": catalogue.start.replace(tzinfo=None).isoformat(),
        "customer": {"name": "Jo", "email": "jo@example.test"},
    }

    response = send_json(anon_client, "post", "/api/v1/bookings", payload, HTTP_IDEMPOTENCY_KEY="z")

    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "start"


def test_booking_hold_of_a_taken_slot_is_409_slot_full(anon_client, catalogue):
    assert hold(anon_client, catalogue, key="first").status_code == 201

    response = hold(anon_client, catalogue, key="second", email="other@example.test")

    assert response.status_code == 409
    assert error_of(response)["code"] == "SLOT_FULL"


def test_booking_token_reads_confirms_and_cancels_its_booking(anon_client, catalogue, acme):
    held = hold(anon_client, catalogue).json()
    url = f"/api/v1/bookings/{held['id']}"
    token = {"HTTP_X_BOOKING_TOKEN": held["token"]}
    acme.cancellation_window_minutes = 0
    acme.save(update_fields=["cancellation_window_minutes"])

    read = anon_client.get(url, **token)
    confirmed = anon_client.post(f"{url}/confirm", **token)
    cancelled = send_json(anon_client, "post", f"{url}/cancel", {"reason": "ill"}, **token)

    assert read.status_code == 200
    assert set(read.json()) == BOOKING_FIELDS
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["hold_expires_at"] is None
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_booking_token_reschedules_to_another_slot(anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    new_slot = catalogue.slots[4]

    response = send_json(
        anon_client,
        "post",
        f"/api/v1/bookings/{held['id']}/reschedule",
        {"slot": str(new_slot.pk)},
        HTTP_X_BOOKING_TOKEN=held["token"],
    )

    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json()["start"]) == new_slot.starts_at
    assert response.json()["status"] == "held"


def test_booking_token_opens_only_its_own_booking(anon_client, catalogue):
    first = hold(anon_client, catalogue, key="a").json()
    second = hold(anon_client, catalogue, key="b", slot=catalogue.slots[3], email="b@b.test").json()

    other = anon_client.get(f"/api/v1/bookings/{second['id']}", HTTP_X_BOOKING_TOKEN=first["token"])
    cancel_other = anon_client.post(
        f"/api/v1/bookings/{second['id']}/cancel", HTTP_X_BOOKING_TOKEN=first["token"]
    )
    forged = anon_client.get(
        f"/api/v1/bookings/{first['id']}", HTTP_X_BOOKING_TOKEN=first["token"][:-2] + "xx"
    )
    without = anon_client.get(f"/api/v1/bookings/{first['id']}")

    assert other.status_code == 404
    assert "Jane" not in other.content.decode()
    assert cancel_other.status_code == 404
    assert Booking.objects.get(pk=second["id"]).status == Booking.Status.HELD
    assert forged.status_code == 401
    assert without.status_code == 401
    assert error_of(without)["code"] == "UNAUTHENTICATED"


def test_confirming_an_elapsed_hold_is_409_hold_expired(anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    Booking.objects.filter(pk=held["id"]).update(
        hold_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )

    response = anon_client.post(
        f"/api/v1/bookings/{held['id']}/confirm", HTTP_X_BOOKING_TOKEN=held["token"]
    )

    assert response.status_code == 409
    assert error_of(response)["code"] == "HOLD_EXPIRED"


def test_staff_keys_reach_bookings_by_role(
    anon_client, frontdesk_client, readonly_client, catalogue
):
    held = hold(anon_client, catalogue).json()
    url = f"/api/v1/bookings/{held['id']}"

    assert readonly_client.get(url).status_code == 200
    refused = readonly_client.post(f"{url}/confirm")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "PERMISSION_DENIED"
    assert frontdesk_client.post(f"{url}/confirm").json()["status"] == "confirmed"


def test_inactive_service_cannot_be_held(anon_client, catalogue):
    Service.objects.filter(pk=catalogue.service.pk).update(is_active=False)

    response = hold(anon_client, catalogue)

    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "service"


def test_unknown_booking_is_404_for_staff(admin_client):
    response = admin_client.get("/api/v1/bookings/01900000-0000-7000-8000-000000000000")

    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_anonymous_client_is_not_confused_by_a_stray_session(catalogue, acme_host):
    # A signed-in person without a membership is anonymous on the API.
    from tests.plugins.factories import UserFactory

    client = Client(HTTP_HOST=acme_host)
    client.force_login(UserFactory())

    assert client.get("/api/v1/services").status_code == 200
    assert client.get("/api/v1/admin/bookings").status_code == 401


def test_a_booking_token_from_before_the_schemes_merged_still_works(anon_client, catalogue):
    # given a hold whose customer kept an API token of the old form
    held = hold(anon_client, catalogue).json()
    legacy = signing.dumps(
        {"b": held["id"], "s": current_schema()}, salt=LEGACY_API_SALT, compress=False
    )

    # when they read the booking with it
    response = anon_client.get(f"/api/v1/bookings/{held['id']}", HTTP_X_BOOKING_TOKEN=legacy)

    # then it answers as with the new token
    assert response.status_code == 200
    assert response.json()["id"] == held["id"]


def test_the_manage_link_token_works_as_an_api_booking_token(anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    link_token = (
        booking_manage_url(
            Booking.objects.get(pk=held["id"]),
            tenant=Tenant.objects.get(schema_name=current_schema()),
        )
        .split("/manage/")[1]
        .strip("/")
    )

    response = anon_client.get(f"/api/v1/bookings/{held['id']}", HTTP_X_BOOKING_TOKEN=link_token)

    assert response.status_code == 200
    assert response.json()["status"] == "held"


def test_an_old_manage_link_token_is_no_api_booking_token(anon_client, catalogue):
    # the API never took the pages' old token (it names no business) and does not start to
    held = hold(anon_client, catalogue).json()
    old_manage_link = signing.dumps(held["id"], salt=LEGACY_PAGE_SALT)

    response = anon_client.get(
        f"/api/v1/bookings/{held['id']}", HTTP_X_BOOKING_TOKEN=old_manage_link
    )

    assert response.status_code == 401
    assert error_of(response)["message"] == "This booking token is not valid for this business."
