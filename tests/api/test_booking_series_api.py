"""`POST /api/v1/bookings/series`: a weekly series over the API, all dates confirmed or
none, refusals in the one error envelope, documented in the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Membership
from apps.bookings.models import Booking, BookingSeries
from apps.bookings.services import booking_hold
from apps.calendars.timezones import zone
from tests.api.calls import error_of, send_json
from tests.bookings.factories import CUSTOMER, customer, slots_create
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/series"


@pytest.fixture
def weekly(catalogue):
    """The catalogue's first slot and the same London wall time the next two weeks; the
    service may be booked as a series by customers."""
    catalogue.service.customers_may_repeat = True
    catalogue.service.save(update_fields=["customers_may_repeat"])
    first = catalogue.slots[0].starts_at
    local = first.astimezone(zone("Europe/London"))
    later = [
        dt.datetime.combine(local.date() + dt.timedelta(weeks=w), local.time(), tzinfo=local.tzinfo)
        for w in (1, 2)
    ]
    for start in later:
        slots_create(resource=catalogue.resource, starts_at=start)
    return [first, *later]


def _payload(catalogue, first, **repeat):
    return {
        "service": str(catalogue.service.pk),
        "resource": str(catalogue.resource.pk),
        "start": first.isoformat(),
        "customer": {"name": "Jane Doe", "email": "jane@example.test"},
        "repeat": {"every_weeks": 1, **repeat},
    }


def _post(client, payload, key="series-1"):
    return send_json(client, "post", URL, payload, HTTP_IDEMPOTENCY_KEY=key)


def test_a_series_is_booked_confirmed_with_a_token_per_date(anon_client, catalogue, weekly):
    response = _post(anon_client, _payload(catalogue, weekly[0], count=3))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["every_weeks"], body["count"], body["until"]) == (1, 3, None)
    assert body["timezone"] == "Europe/London"
    assert [b["status"] for b in body["bookings"]] == ["confirmed"] * 3
    assert [dt.datetime.fromisoformat(b["start"]) for b in body["bookings"]] == weekly
    assert all(b["token"] for b in body["bookings"])
    series = BookingSeries.objects.get(pk=body["id"])
    assert set(series.occurrences.values_list("source", flat=True)) == {Booking.Source.API}

    # the same key replays the answer, booking nothing more
    again = _post(anon_client, _payload(catalogue, weekly[0], count=3))
    assert again.json()["id"] == body["id"]
    assert BookingSeries.objects.count() == 1


@pytest.mark.parametrize(
    ("repeat", "field"),
    [
        ({}, "repeat.count"),  # never ends
        ({"count": 53}, "repeat.count"),
        ({"until": "2099-12-31"}, "repeat.until"),  # over 52 dates
        ({"count": 3, "until": "2099-12-31"}, "repeat.until"),
    ],
)
def test_a_rule_that_never_ends_or_runs_long_is_refused(
    anon_client, catalogue, weekly, repeat, field
):
    response = _post(anon_client, _payload(catalogue, weekly[0], **repeat))

    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == "VALIDATION_ERROR"
    assert field in {detail["field"] for detail in error["details"]}
    assert not Booking.objects.exists()


def test_a_taken_date_is_listed_and_nothing_is_booked(anon_client, catalogue, weekly):
    booking_hold(
        service=catalogue.service,
        resource=catalogue.resource,
        starts_at=weekly[1],
        customer=customer("other"),
        actor=CUSTOMER,
    )

    response = _post(anon_client, _payload(catalogue, weekly[0], count=3))

    error = error_of(response)
    assert response.status_code == 409
    assert error["code"] == "SERIES_CONFLICTS"
    assert [d["field"] for d in error["details"]] == ["occurrences"]
    local = weekly[1].astimezone(zone("Europe/London"))
    assert error["details"][0]["message"].startswith(local.strftime("%Y-%m-%d %H:%M: "))
    assert Booking.objects.count() == 1


def test_a_service_customers_may_not_repeat_is_refused(anon_client, catalogue, weekly):
    catalogue.service.customers_may_repeat = False
    catalogue.service.save(update_fields=["customers_may_repeat"])

    response = _post(anon_client, _payload(catalogue, weekly[0], count=3))

    assert response.status_code == 400
    assert "repeat" in {d["field"] for d in error_of(response)["details"]}


def test_the_schema_documents_the_series_endpoint(anon_client):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/bookings/series"]["post"]
    assert operation["operationId"] == "bookings_series_create"
    assert {"201", "400", "409"} <= set(operation["responses"])


def test_the_same_key_with_another_body_is_refused_and_books_nothing_more(
    anon_client, catalogue, weekly
):
    first = _post(anon_client, _payload(catalogue, weekly[0], count=3))
    assert first.status_code == 201

    other = _post(anon_client, _payload(catalogue, weekly[0], count=2))

    assert other.status_code == 422
    assert error_of(other)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert BookingSeries.objects.count() == 1
    assert Booking.objects.count() == 3


def test_front_desk_books_a_paid_series_at_the_venue_reading_payments_once(acme, catalogue, weekly):
    # given a paid service and a front desk member signed in (session)
    catalogue.service.price = Decimal("40.00")
    catalogue.service.requires_payment = True
    catalogue.service.save(update_fields=["price", "requires_payment"])
    client = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), HOST
    )
    payload = {**_payload(catalogue, weekly[0], count=3), "payment": "at_venue"}

    # when the series is booked
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, payload)

    # then every date is at the venue, and the answer read the payments in one query
    assert response.status_code == 201, response.content
    assert [b["amount_paid"] for b in response.json()["bookings"]] == ["0.00"] * 3
    assert set(Booking.objects.values_list("payment_status", flat=True)) == {
        Booking.PaymentStatus.AT_VENUE
    }
    payment_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "bookings_payment"' in q["sql"]
    ]
    assert len(payment_reads) == 1, payment_reads


def test_services_say_which_may_be_booked_as_a_series_and_admins_set_it(
    admin_client, anon_client, catalogue
):
    listed = anon_client.get("/api/v1/services").json()["data"]
    assert [s["customers_may_repeat"] for s in listed] == [False]

    url = f"/api/v1/admin/services/{catalogue.service.pk}"
    allowed = send_json(admin_client, "patch", url, {"customers_may_repeat": True})
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["customers_may_repeat"] is True
    listed = anon_client.get("/api/v1/services").json()["data"]
    assert [s["customers_may_repeat"] for s in listed] == [True]

    # a series of a service paid online is the business's to book
    paid = send_json(admin_client, "patch", url, {"requires_payment": True, "price": "30.00"})
    assert paid.status_code == 400
    assert "customers_may_repeat" in {d["field"] for d in error_of(paid)["details"]}


def test_a_series_keeps_the_language_given_for_every_date(anon_client, catalogue, weekly):
    refused = _post(anon_client, {**_payload(catalogue, weekly[0], count=3), "language": "xx"})
    assert refused.status_code == 400
    assert "language" in {d["field"] for d in error_of(refused)["details"]}
    assert not Booking.objects.exists()

    response = _post(
        anon_client, {**_payload(catalogue, weekly[0], count=3), "language": "de"}, key="de-1"
    )

    assert response.status_code == 201, response.content
    assert [b["language"] for b in response.json()["bookings"]] == ["de"] * 3
