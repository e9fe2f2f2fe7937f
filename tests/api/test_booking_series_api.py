"""`POST /api/v1/bookings/series`: a weekly series over the API, all dates confirmed or
none, refusals in the one error envelope, documented in the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Membership
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.models import Booking, BookingSeries
from apps.bookings.series import RepeatRule, series_create
from apps.bookings.services import CustomerInput, booking_hold
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import zone
from apps.notifications.messages.delivery import notification_send
from apps.notifications.models import Notification
from tests.api.calls import error_of, send_json
from tests.bookings.factories import CUSTOMER, customer, slots_create
from tests.dashboard.factories import WeeklyRuleFactory
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


def test_a_customers_series_reaching_too_far_is_refused_on_its_count_building_nothing(
    anon_client, catalogue, weekly
):
    # every 8 weeks, 8 times: the last date lies 56 weeks ahead, past a customer's year;
    # the location opens every day, so a day built past the grid would show
    WeeklyRuleFactory.create(location=catalogue.location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    slots_before = SlotInstance.objects.count()

    response = _post(anon_client, _payload(catalogue, weekly[0], every_weeks=8, count=8))

    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in error["details"]] == ["repeat.count"]
    assert "more than 365 days ahead" in error["details"][0]["message"]
    assert SlotInstance.objects.count() == slots_before
    assert not Booking.objects.exists()


def test_staff_book_further_than_customers_giving_a_reason(acme, catalogue, weekly, settings):
    # given a customer bound of 10 days, which three weekly dates pass
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 10
    client = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), HOST
    )
    payload = _payload(catalogue, weekly[0], count=3)

    # when staff send it without a reason, then with one
    refused = _post(client, payload, key="staff-1")
    booked = _post(client, {**payload, "override_reason": "Rehab plan"}, key="staff-2")

    # then the first is refused beside the count and the reason, the second books
    assert refused.status_code == 400
    assert {d["field"] for d in error_of(refused)["details"]} == {
        "repeat.count",
        "override_reason",
    }
    assert booked.status_code == 201, booked.content
    first = Booking.objects.get(pk=booked.json()["bookings"][0]["id"])
    assert first.window_override_reason == "Rehab plan"
    assert Booking.objects.count() == 3


def test_a_series_booked_over_the_api_is_confirmed_in_one_email_listing_every_date(
    anon_client, catalogue, weekly, mailoutbox
):
    response = _post(anon_client, _payload(catalogue, weekly[0], count=3))
    assert response.status_code == 201, response.content

    pending = Notification.objects.filter(
        kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    )
    for notification in list(pending):
        notification_send(notification_id=notification.pk)

    [email] = mailoutbox
    tz = zone("Europe/London")
    for start in weekly:
        assert start.astimezone(tz).strftime("%A %-d %B %Y, %H:%M") in email.body


def test_confirming_a_held_series_date_over_the_api_confirms_every_date_together(
    anon_client, catalogue, weekly
):
    # given a series a customer holds from the booking pages (every date held)
    series = series_create(
        service=catalogue.service,
        resource=catalogue.resource,
        first_starts_at=weekly[0],
        rule=RepeatRule(every_weeks=1, count=3),
        customer=CustomerInput(name="Jane Doe", email="jane@example.test"),
        actor=CUSTOMER,
        confirm=False,
    )
    first = series.occurrences.order_by("starts_at").first()
    token = booking_access_token(booking_id=first.pk, ends_at=first.ends_at)

    # when its first date's token confirms that date over the API
    response = send_json(
        anon_client, "post", f"/api/v1/bookings/{first.pk}/confirm", {}, HTTP_X_BOOKING_TOKEN=token
    )

    # then the series is confirmed as on its hold page: every date, one confirmation
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CONFIRMED}
    [confirmation] = Notification.objects.filter(
        kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    )
    assert confirmation.booking_id == first.pk
    assert len(confirmation.details[Notification.SERIES_STARTS]) == 3


def test_staff_confirming_one_held_date_of_a_series_confirm_every_date_together(
    admin_client, catalogue, weekly
):
    series = series_create(
        service=catalogue.service,
        resource=catalogue.resource,
        first_starts_at=weekly[0],
        rule=RepeatRule(every_weeks=1, count=3),
        customer=CustomerInput(name="Jane Doe", email="jane@example.test"),
        actor=CUSTOMER,
        confirm=False,
    )
    last = series.occurrences.order_by("starts_at").last()

    response = send_json(
        admin_client, "patch", f"/api/v1/admin/bookings/{last.pk}", {"status": "confirmed"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CONFIRMED}


def test_an_api_key_may_not_give_a_series_an_override_reason(
    admin_client, catalogue, weekly, settings
):
    # given a customer bound of 10 days, which three weekly dates pass
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 10
    payload = {**_payload(catalogue, weekly[0], count=3), "override_reason": "Rehab plan"}

    # when a key (not a member of staff) sends the series with a reason
    response = _post(admin_client, payload)

    # then the reason is refused as for one booking, and nothing is booked
    error = error_of(response)
    assert response.status_code == 400
    assert "override_reason" in {d["field"] for d in error["details"]}
    assert not Booking.objects.exists()
