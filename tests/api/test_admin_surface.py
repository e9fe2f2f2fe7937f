"""Contract tests of the admin surface (/api/v1/admin/): CRUD of the catalogue and the
opening hours, slot generation, bookings, API keys — and who may do what."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from apps.api.models import ApiKey
from apps.bookings.models import Booking
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.resources.models import Location, Resource, Service
from tests.api.calls import error_of, hold, key_client, send_json
from tests.api.factories import LocationFactory, ResourceFactory

pytestmark = pytest.mark.django_db


# --- Locations ---------------------------------------------------------------------


def test_admin_locations_create_read_update_list(admin_client):
    created = send_json(
        admin_client,
        "post",
        "/api/v1/admin/locations",
        {"name": "Soho", "timezone": "Europe/London", "address": "1 Dean St"},
    )
    location_id = created.json()["id"]
    read = admin_client.get(f"/api/v1/admin/locations/{location_id}")
    updated = send_json(
        admin_client,
        "patch",
        f"/api/v1/admin/locations/{location_id}",
        {"name": "Soho West"},
    )
    listed = admin_client.get("/api/v1/admin/locations")

    assert created.status_code == 201
    assert created.json() == {
        "id": location_id,
        "name": "Soho",
        "address": "1 Dean St",
        "timezone": "Europe/London",
    }
    assert read.status_code == 200
    assert updated.status_code == 200
    assert updated.json()["name"] == "Soho West"
    assert updated.json()["timezone"] == "Europe/London"
    assert listed.json()["pagination"]["total"] == 1


def test_admin_locations_delete_only_a_location_no_resource_was_at(admin_client):
    # given two locations, one with opening hours only, one with a (deactivated) resource
    empty = send_json(
        admin_client, "post", "/api/v1/admin/locations", {"name": "Pop-up", "timezone": "UTC"}
    ).json()["id"]
    hours = send_json(
        admin_client,
        "post",
        "/api/v1/admin/availability-rules",
        {
            "location": empty,
            "kind": "weekly",
            "days_of_week": [1],
            "start_time": "09:00",
            "end_time": "12:00",
        },
    )
    used = send_json(
        admin_client, "post", "/api/v1/admin/locations", {"name": "Main", "timezone": "UTC"}
    ).json()["id"]
    resource = send_json(
        admin_client, "post", "/api/v1/admin/resources", {"name": "Ada", "location": used}
    ).json()["id"]
    admin_client.delete(f"/api/v1/admin/resources/{resource}")

    assert hours.status_code == 201
    assert AvailabilityRule.objects.filter(location_id=empty).exists()

    # when both are deleted
    gone = admin_client.delete(f"/api/v1/admin/locations/{empty}")
    kept = admin_client.delete(f"/api/v1/admin/locations/{used}")

    # then the empty one goes with its hours; the one that had a resource stays (409)
    assert gone.status_code == 204
    assert admin_client.get(f"/api/v1/admin/locations/{empty}").status_code == 404
    assert not AvailabilityRule.objects.filter(location_id=empty).exists()
    assert kept.status_code == 409
    assert error_of(kept)["code"] == "LOCATION_IN_USE"
    assert admin_client.get(f"/api/v1/admin/locations/{used}").status_code == 200


def test_admin_location_with_a_bad_timezone_is_400_with_the_field(admin_client):
    response = send_json(
        admin_client, "post", "/api/v1/admin/locations", {"name": "X", "timezone": "Mars/Base"}
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in error["details"]] == ["timezone"]
    assert not Location.objects.exists()


# --- Resources ---------------------------------------------------------------------


def test_admin_resources_crud_and_delete_deactivates(admin_client, acme):
    location = LocationFactory()

    created = send_json(
        admin_client,
        "post",
        "/api/v1/admin/resources",
        {"name": "Room 1", "kind": "asset", "location": str(location.pk), "tags": ["quiet"]},
    )
    resource_id = created.json()["id"]
    patched = send_json(
        admin_client, "patch", f"/api/v1/admin/resources/{resource_id}", {"tags": ["a", "b"]}
    )
    deleted = admin_client.delete(f"/api/v1/admin/resources/{resource_id}")
    read = admin_client.get(f"/api/v1/admin/resources/{resource_id}")
    public = admin_client.get("/api/v1/resources")
    admin_list = admin_client.get(f"/api/v1/admin/resources?location={location.pk}")

    assert created.status_code == 201
    assert created.json() == {
        "id": resource_id,
        "name": "Room 1",
        "kind": "asset",
        "location": str(location.pk),
        "tags": ["quiet"],
        "is_active": True,
        "user": None,
    }
    assert patched.json()["tags"] == ["a", "b"]
    assert deleted.status_code == 204
    assert read.json()["is_active"] is False
    assert public.json()["data"] == []
    assert [r["id"] for r in admin_list.json()["data"]] == [resource_id]
    assert admin_list.json()["data"][0]["is_active"] is False
    assert Resource.objects.filter(pk=resource_id).exists()


def test_admin_resource_naming_an_unknown_location_is_400(admin_client):
    response = send_json(
        admin_client,
        "post",
        "/api/v1/admin/resources",
        {"name": "Room", "location": "01900000-0000-7000-8000-000000000000"},
    )

    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "location"


# --- Services ----------------------------------------------------------------------


def test_admin_services_create_with_the_contract_fields(admin_client, acme):
    resource = ResourceFactory()
    payload = {
        "name": "Massage",
        "duration_minutes": 45,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "capacity": 1,
        "price": "45.00",
        "currency": "USD",
        "resources": [str(resource.pk)],
        "min_notice_minutes": 120,
        "horizon_days": 30,
    }

    created = send_json(admin_client, "post", "/api/v1/admin/services", payload)

    assert created.status_code == 201
    body = created.json()
    for field, value in payload.items():
        assert body[field] == value, field
    assert body["is_active"] is True
    service_id = body["id"]
    patched = send_json(
        admin_client, "patch", f"/api/v1/admin/services/{service_id}", {"price": "50"}
    )
    assert patched.json()["price"] == "50.00"
    assert admin_client.delete(f"/api/v1/admin/services/{service_id}").status_code == 204
    assert Service.objects.get(pk=service_id).is_active is False
    assert admin_client.get(f"/api/v1/admin/services/{service_id}").status_code == 200
    listed = admin_client.get("/api/v1/admin/services").json()
    assert [(s["id"], s["is_active"]) for s in listed["data"]] == [(service_id, False)]
    assert admin_client.get("/api/v1/services").json()["data"] == []


def test_admin_service_validation_lists_every_bad_field(admin_client):
    response = send_json(
        admin_client,
        "post",
        "/api/v1/admin/services",
        {"name": "", "duration_minutes": 0, "currency": "XYZ", "price": "-1"},
    )

    assert response.status_code == 400
    fields = {d["field"] for d in error_of(response)["details"]}
    assert {"name", "duration_minutes", "price"} <= fields


# --- Availability rules and slot generation ----------------------------------------


def test_admin_availability_rules_crud(admin_client, acme):
    resource = ResourceFactory()

    created = send_json(
        admin_client,
        "post",
        "/api/v1/admin/availability-rules",
        {
            "resource": str(resource.pk),
            "kind": "weekly",
            "days_of_week": [1, 2, 3, 4, 5],
            "start_time": "09:00",
            "end_time": "17:00",
            "granularity_minutes": 30,
        },
    )
    rule_id = created.json()["id"]
    patched = send_json(
        admin_client,
        "patch",
        f"/api/v1/admin/availability-rules/{rule_id}",
        {"end_time": "24:00"},
    )
    listed = admin_client.get(f"/api/v1/admin/availability-rules?resource={resource.pk}")
    read = admin_client.get(f"/api/v1/admin/availability-rules/{rule_id}")
    deleted = admin_client.delete(f"/api/v1/admin/availability-rules/{rule_id}")

    assert created.status_code == 201
    assert created.json() == {
        "id": rule_id,
        "kind": "weekly",
        "resource": str(resource.pk),
        "location": None,
        "days_of_week": [1, 2, 3, 4, 5],
        "start_time": "09:00",
        "end_time": "17:00",
        "valid_from": None,
        "valid_to": None,
        "granularity_minutes": 30,
        "capacity": None,
        "is_closed": False,
    }
    assert patched.json()["end_time"] == "24:00"
    assert read.json() == patched.json()
    assert [r["id"] for r in listed.json()["data"]] == [rule_id]
    assert deleted.status_code == 204
    assert not AvailabilityRule.objects.filter(pk=rule_id).exists()


def test_admin_closure_exception_for_a_location(admin_client, acme):
    location = LocationFactory()

    response = send_json(
        admin_client,
        "post",
        "/api/v1/admin/availability-rules",
        {
            "location": str(location.pk),
            "kind": "exception",
            "valid_from": "2026-12-25",
            "is_closed": True,
        },
    )

    assert response.status_code == 201
    assert response.json()["valid_to"] == "2026-12-25"
    assert response.json()["start_time"] is None


def _open_every_day(*, hours: int) -> Resource:
    """A resource open every day from 09:00 for `hours` hours, one slot an hour."""
    resource = ResourceFactory.create()
    AvailabilityRule.objects.create(
        resource=resource,
        kind="weekly",
        days_of_week=[1, 2, 3, 4, 5, 6, 7],
        start_minute=9 * 60,
        end_minute=(9 + hours) * 60,
        granularity_minutes=60,
    )
    return resource


def test_admin_slots_generate_counts_and_is_idempotent(admin_client, acme):
    resource = _open_every_day(hours=3)
    first_day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    payload = {"from": first_day.isoformat(), "to": (first_day + dt.timedelta(days=1)).isoformat()}

    first = send_json(admin_client, "post", "/api/v1/admin/slots/generate", payload)
    again = send_json(admin_client, "post", "/api/v1/admin/slots/generate", payload)
    backwards = send_json(
        admin_client,
        "post",
        "/api/v1/admin/slots/generate",
        {"from": payload["to"], "to": payload["from"]},
    )

    assert first.status_code == 200
    assert first.json() == {"created": 6, "kept": 0, "removed": 0, "blocked": 0}
    assert again.json() == {"created": 0, "kept": 6, "removed": 0, "blocked": 0}
    assert SlotInstance.objects.filter(resource=resource).count() == 6
    assert backwards.status_code == 400
    assert error_of(backwards)["details"][0]["field"] == "to"


def test_admin_slots_generate_stops_at_the_booking_horizon(admin_client, acme):
    # given a resource open every day and the business's 90-day horizon
    resource = _open_every_day(hours=1)
    acme.horizon_days = 90
    acme.save(update_fields=["horizon_days"])
    today = dt.datetime.now(zoneinfo.ZoneInfo(acme.timezone)).date()
    limit = today + dt.timedelta(days=90)

    # when a range reaching one day past it is asked for, and then one ending on it
    beyond = send_json(
        admin_client,
        "post",
        "/api/v1/admin/slots/generate",
        {
            "from": (limit - dt.timedelta(days=1)).isoformat(),
            "to": (limit + dt.timedelta(days=1)).isoformat(),
        },
    )
    up_to = send_json(
        admin_client,
        "post",
        "/api/v1/admin/slots/generate",
        {"from": (limit - dt.timedelta(days=1)).isoformat(), "to": limit.isoformat()},
    )

    # then the first is refused, naming the last date allowed, and builds nothing
    assert beyond.status_code == 422
    error = error_of(beyond)
    assert error["code"] == "BEYOND_HORIZON"
    assert limit.isoformat() in error["message"]
    assert error["details"][0]["field"] == "to"
    assert limit.isoformat() in error["details"][0]["message"]
    assert up_to.status_code == 200
    assert up_to.json()["created"] == 2
    assert SlotInstance.objects.filter(resource=resource).count() == 2


# --- Bookings ----------------------------------------------------------------------


def test_admin_bookings_list_filters_and_shows_the_customer(admin_client, anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    hold(anon_client, catalogue, key="k2", slot=catalogue.slots[3], email="zed@example.test")
    day = catalogue.start.date()

    everything = admin_client.get("/api/v1/admin/bookings")
    by_email = admin_client.get("/api/v1/admin/bookings?customer_email=JANE@example.test")
    by_status = admin_client.get("/api/v1/admin/bookings?status=confirmed")
    by_scope = admin_client.get(
        f"/api/v1/admin/bookings?resource={catalogue.resource.pk}"
        f"&service={catalogue.service.pk}&from={day}&to={day}&per_page=1"
    )
    before = admin_client.get(f"/api/v1/admin/bookings?to={day - dt.timedelta(days=1)}")

    assert everything.status_code == 200
    assert everything.json()["pagination"]["total"] == 2
    (only,) = by_email.json()["data"]
    assert only["id"] == held["id"]
    assert only["customer"]["email"] == "jane@example.test"
    assert only["customer"]["phone"] == "+447911123456"
    assert {"source", "notes", "sequence", "created_at"} <= set(only)
    assert by_status.json()["data"] == []
    assert by_scope.json()["pagination"] == {
        "page": 1,
        "per_page": 1,
        "total": 2,
        "total_pages": 2,
    }
    assert before.json()["data"] == []


def test_admin_booking_patch_changes_status_or_time(admin_client, anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    url = f"/api/v1/admin/bookings/{held['id']}"

    moved = send_json(admin_client, "patch", url, {"slot": str(catalogue.slots[5].pk)})
    confirmed = send_json(admin_client, "patch", url, {"status": "confirmed"})
    both = send_json(
        admin_client, "patch", url, {"status": "cancelled", "slot": str(catalogue.slots[1].pk)}
    )
    nothing = send_json(admin_client, "patch", url, {})
    # Only a staff member may override the cancellation window, not an API key.
    override = send_json(
        admin_client,
        "patch",
        url,
        {"status": "cancelled", "reason": "Customer called", "override_window": True},
    )
    cancelled = send_json(
        admin_client, "patch", url, {"status": "cancelled", "reason": "Customer called"}
    )

    read = admin_client.get(url)
    assert read.status_code == 200
    assert read.json()["id"] == held["id"]
    assert read.json()["customer"]["name"] == "Jane Doe"
    history = Booking.objects.get(pk=held["id"]).events.values_list("kind", flat=True)
    assert list(history) == ["held", "rescheduled", "confirmed", "cancelled"]
    assert moved.status_code == 200
    assert dt.datetime.fromisoformat(moved.json()["start"]) == catalogue.slots[5].starts_at
    assert moved.json()["sequence"] == 1
    assert confirmed.json()["status"] == "confirmed"
    assert both.status_code == 400
    assert nothing.status_code == 400
    assert override.status_code == 400
    assert error_of(override)["details"][0]["field"] == "override_window"
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "Customer called"


def test_admin_booking_completed_before_start_is_409(admin_client, anon_client, catalogue):
    held = hold(anon_client, catalogue).json()
    url = f"/api/v1/admin/bookings/{held['id']}"
    send_json(admin_client, "patch", url, {"status": "confirmed"})

    response = send_json(admin_client, "patch", url, {"status": "completed"})

    assert response.status_code == 409
    assert error_of(response)["code"] == "INVALID_TRANSITION"
    assert Booking.objects.get(pk=held["id"]).status == Booking.Status.CONFIRMED


# --- API keys ----------------------------------------------------------------------


def test_admin_api_keys_create_shows_the_secret_once_then_revoke(admin_client, acme_host):
    created = send_json(
        admin_client, "post", "/api/v1/admin/api-keys", {"role": "readonly", "name": "BI"}
    )
    body = created.json()
    listed = admin_client.get("/api/v1/admin/api-keys")

    assert created.status_code == 201
    assert set(body) == {
        "id",
        "name",
        "prefix",
        "role",
        "created_at",
        "last_used_at",
        "revoked_at",
        "key",
    }
    assert body["key"].startswith(body["prefix"] + "_")
    assert body["key"] not in listed.content.decode()
    assert body["id"] in {k["id"] for k in listed.json()["data"]}
    stored = ApiKey.objects.get(pk=body["id"])
    assert body["key"] not in (stored.secret_hash, stored.prefix)

    from django.test import Client

    new_key = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert new_key.get("/api/v1/admin/bookings").status_code == 200
    assert admin_client.delete(f"/api/v1/admin/api-keys/{body['id']}").status_code == 204
    assert new_key.get("/api/v1/admin/bookings").status_code == 401
    active = admin_client.get("/api/v1/admin/api-keys").json()["data"]
    assert body["id"] not in {k["id"] for k in active}
    with_revoked = admin_client.get("/api/v1/admin/api-keys?include_revoked=true").json()["data"]
    assert body["id"] in {k["id"] for k in with_revoked}


def test_admin_api_keys_create_replays_with_the_same_idempotency_key(admin_client):
    # given a key created with an Idempotency-Key whose answer was lost
    payload = {"role": "frontdesk", "name": "Website"}
    first = send_json(
        admin_client, "post", "/api/v1/admin/api-keys", payload, HTTP_IDEMPOTENCY_KEY="key-1"
    )

    # when the client retries with the same key and body, and then sends another body
    again = send_json(
        admin_client, "post", "/api/v1/admin/api-keys", payload, HTTP_IDEMPOTENCY_KEY="key-1"
    )
    other = send_json(
        admin_client,
        "post",
        "/api/v1/admin/api-keys",
        {"role": "readonly"},
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    # then the retry gets the same answer byte for byte and no second key exists
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert ApiKey.objects.filter(name="Website").count() == 1
    assert other.status_code == 422
    assert error_of(other)["code"] == "IDEMPOTENCY_KEY_REUSED"


# --- Roles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("readonly", "get", "/api/v1/admin/locations", 200),
        ("readonly", "post", "/api/v1/admin/locations", 403),
        ("readonly", "get", "/api/v1/admin/bookings", 200),
        ("readonly", "get", "/api/v1/admin/api-keys", 403),
        ("frontdesk", "post", "/api/v1/admin/locations", 403),
        ("frontdesk", "post", "/api/v1/admin/availability-rules", 403),
        ("frontdesk", "post", "/api/v1/admin/slots/generate", 403),
        ("frontdesk", "post", "/api/v1/admin/api-keys", 403),
        ("admin", "post", "/api/v1/admin/locations", 400),
    ],
)
def test_admin_roles_gate_writes(acme, acme_host, role, method, path, expected):
    client = key_client(acme_host, role)

    response = send_json(client, method, path, {} if method == "post" else None)

    assert response.status_code == expected
    if expected == 403:
        assert error_of(response)["code"] == "PERMISSION_DENIED"


def test_admin_surface_needs_credentials(anon_client):
    response = anon_client.get("/api/v1/admin/locations")

    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"].startswith("Bearer")
