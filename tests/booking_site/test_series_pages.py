"""Recurring series on the customer pages: offered only where the service allows it,
booked all at once or not at all, shown on the manage page, cancelled from a date on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.booking_site.forms import slot_value
from apps.bookings.models import Booking, BookingSeries
from apps.bookings.services import booking_hold
from apps.calendars.models import SlotInstance
from apps.notifications.models import Notification
from tests.booking_site.catalogue import LONDON, slots_add
from tests.bookings.factories import CUSTOMER, customer
from tests.dashboard.factories import WeeklyRuleFactory

pytestmark = pytest.mark.django_db

TYPED = {
    "name": "Jane Doe",
    "email": "jane@example.test",
    "phone": "",
    "notes": "",
    "tz": "Europe/London",
    "idempotency_key": "series-form-1",
}


@pytest.fixture
def repeatable(catalogue):
    """Dr Ada free at 10:00 on the catalogue's day and the three weeks after; the
    service may be booked as a series."""
    catalogue.service.customers_may_repeat = True
    catalogue.service.save(update_fields=["customers_may_repeat"])
    for week in range(1, 4):
        slots_add(catalogue, catalogue.ada, _week(catalogue, week))
    return catalogue


def _week(catalogue, week: int) -> dt.datetime:
    return catalogue.at(10, day=catalogue.day + dt.timedelta(weeks=week))


def _url(catalogue) -> str:
    slot = slot_value(resource_id=catalogue.ada.pk, start=catalogue.at(10))
    return f"/book/{catalogue.service.pk}/{catalogue.ada.pk}/details/?slot={slot}&tz=Europe/London"


def _post(client, catalogue, **fields):
    url = _url(catalogue)
    data = {**TYPED, "slot": url.split("slot=")[1].split("&")[0], **fields}
    return client.post(url, data)


def test_the_repeat_option_shows_only_where_the_service_allows_it(client, catalogue):
    assert 'name="repeat"' not in client.get(_url(catalogue)).content.decode()

    catalogue.service.customers_may_repeat = True
    catalogue.service.save(update_fields=["customers_may_repeat"])
    offered = client.get(_url(catalogue)).content.decode()
    assert 'name="repeat"' in offered
    assert "The last date may be at most 365 days ahead." in offered

    # a paid service is never offered as a series on these pages
    catalogue.service.price = Decimal("30.00")
    catalogue.service.requires_payment = True
    catalogue.service.save(update_fields=["price", "requires_payment"])
    assert 'name="repeat"' not in client.get(_url(catalogue)).content.decode()


def _book_series(client, catalogue, **fields) -> str:
    """Holds a series from the details step and confirms it on its hold page; the
    first date's token."""
    response = _post(client, catalogue, repeat="on", every_weeks="1", **fields)
    assert response.status_code == 303, response.content
    token = response["Location"].split("/")[2]
    confirmed = client.post(f"/hold/{token}/")
    assert confirmed.status_code == 303
    return token


def test_a_customer_holds_a_weekly_series_confirms_it_and_sees_it_on_the_manage_page(
    client, repeatable
):
    # when the details are sent with Repeat ticked
    response = _post(client, repeatable, repeat="on", every_weeks="1", count="4")

    # then every date is held, all until the same instant, and the hold page lists them
    assert response.status_code == 303
    assert response["Location"].startswith("/hold/")
    series = BookingSeries.objects.get()
    occurrences = list(series.occurrences.order_by("starts_at"))
    assert [b.starts_at for b in occurrences] == [
        repeatable.at(10),
        *(_week(repeatable, week) for week in range(1, 4)),
    ]
    assert {b.status for b in occurrences} == {Booking.Status.HELD}
    assert len({b.hold_expires_at for b in occurrences}) == 1
    assert {b.source for b in occurrences} == {Booking.Source.PAGE}
    token = response["Location"].split("/")[2]
    hold = client.get(response["Location"]).content.decode()
    assert "We are holding all 4 dates for you" in hold
    for booking in occurrences:
        assert f"{booking.starts_at.astimezone(LONDON):%A %-d %B %Y}, 10:00" in hold
    assert "Confirm all 4 dates" in hold
    assert not Notification.objects.filter(kind=Notification.Kind.CONFIRMED).exists()

    # when they confirm, every date is confirmed with one confirmation planned
    confirmed = client.post(f"/hold/{token}/")
    assert confirmed.status_code == 303
    assert confirmed["Location"].startswith(f"/booked/{token}/")
    assert {Booking.objects.get(pk=b.pk).status for b in occurrences} == {Booking.Status.CONFIRMED}
    [confirmation] = Notification.objects.filter(
        kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    )
    assert confirmation.booking_id == occurrences[0].pk
    assert len(confirmation.details[Notification.SERIES_STARTS]) == 4

    manage = client.get(f"/manage/{token}/").content.decode()
    assert "Your repeated booking" in manage
    assert manage.count('href="/manage/') >= 3  # the other dates, each its own page


def test_a_series_with_a_taken_date_lists_it_and_books_nothing(client, repeatable):
    taken = _week(repeatable, 2)
    booking_hold(
        service=repeatable.service,
        resource=repeatable.ada,
        starts_at=taken,
        customer=customer("other"),
        actor=CUSTOMER,
    )

    response = _post(client, repeatable, repeat="on", every_weeks="1", count="4")

    body = response.content.decode()
    assert response.status_code == 409
    # the date and the London wall time, with the reason
    day = (repeatable.day + dt.timedelta(weeks=2)).isoformat()
    assert f"{day} 10:00: That time is no longer available." in body
    assert 'value="Jane Doe"' in body
    assert not BookingSeries.objects.exists()
    assert Booking.objects.count() == 1  # only the other customer's hold


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"count": "", "until": ""}, "A series must end"),
        ({"count": "53"}, "Repeat 2 to 52 times in all."),
        ({"count": "", "until": "2099-12-31"}, "more than 52 dates"),
        # digits str.isdigit() accepts and int() does not: a field error, not a 500
        ({"count": "4²"}, "Repeat 2 to 52 times in all."),
        ({"every_weeks": "²", "count": "4"}, "Repeat every 1 to 8 weeks."),
    ],
)
def test_a_bad_repeat_rule_is_refused_keeping_the_form(client, repeatable, fields, message):
    response = _post(client, repeatable, **{"repeat": "on", "every_weeks": "1", **fields})

    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert 'value="Jane Doe"' in body
    assert not Booking.objects.exists()


def test_a_customer_cancels_a_date_and_the_rest(client, repeatable):
    token = _book_series(client, repeatable, count="4")
    occurrences = list(BookingSeries.objects.get().occurrences.order_by("starts_at"))

    cancel = client.get(f"/manage/{token}/cancel/").content.decode()
    assert "the rest of the series (4 bookings)" in cancel

    done = client.post(f"/manage/{token}/cancel/", {"scope": "rest"})

    assert done.status_code == 303
    assert {Booking.objects.get(pk=b.pk).status for b in occurrences} == {Booking.Status.CANCELLED}


def test_the_series_links_and_the_rest_form_carry_the_picked_zone_and_language(client, repeatable):
    # in a frame no cookie keeps the customer's picks: every link and form carries them
    token = _book_series(client, repeatable, count="3")
    picked = "tz=Europe/London&lang=de"

    manage = client.get(f"/manage/{token}/?{picked}").content.decode()
    others = [
        chunk.split('"', 1)[0]
        for chunk in manage.split('href="/manage/')[1:]
        if not chunk.startswith(f"{token}/")
    ]
    assert len(others) == 2
    assert all(link.endswith("?tz=Europe/London&amp;lang=de") for link in others), others

    cancel = client.get(f"/manage/{token}/cancel/?{picked}").content.decode()
    [rest_form] = [form for form in cancel.split("<form")[1:] if 'value="rest"' in form]
    assert '<input type="hidden" name="lang" value="de">' in rest_form
    assert '<input type="hidden" name="tz" value="Europe/London">' in rest_form


def test_conflicts_say_their_zone_when_the_page_shows_another(client, repeatable):
    # the listed dates are the business's wall times; a customer reading New York times
    # is told so
    booking_hold(
        service=repeatable.service,
        resource=repeatable.ada,
        starts_at=_week(repeatable, 1),
        customer=customer("other"),
        actor=CUSTOMER,
    )
    url = _url(repeatable).replace("tz=Europe/London", "tz=America/New_York")
    slot = url.split("slot=")[1].split("&")[0]
    data = {**TYPED, "tz": "America/New_York", "slot": slot, "repeat": "on"}

    response = client.post(url, {**data, "every_weeks": "1", "count": "3"})

    assert response.status_code == 409
    assert "These dates and times are the business's (Europe/London)." in (
        response.content.decode()
    )


def test_a_series_reaching_past_the_customer_bound_is_refused_keeping_the_form(client, repeatable):
    # every 8 weeks, 8 times: the last date lies 56 weeks ahead, past a year; the
    # location opens every day, so a day built past the grid would show
    WeeklyRuleFactory.create(location=repeatable.location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    slots_before = SlotInstance.objects.count()

    response = _post(client, repeatable, repeat="on", every_weeks="8", count="8")

    body = response.content.decode()
    assert response.status_code == 400
    assert "more than 365 days ahead" in body
    assert 'value="Jane Doe"' in body
    assert SlotInstance.objects.count() == slots_before
    assert not Booking.objects.exists()


def test_cancelling_the_rest_from_the_manage_page_plans_one_cancellation(client, repeatable):
    token = _book_series(client, repeatable, count="4")

    client.post(f"/manage/{token}/cancel/", {"scope": "rest"})

    [notice] = Notification.objects.filter(
        kind=Notification.Kind.CANCELLED, channel="email", status=Notification.Status.PENDING
    )
    assert len(notice.details[Notification.SERIES_STARTS]) == 4
    assert (
        Notification.objects.filter(
            kind=Notification.Kind.CANCELLED, status_reason="series_notice"
        ).count()
        == 3
    )


def test_a_held_series_lapses_together_and_confirms_none(client, repeatable):
    response = _post(client, repeatable, repeat="on", every_weeks="1", count="3")
    token = response["Location"].split("/")[2]
    occurrences = list(BookingSeries.objects.get().occurrences.order_by("starts_at"))
    # the time is up (every hold ends at the same instant)
    Booking.objects.filter(pk__in=[b.pk for b in occurrences]).update(
        hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    refused = client.post(f"/hold/{token}/")

    assert refused.status_code == 409
    assert "Your hold has expired" in refused.content.decode()
    assert not Booking.objects.filter(status=Booking.Status.CONFIRMED).exists()
    assert not Notification.objects.filter(kind=Notification.Kind.CONFIRMED).exists()


def test_letting_a_held_series_go_frees_every_date(client, repeatable):
    response = _post(client, repeatable, repeat="on", every_weeks="1", count="3")
    token = response["Location"].split("/")[2]

    released = client.post(f"/hold/{token}/release/")

    assert set(Booking.objects.values_list("status", flat=True)) == {Booking.Status.CANCELLED}
    assert not Notification.objects.filter(kind=Notification.Kind.CANCELLED).exists()
    # and the page back says every date went, not one time
    assert "We let those 3 times go." in client.get(released["Location"]).content.decode()
