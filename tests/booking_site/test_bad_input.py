"""Whatever a URL or form carries, the customer pages answer 404 or a form error, never
a server error; another business's ids name nothing here."""

from __future__ import annotations

import uuid

import pytest
from django.core import signing
from django_tenants.utils import tenant_context

from apps.booking_site.forms import slot_value
from apps.bookings.access_tokens import LEGACY_API_SALT, LEGACY_PAGE_SALT, booking_access_token
from apps.bookings.models import Booking
from apps.core.tenancy import current_schema
from tests.booking_site.catalogue import catalogue_create, held_booking, policy_set

pytestmark = pytest.mark.django_db

GARBAGE = ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "' OR 1=1 --", "x" * 300]


@pytest.fixture
def elsewhere(globex, catalogue):
    """globex's own catalogue and a hold there (the test runs in acme's schema)."""
    with tenant_context(globex):
        policy_set(globex)
        other = catalogue_create(name="Globex strategy session")
        booking = held_booking(other)
        # The token as made now, and as manage links were made before the schemes merged
        # (that form names no business: it must open nothing on another's domain).
        tokens = [
            booking_access_token(booking_id=booking.id),
            signing.dumps(str(booking.id), salt=LEGACY_PAGE_SALT),
        ]
        return other, tokens


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_ids_in_paths_are_not_found(client, catalogue, garbage):
    service = catalogue.service.pk
    paths = [
        f"/book/{garbage}/",
        f"/book/{garbage}/anyone/",
        f"/book/{service}/{garbage}/",
        f"/book/{service}/{garbage}/details/?slot=x",
        f"/hold/{garbage}/",
        f"/booked/{garbage}/",
        f"/manage/{garbage}/",
        f"/manage/{garbage}/cancel/",
        f"/manage/{garbage}/reschedule/",
        f"/manage/{garbage}/booking.ics",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.content.decode(), path


@pytest.mark.parametrize(
    "query",
    [
        {"day": "2026-02-30"},
        {"day": "yesterday"},
        {"month": "2026-13"},
        {"month": "abcd"},
        {"month": "2026-02-01"},
        {"day": "9999-12-31x"},
    ],
)
def test_garbage_dates_are_not_found(client, catalogue, query):
    url = f"/book/{catalogue.service.pk}/anyone/"

    response = client.get(url, query)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "query", [{"day": "1999-01-01"}, {"day": "2999-01-01"}, {"month": "1900-01"}]
)
def test_dates_far_away_show_no_times_rather_than_fail(client, catalogue, query):
    response = client.get(f"/book/{catalogue.service.pk}/anyone/", query)

    assert response.status_code == 200


@pytest.mark.parametrize(
    "slot",
    ["", "garbage", "00000000-0000-0000-0000-000000000000_20260101T100000Z", "{uuid}_2026"],
)
def test_details_with_a_bad_time_is_not_found(client, catalogue, slot):
    slot = slot.replace("{uuid}", str(catalogue.ada.pk))
    url = f"/book/{catalogue.service.pk}/anyone/details/"

    assert client.get(url, {"slot": slot}).status_code == 404


def test_details_at_a_time_that_is_not_on_the_grid_is_explained(client, catalogue):
    odd = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10, 7))
    url = f"/book/{catalogue.service.pk}/anyone/details/?slot={odd}"
    payload = {"name": "Jane", "email": "jane@example.test", "idempotency_key": "k", "slot": odd}

    response = client.post(url, payload)

    assert response.status_code == 409
    assert "That time is not offered." in response.content.decode()
    assert Booking.objects.count() == 0


def test_details_with_a_tampered_form_time_is_not_found(client, catalogue):
    url_slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    url = f"/book/{catalogue.service.pk}/anyone/details/?slot={url_slot}"
    payload = {
        "name": "Jane",
        "email": "jane@example.test",
        "idempotency_key": "k",
        "slot": slot_value(resource_id=uuid.uuid4(), start=catalogue.at(10)),
    }

    assert client.post(url, payload).status_code == 404
    assert Booking.objects.count() == 0


def test_an_overlong_idempotency_key_is_a_form_error(client, catalogue):
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    url = f"/book/{catalogue.service.pk}/anyone/details/?slot={slot}"
    payload = {"name": "Jane", "email": "jane@example.test", "idempotency_key": "k" * 300}

    response = client.post(url, {**payload, "slot": slot})

    assert response.status_code == 400
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("form", [0, 1], ids=["token", "old-manage-link-token"])
def test_another_businesss_service_resource_and_booking_are_not_found(
    client, catalogue, elsewhere, form
):
    other, tokens = elsewhere
    token = tokens[form]
    mine = catalogue.service.pk
    slot = slot_value(resource_id=other.ada.pk, start=other.at(10))
    paths = [
        f"/book/{other.service.pk}/",
        f"/book/{other.service.pk}/anyone/",
        f"/book/{mine}/{other.ada.pk}/",
        f"/book/{mine}/anyone/details/?slot={slot}",
        f"/hold/{token}/",
        f"/booked/{token}/",
        f"/manage/{token}/",
        f"/manage/{token}/booking.ics",
    ]
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert client.post(f"/hold/{token}/").status_code == 404
    assert client.post(f"/manage/{token}/cancel/").status_code == 404
    assert "Globex strategy session" not in client.get("/").content.decode()


def test_a_token_signed_for_something_else_is_not_found(client, catalogue):
    booking = held_booking(catalogue)
    other_salt = signing.dumps(str(booking.pk), salt="password-reset")
    unknown = booking_access_token(booking_id=uuid.uuid4(), ends_at=booking.ends_at)
    unknown_old_form = signing.dumps(str(uuid.uuid4()), salt=LEGACY_PAGE_SALT)
    api_token_old_form = signing.dumps(
        {"b": str(booking.pk), "s": current_schema()}, salt=LEGACY_API_SALT
    )

    assert client.get(f"/manage/{other_salt}/").status_code == 404
    assert client.get(f"/manage/{unknown}/").status_code == 404
    assert client.get(f"/manage/{unknown_old_form}/").status_code == 404
    # the API's old token was never a manage link
    assert client.get(f"/manage/{api_token_old_form}/").status_code == 404


def test_not_found_for_htmx_is_the_partial(htmx, catalogue):
    response = htmx.get("/book/not-a-service/")

    assert response.status_code == 404
    assert "<html" not in response.content.decode()
    assert "Page not found" in response.content.decode()


def test_get_only_pages_refuse_other_methods(client, catalogue):
    assert client.post("/").status_code == 405
    assert client.delete(f"/book/{catalogue.service.pk}/").status_code == 405
    assert (
        client.get(
            f"/hold/{booking_access_token(booking_id=held_booking(catalogue).id)}/release/"
        ).status_code
        == 405
    )


# What the customer pages read from the query: days, months, times, time zones, filters.
QUERY_PARAMETERS = ["day", "month", "slot", "tz", "resource", "page", "saved", "lang", "q"]


def test_a_nul_in_any_query_parameter_never_fails_a_page(client, catalogue):
    booking = held_booking(catalogue)
    service = catalogue.service.pk
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    token = booking_access_token(booking_id=booking.id)
    paths = [
        "/",
        "/reviews/",
        f"/book/{service}/",
        f"/book/{service}/anyone/",
        f"/book/{service}/{catalogue.ada.pk}/",
        f"/book/{service}/anyone/details/?slot={slot}",
        f"/book/{service}/anyone/waitlist/",
        f"/hold/{token}/",
        f"/manage/{token}/",
        f"/manage/{token}/reschedule/",
    ]
    for path in paths:
        for parameter in QUERY_PARAMETERS:
            joiner = "&" if "?" in path else "?"
            response = client.get(f"{path}{joiner}{parameter}=te%00st")
            assert response.status_code in (200, 400, 404), (path, parameter)


@pytest.mark.parametrize("field", ["name", "email", "phone", "notes", "every_weeks", "count"])
def test_a_nul_in_a_details_field_is_a_field_error_that_keeps_what_was_typed(
    client, catalogue, field
):
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    url = f"/book/{catalogue.service.pk}/anyone/details/?slot={slot}"
    typed = {
        "name": "Jane Doe",
        "email": "jane@example.test",
        "phone": "+44 20 7946 0958",
        "notes": "Kept notes",
        "every_weeks": "1",
        "count": "2",
    }
    other = "Kept notes" if field != "notes" else "Jane Doe"

    response = client.post(url, {**typed, field: "te\x00st", "idempotency_key": "k", "slot": slot})

    body = response.content.decode()
    assert response.status_code == 400
    assert "Null characters are not allowed." in body
    assert other in body
    assert Booking.objects.count() == 0
