"""Recurring series from the dashboard: "Repeat" on the New booking screen, the series on
a booking's page, and cancelling this occurrence and the rest."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse

from apps.bookings.models import Booking, BookingSeries
from apps.calendars.models import SlotInstance
from apps.notifications.models import Notification
from tests.dashboard.factories import booking_made, local_at, slots_open

pytestmark = pytest.mark.django_db

NEW = reverse("dashboard:booking_new")


@pytest.fixture
def weekly(clinic):
    """Dr Smith free at 09:00 London time on four Mondays-to-be, a week apart."""
    first = local_at(clinic.location, days=3, hour=9)
    for week in range(4):
        day = (first + dt.timedelta(weeks=week)).date()
        slots_open(
            resource=clinic.smith,
            starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=first.tzinfo),
            count=2,
        )
    return first


def _form(clinic, when, **changes):
    data = {
        "request_key": uuid.uuid4().hex,
        "customer": "new",
        "name": "Grace Hopper",
        "email": "grace@example.test",
        "service": str(clinic.service.pk),
        "resource": str(clinic.smith.pk),
        "date": when.date().isoformat(),
        "start": when.isoformat(),
        "mode": "confirm",
        "payment": "at_venue",
        "notify": "on",
        "repeat": "on",
        "every_weeks": "1",
        "count": "4",
        "until": "",
    }
    data.update(changes)
    return data


def test_front_desk_books_a_weekly_series(client_as, clinic, weekly):
    client = client_as("frontdesk")

    response = client.post(NEW, _form(clinic, weekly))

    assert response.status_code == 302
    series = BookingSeries.objects.get()
    occurrences = list(series.occurrences.order_by("starts_at"))
    assert len(occurrences) == 4
    assert {b.status for b in occurrences} == {Booking.Status.CONFIRMED}
    assert {b.source for b in occurrences} == {Booking.Source.ADMIN}
    assert response["Location"] == reverse("dashboard:booking", args=[occurrences[0].pk])

    page = client.get(response["Location"]).content.decode()
    assert "Repeats every week" in page
    for booking in occurrences[1:]:
        assert reverse("dashboard:booking", args=[booking.pk]) in page
    assert "This booking and the rest of the series" in page


def test_a_series_with_a_taken_date_lists_it_and_books_nothing(client_as, clinic, weekly):
    client = client_as("frontdesk")
    taken = weekly + dt.timedelta(weeks=2)
    booking_made(service=clinic.service, resource=clinic.smith, starts_at=taken)
    before = Booking.objects.count()

    response = client.post(NEW, _form(clinic, weekly))

    body = response.content.decode()
    assert response.status_code == 409
    assert f"{taken.date().isoformat()} 09:00:" in body
    assert 'value="Grace Hopper"' in body  # what was typed is kept
    assert Booking.objects.count() == before
    assert not BookingSeries.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": "", "until": ""}, "A series must end"),
        ({"count": "60"}, "Repeat 2 to 52 times in all."),
        ({"count": "", "until": "2099-01-01"}, "more than 52 dates"),
        ({"mode": "hold"}, "A series is confirmed at once"),
        # digits str.isdigit() accepts and int() does not: a field error, not a 500
        ({"every_weeks": "²"}, "Repeat every 1 to 8 weeks."),
        ({"count": "4²"}, "Repeat 2 to 52 times in all."),
    ],
)
def test_a_bad_repeat_rule_is_refused_beside_its_field(client_as, clinic, weekly, changes, message):
    client = client_as("frontdesk")

    response = client.post(NEW, _form(clinic, weekly, **changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'value="Grace Hopper"' in response.content.decode()  # what was typed is kept
    assert not Booking.objects.exists()


def test_cancelling_this_and_the_rest_keeps_the_earlier_ones(client_as, clinic, weekly):
    client = client_as("frontdesk")
    client.post(NEW, _form(clinic, weekly))
    occurrences = list(BookingSeries.objects.get().occurrences.order_by("starts_at"))

    response = client.post(
        reverse("dashboard:booking_cancel", args=[occurrences[2].pk]),
        {"reason": "Treatment finished early", "scope": "rest"},
    )

    assert response.status_code == 302
    statuses = [Booking.objects.get(pk=b.pk).status for b in occurrences]
    assert statuses == [Booking.Status.CONFIRMED] * 2 + [Booking.Status.CANCELLED] * 2
    # the page says how many went
    assert (
        "2 bookings of the series are cancelled."
        in client.get(response["Location"]).content.decode()
    )

    # one occurrence alone
    client.post(
        reverse("dashboard:booking_cancel", args=[occurrences[0].pk]),
        {"reason": "Away that week", "scope": "one"},
    )
    assert Booking.objects.get(pk=occurrences[1].pk).status == Booking.Status.CONFIRMED


def _service_form(clinic, **overrides):
    return {
        "name": "Check-up",
        "description": "",
        "duration_minutes": "30",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "capacity": "1",
        "price": "60.00",
        "currency": "gbp",
        "resources": [str(clinic.smith.pk)],
        "min_notice_minutes": "",
        "horizon_days": "",
        "is_active": "on",
        **overrides,
    }


def test_the_catalogue_lets_customers_book_a_service_as_a_series(admin_client_acme, clinic):
    url = reverse("dashboard:service_edit", kwargs={"service_id": clinic.service.pk})
    assert 'name="customers_may_repeat"' in admin_client_acme.get(url).content.decode()

    response = admin_client_acme.post(url, _service_form(clinic, customers_may_repeat="on"))

    assert response.status_code == 302
    clinic.service.refresh_from_db()
    assert clinic.service.customers_may_repeat is True


def test_the_catalogue_refuses_a_customer_series_of_a_service_paid_online(
    admin_client_acme, clinic
):
    url = reverse("dashboard:service_edit", kwargs={"service_id": clinic.service.pk})

    response = admin_client_acme.post(
        url, _service_form(clinic, customers_may_repeat="on", requires_payment="on")
    )

    assert response.status_code == 400
    assert "only of a service not paid online" in response.content.decode()
    clinic.service.refresh_from_db()
    assert clinic.service.customers_may_repeat is False


def test_searching_keeps_the_repeat_rule_that_was_typed(client_as, clinic, weekly):
    # the Search and "Show free times" buttons send the whole form by GET: what was
    # typed comes back, the Repeat box included (else Book would make one booking)
    client = client_as("frontdesk")
    typed = {**_form(clinic, weekly, every_weeks="2", count="5"), "shown": "1", "q": "grace"}

    page = client.get(NEW, typed).content.decode()

    repeat = page.split('name="repeat"', 1)[1].split(">", 1)[0]
    assert "checked" in repeat
    assert 'name="every_weeks" value="2"' in page
    assert 'name="count" value="5"' in page

    # and an unticked box stays unticked
    typed.pop("repeat")
    page = client.get(NEW, typed).content.decode()
    assert "checked" not in page.split('name="repeat"', 1)[1].split(">", 1)[0]


def test_a_series_past_the_customer_bound_needs_a_reason_and_builds_nothing(
    client_as, clinic, weekly, settings
):
    # given a customer bound of 10 days, which four weekly dates pass
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 10
    client = client_as("frontdesk")
    slots_before = SlotInstance.objects.count()

    # when staff book it without a reason
    refused = client.post(NEW, _form(clinic, weekly))

    # then the count and the reason say why, what was typed stays, nothing is built
    body = refused.content.decode()
    assert refused.status_code == 400
    assert "give a reason to book that far" in body
    assert "Give a reason to book a series more than 10 days ahead." in body
    assert 'name="count" value="4"' in body
    assert SlotInstance.objects.count() == slots_before
    assert not Booking.objects.exists()

    # and with a reason it is booked, the reason kept with the first date
    booked = client.post(NEW, _form(clinic, weekly, override_reason="Course of four"))
    assert booked.status_code == 302
    first = BookingSeries.objects.get().occurrences.order_by("starts_at").first()
    assert first is not None
    assert first.window_override_reason == "Course of four"


def test_a_series_past_the_hard_bound_is_refused_even_with_a_reason(client_as, clinic, weekly):
    client = client_as("frontdesk")
    slots_before = SlotInstance.objects.count()

    # every 8 weeks, 52 times: eight years ahead
    response = client.post(
        NEW,
        _form(clinic, weekly, every_weeks="8", count="52", override_reason="Standing order"),
    )

    assert response.status_code == 400
    assert "further than any series may reach" in response.content.decode()
    assert SlotInstance.objects.count() == slots_before
    assert not Booking.objects.exists()


def test_cancelling_the_rest_plans_one_cancellation_listing_the_dates(client_as, clinic, weekly):
    client = client_as("frontdesk")
    client.post(NEW, _form(clinic, weekly))
    occurrences = list(BookingSeries.objects.get().occurrences.order_by("starts_at"))

    client.post(
        reverse("dashboard:booking_cancel", args=[occurrences[1].pk]),
        {"reason": "Moved away", "scope": "rest"},
    )

    notices = Notification.objects.filter(
        kind=Notification.Kind.CANCELLED, channel="email", status=Notification.Status.PENDING
    )
    [notice] = notices
    assert notice.booking_id == occurrences[1].pk
    assert notice.details[Notification.SERIES_STARTS] == [
        b.starts_at.isoformat() for b in occurrences[1:]
    ]
