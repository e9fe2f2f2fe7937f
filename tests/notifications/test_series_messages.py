"""A recurring series' messages (apps/bookings/series.py, apps/notifications/messages):
one confirmation listing every date, one cancellation listing the dates "this and the
rest" cancelled, each sent once by the worker; reminders stay one per date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from apps.bookings.errors import TooLateToCancel
from apps.bookings.models import Booking
from apps.bookings.series import RepeatRule, series_cancel_from, series_create
from apps.bookings.services import CustomerInput, booking_cancel, holds_expire
from apps.calendars.grid.services import (
    horizon_last_date,
    materialization_horizon_days,
    slots_materialize_dates,
)
from apps.calendars.timezones import local_date, zone
from apps.notifications.messages import sms
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.models import Notification, NotificationPreference
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
)
from tests.dashboard.factories import WeeklyRuleFactory, local_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]

Kind = Notification.Kind
Status = Notification.Status
ADA = CustomerInput(name="Ada Lovelace", email="ada@example.test", phone="+447911123456")


@pytest.fixture
def room(acme):
    """A Berlin room open every day 09:00 to 17:00, its grid built to the horizon."""
    location = LocationFactory.create(timezone="Europe/Berlin", name="Studio")
    resource = ResourceFactory.create(location=location, name="Room 1")
    service = ServiceFactory.create(resources=[resource], name="Yoga")
    WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    tz = zone("Europe/Berlin")
    built_until = horizon_last_date(
        tz_name="Europe/Berlin", days=materialization_horizon_days(), now=timezone.now()
    )
    slots_materialize_dates(
        resources=[resource],
        first=local_date(timezone.now(), tz),
        last=built_until,
        beyond_horizon="clip",
    )
    return {"location": location, "resource": resource, "service": service}


def _series(room, *, count=3, language="", notify=True):
    return series_create(
        service=room["service"],
        resource=room["resource"],
        first_starts_at=local_at(room["location"], days=2, hour=10),
        rule=RepeatRule(every_weeks=1, count=count),
        customer=ADA,
        actor=STAFF,
        source=Booking.Source.ADMIN,
        notify=notify,
        language=language,
    )


def _work_through(bookings, *, kinds=(Kind.CONFIRMED, Kind.CANCELLED)) -> list[SendOutcome]:
    """What the worker does with every message of `kinds` it was handed for these dates
    (each id enqueued at commit), twice over: a repeated task must send nothing more."""
    rows = Notification.objects.filter(booking__in=bookings, kind__in=kinds).order_by("pk")
    ids = list(rows.values_list("pk", flat=True))
    return [notification_send(notification_id=pk) for pk in ids + ids]


def _dates_of(occurrences, *, german=False) -> list[str]:
    tz = zone("Europe/Berlin")
    if german:
        days = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
        months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli"]
        months += ["August", "September", "Oktober", "November", "Dezember"]
        return [
            f"{days[t.weekday()]}, {t.day}. {months[t.month - 1]} {t.year}, 10:00"
            for t in (b.starts_at.astimezone(tz) for b in occurrences)
        ]
    return [b.starts_at.astimezone(tz).strftime("%A %-d %B %Y, 10:00") for b in occurrences]


def test_a_series_gets_one_confirmation_listing_every_date_sent_once(room):
    # given a series of three dates for a customer with an email and a phone
    series = _series(room)
    occurrences = list(series.occurrences.order_by("starts_at"))

    # when the worker sends what the booking planned (each message handed to it twice)
    outcomes = _work_through(occurrences)

    # then one email and one text went out, for the first date, listing all three
    assert outcomes.count(SendOutcome.SENT) == 2
    [email] = mail.outbox
    assert email.subject.startswith("Booked: Yoga, 3 dates from ")
    html = email.alternatives[0][0]
    for when in _dates_of(occurrences):
        assert when in email.body
        assert when in html
    assert "Your series is booked" in email.body
    [text] = sms.outbox
    assert "is booked on 3 dates:" in text.body
    assert text.body.count("10:00") == 3
    # and every date keeps its own reminders
    for booking in occurrences:
        assert Notification.objects.filter(
            booking=booking, kind=Kind.REMINDER, channel="email", status=Status.PENDING
        ).exists()


def test_a_series_confirmation_speaks_the_bookings_language_for_its_dates(room):
    series = _series(room, count=2, language="de")
    occurrences = list(series.occurrences.order_by("starts_at"))

    _work_through(occurrences)

    [email] = mail.outbox
    html = email.alternatives[0][0]
    for when in _dates_of(occurrences, german=True):
        assert when in html


def test_a_series_booked_without_a_confirmation_sends_none(room):
    series = _series(room, notify=False)

    outcomes = _work_through(list(series.occurrences.all()))

    assert SendOutcome.SENT not in outcomes
    assert mail.outbox == []


def test_cancelling_this_and_the_rest_sends_one_email_listing_the_dates(room):
    # given a series of four dates, all confirmed and confirmed to the customer
    series = _series(room, count=4)
    occurrences = list(series.occurrences.order_by("starts_at"))
    _work_through(occurrences)
    mail.outbox = []
    sms.outbox.clear()

    # when the second date and the rest are cancelled
    series_cancel_from(booking=occurrences[1], actor=STAFF, reason="Moved away")
    outcomes = _work_through(occurrences, kinds=(Kind.CANCELLED,))

    # then one email and one text went out, listing the three cancelled dates only
    assert outcomes.count(SendOutcome.SENT) == 2
    [email] = mail.outbox
    assert email.subject.startswith("Cancelled: Yoga, 3 dates from ")
    for when in _dates_of(occurrences[1:]):
        assert when in email.body
        assert when in email.alternatives[0][0]
    assert _dates_of(occurrences[:1])[0] not in email.body
    [text] = sms.outbox
    assert "is cancelled on 3 dates:" in text.body
    # the other dates' notices are on record as folded into that one
    folded = Notification.objects.filter(kind=Kind.CANCELLED, status_reason="series_notice")
    assert set(folded.values_list("booking_id", flat=True)) == {b.pk for b in occurrences[2:]}
    # and no reminder of a cancelled date is left to go
    assert not Notification.objects.filter(
        booking__in=occurrences[1:], kind=Kind.REMINDER, status=Status.PENDING
    ).exists()


def test_cancelling_one_date_still_sends_the_single_booking_email(room):
    series = _series(room, count=3)
    occurrences = list(series.occurrences.order_by("starts_at"))

    booking_cancel(booking=occurrences[1], actor=STAFF)
    _work_through(occurrences, kinds=(Kind.CANCELLED,))

    [email] = mail.outbox
    assert email.subject.startswith("Cancelled: Yoga on ")
    assert "This booking has been cancelled" in email.body


def test_cancelling_from_the_last_date_sends_the_single_booking_email(room):
    series = _series(room, count=2)
    occurrences = list(series.occurrences.order_by("starts_at"))

    series_cancel_from(booking=occurrences[1], actor=STAFF)
    _work_through(occurrences, kinds=(Kind.CANCELLED,))

    [email] = mail.outbox
    assert email.subject.startswith("Cancelled: Yoga on ")


def test_a_refused_cancellation_of_the_rest_leaves_every_message_as_it_was(room, acme):
    series = _series(room, count=3)
    occurrences = list(series.occurrences.order_by("starts_at"))
    before = sorted(
        Notification.objects.filter(booking__in=occurrences).values_list("pk", "status")
    )
    acme.cancellation_window_minutes = 30 * 24 * 60
    acme.save(update_fields=["cancellation_window_minutes"])

    with pytest.raises(TooLateToCancel):
        series_cancel_from(booking=occurrences[0], actor=STAFF)

    after = sorted(Notification.objects.filter(booking__in=occurrences).values_list("pk", "status"))
    assert after == before
    assert not Notification.objects.filter(kind=Kind.CANCELLED).exists()


def test_a_held_series_that_lapses_sends_one_hold_expired_notice(room):
    # given a business that tells customers their hold lapsed, and a customer's held series
    NotificationPreference.objects.update_or_create(pk=1, defaults={"notify_hold_expired": True})
    room["service"].customers_may_repeat = True
    room["service"].save(update_fields=["customers_may_repeat"])
    series = series_create(
        service=room["service"],
        resource=room["resource"],
        first_starts_at=local_at(room["location"], days=2, hour=10),
        rule=RepeatRule(every_weeks=1, count=3),
        customer=ADA,
        actor=CUSTOMER,
        confirm=False,
    )
    occurrences = list(series.occurrences.order_by("starts_at"))

    # when its time is up and the sweeper lets every date go
    expired = holds_expire(now=occurrences[0].hold_expires_at + dt.timedelta(seconds=1))

    # then every date expired, and the customer is told once (by email, as for one hold)
    assert expired == 3
    [notice] = Notification.objects.filter(kind=Kind.HOLD_EXPIRED)
    assert (notice.booking_id, notice.channel) == (occurrences[0].pk, "email")


def test_a_first_date_cancelled_alone_then_the_rest_sends_two_notices_each_once(room):
    # given a series of four dates whose confirmation went out
    series = _series(room, count=4)
    occurrences = list(series.occurrences.order_by("starts_at"))
    _work_through(occurrences)
    mail.outbox = []

    # when the first date is cancelled alone and sent, then the second and the rest
    booking_cancel(booking=occurrences[0], actor=STAFF)
    _work_through(occurrences, kinds=(Kind.CANCELLED,))
    series_cancel_from(booking=occurrences[1], actor=STAFF)
    _work_through(occurrences, kinds=(Kind.CANCELLED,))

    # then the first date's notice is its own, and one more lists the three others
    single, merged = mail.outbox
    assert single.subject.startswith("Cancelled: Yoga on ")
    assert merged.subject.startswith("Cancelled: Yoga, 3 dates from ")
    for when in _dates_of(occurrences[1:]):
        assert when in merged.body
    assert _dates_of(occurrences[:1])[0] not in merged.body
    first_notice = Notification.objects.get(
        booking=occurrences[0], kind=Kind.CANCELLED, channel="email"
    )
    assert (first_notice.status, first_notice.status_reason) == (Status.SENT, "")
    assert Notification.SERIES_STARTS not in first_notice.details


def test_a_lapsed_series_notice_lists_every_date_it_let_go(room):
    # given a business that tells customers their hold lapsed, and a customer's held series
    NotificationPreference.objects.update_or_create(pk=1, defaults={"notify_hold_expired": True})
    room["service"].customers_may_repeat = True
    room["service"].save(update_fields=["customers_may_repeat"])
    series = series_create(
        service=room["service"],
        resource=room["resource"],
        first_starts_at=local_at(room["location"], days=2, hour=10),
        rule=RepeatRule(every_weeks=1, count=3),
        customer=ADA,
        actor=CUSTOMER,
        confirm=False,
    )
    occurrences = list(series.occurrences.order_by("starts_at"))

    # when every date lapses and the worker sends the one notice
    holds_expire(now=occurrences[0].hold_expires_at + dt.timedelta(seconds=1))
    outcomes = _work_through(occurrences, kinds=(Kind.HOLD_EXPIRED,))

    # then the customer reads that every date was let go, each listed
    assert outcomes.count(SendOutcome.SENT) == 1
    [email] = mail.outbox
    assert email.subject.startswith("Not booked: your reservation for Yoga, 3 dates,")
    for when in _dates_of(occurrences):
        assert when in email.body
        assert when in email.alternatives[0][0]
    assert "none of these dates is booked" in email.body
