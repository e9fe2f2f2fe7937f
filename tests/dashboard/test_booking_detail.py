"""One booking on the dashboard: its details, history and messages, and what staff do
with it (confirm, cancel with a reason, move it to a free time, mark how it went)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.bookings.models import Booking, BookingEvent
from apps.calendars.models import SlotInstance
from tests.dashboard.factories import booking_made, booking_row, local_at, slots_open

pytestmark = pytest.mark.django_db

Status = Booking.Status


def _url(name: str, booking: Booking) -> str:
    return reverse(f"dashboard:{name}", kwargs={"booking_id": booking.pk})


@pytest.fixture
def confirmed(clinic) -> Booking:
    return booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=3, hour=10),
        name="Grace Hopper",
        email="grace@example.test",
    )


def test_detail_shows_the_booking_its_history_and_its_messages(admin_client_acme, confirmed):
    response = admin_client_acme.get(_url("booking", confirmed))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Check-up with Grace Hopper" in body
    assert "grace@example.test" in body
    assert "10:00\u201310:30" in body and "(Europe/London)" in body
    history = body.split('id="history-title"')[1]
    assert history.index("Held") < history.index("Confirmed")
    assert "Messages to the customer" in body
    assert "Booking confirmed" in body  # the confirmation email in the outbox


def test_detail_shows_the_contact_given_with_the_booking_not_the_matched_record(
    admin_client_acme, clinic, confirmed
):
    # someone books with Grace's email but their own name and phone
    other = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=4, hour=10),
        name="Mallory Intruder",
        email="grace@example.test",
        phone="+447911123456",
    )
    assert other.customer_id == confirmed.customer_id

    body = admin_client_acme.get(_url("booking", other)).content.decode()

    facts = body.split('class="facts"')[1].split("</dl>")[0]
    assert "Mallory Intruder" in facts and "+447911123456" in facts
    assert "Customer record: Grace Hopper" in facts


def test_front_desk_confirms_a_held_booking(client_as, clinic):
    held = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=3, hour=11),
        confirm=False,
    )

    response = client_as("frontdesk").post(_url("booking_confirm", held))

    assert response.status_code == 302
    assert response["Location"] == _url("booking", held)
    held.refresh_from_db()
    assert held.status == Status.CONFIRMED
    event = BookingEvent.objects.filter(booking=held).last()
    assert event is not None and event.kind == "confirmed" and event.actor_type == "staff"


def test_an_htmx_action_answers_with_the_updated_screen_and_its_message(admin_client_acme, clinic):
    held = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=3, hour=11),
        confirm=False,
    )

    response = admin_client_acme.post(_url("booking_confirm", held), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "The booking is confirmed." in body
    assert '<span class="badge status-confirmed">Confirmed</span>' in body


def test_cancelling_with_a_reason_frees_the_time_and_records_the_reason(
    admin_client_acme, confirmed
):
    response = admin_client_acme.post(
        _url("booking_cancel", confirmed), {"reason": "Doctor called in sick"}
    )

    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CANCELLED
    assert confirmed.cancellation_reason == "Doctor called in sick"
    event = BookingEvent.objects.get(booking=confirmed, kind="cancelled")
    assert event.reason == "Doctor called in sick"
    slot = SlotInstance.objects.get(resource=confirmed.resource, starts_at=confirmed.starts_at)
    assert (slot.booked, slot.held) == (0, 0)


def test_staff_may_cancel_inside_the_customers_window(admin_client_acme, clinic):
    # given a booking in two hours, well inside the default 24-hour window
    soon = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=(timezone.now() + dt.timedelta(hours=2)).replace(
            minute=0, second=0, microsecond=0
        ),
    )

    response = admin_client_acme.post(_url("booking_cancel", soon), {"reason": "Closing early"})

    assert response.status_code == 302
    soon.refresh_from_db()
    assert soon.status == Status.CANCELLED


def test_cancelling_without_a_reason_is_a_field_error(admin_client_acme, confirmed):
    response = admin_client_acme.post(
        _url("booking_cancel", confirmed), {"reason": "   "}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    assert "Say why the booking is cancelled." in response.content.decode()
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED


def test_cancelling_a_finished_booking_is_refused_with_the_reason(admin_client_acme, clinic):
    done = booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=timezone.now() - dt.timedelta(days=1),
        status=Status.COMPLETED,
    )

    response = admin_client_acme.post(_url("booking_cancel", done), {"reason": "Typed with care"})

    body = response.content.decode()
    assert response.status_code == 409
    assert "A completed booking cannot be cancelled." in body
    done.refresh_from_db()
    assert done.status == Status.COMPLETED


def test_cancelling_twice_changes_nothing_the_second_time(admin_client_acme, confirmed):
    admin_client_acme.post(_url("booking_cancel", confirmed), {"reason": "First"})

    # (the booking was cancelled meanwhile, from another tab)
    again = admin_client_acme.post(_url("booking_cancel", confirmed), {"reason": "Second"})

    assert again.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.cancellation_reason == "First"


def test_a_reason_longer_than_allowed_comes_back_with_the_text(admin_client_acme, confirmed):
    reason = "Because " + "x" * 600

    response = admin_client_acme.post(_url("booking_cancel", confirmed), {"reason": reason})

    body = response.content.decode()
    assert response.status_code == 400
    assert "at most 500 characters" in body
    assert reason in body


@pytest.mark.parametrize(
    ("action", "status"), [("booking_completed", "completed"), ("booking_no_show", "no_show")]
)
def test_a_started_booking_is_marked_completed_or_no_show(
    admin_client_acme, clinic, action, status
):
    started = booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=timezone.now() - dt.timedelta(minutes=40),
    )

    response = admin_client_acme.post(_url(action, started))

    assert response.status_code == 302
    started.refresh_from_db()
    assert started.status == status
    assert BookingEvent.objects.filter(booking=started, kind=status).exists()


def test_a_future_booking_cannot_be_marked_no_show(admin_client_acme, confirmed):
    response = admin_client_acme.post(_url("booking_no_show", confirmed))

    assert response.status_code == 409
    assert "once it has started" in response.content.decode()
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED


def test_the_detail_offers_only_the_actions_that_apply(admin_client_acme, clinic, confirmed):
    started = booking_row(
        service=clinic.service,
        resource=clinic.jones,
        starts_at=timezone.now() - dt.timedelta(minutes=10),
    )

    future = admin_client_acme.get(_url("booking", confirmed)).content.decode()
    past = admin_client_acme.get(_url("booking", started)).content.decode()

    assert "Cancel booking" in future and "Reschedule" in future
    assert "Mark completed" not in future and ">Confirm<" not in future
    assert "Mark completed" in past and "No-show" in past


# --- Reschedule ---------------------------------------------------------------------


def test_reschedule_lists_the_free_times_of_the_chosen_day(admin_client_acme, clinic, confirmed):
    other_day = local_at(clinic.location, days=4, hour=14)
    slots_open(resource=clinic.smith, starts_at=other_day, count=2)

    response = admin_client_acme.get(
        _url("booking_reschedule", confirmed),
        {"date": other_day.date().isoformat(), "who": str(clinic.smith.pk)},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Free times on {other_day:%A %-d %B %Y}" in body
    assert ">14:00<" in body and ">14:30<" in body
    assert f'value="{other_day.isoformat()}"' in body


def test_rescheduling_to_a_free_time_moves_the_booking(admin_client_acme, clinic, confirmed):
    new_start = local_at(clinic.location, days=4, hour=14)
    slots_open(resource=clinic.jones, starts_at=new_start)

    response = admin_client_acme.post(
        _url("booking_reschedule", confirmed),
        {"start": new_start.isoformat(), "resource": str(clinic.jones.pk)},
    )

    assert response.status_code == 302
    assert response["Location"] == _url("booking", confirmed)
    old_start = confirmed.starts_at
    confirmed.refresh_from_db()
    assert (confirmed.starts_at, confirmed.resource_id) == (new_start, clinic.jones.pk)
    event = BookingEvent.objects.get(booking=confirmed, kind="rescheduled")
    assert (event.from_starts_at, event.to_starts_at) == (old_start, new_start)


def test_rescheduling_under_htmx_navigates_to_the_booking(admin_client_acme, clinic, confirmed):
    new_start = local_at(clinic.location, days=4, hour=14)
    slots_open(resource=clinic.smith, starts_at=new_start)

    response = admin_client_acme.post(
        _url("booking_reschedule", confirmed),
        {"start": new_start.isoformat(), "resource": str(clinic.smith.pk)},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == _url("booking", confirmed)


def test_rescheduling_to_a_taken_time_says_so_and_changes_nothing(
    admin_client_acme, clinic, confirmed
):
    taken = booking_made(
        service=clinic.service,
        resource=clinic.jones,
        starts_at=local_at(clinic.location, days=4, hour=9),
    )

    response = admin_client_acme.post(
        _url("booking_reschedule", confirmed),
        {
            "start": taken.starts_at.isoformat(),
            "resource": str(clinic.jones.pk),
            "date": taken.starts_at.date().isoformat(),
            "who": "any",
        },
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert "That time is no longer available." in body
    assert f"Free times on {taken.starts_at:%A %-d %B %Y}" in body
    before = confirmed.starts_at
    confirmed.refresh_from_db()
    assert confirmed.starts_at == before


@pytest.mark.parametrize(
    "data",
    [
        {"start": "tomorrow at ten", "resource": "x"},
        {"start": "2031-01-15T10:00:00", "resource": "01a237aa-8a67-7a58-bf5c-585971e34063"},
        {"start": "9999-12-31T23:59:00+14:00", "resource": "01a237aa-8a67-7a58-bf5c-585971e34063"},
        {"start": "", "resource": ""},
        {"date": "2031-13-01", "who": "nobody"},
    ],
)
def test_rescheduling_with_bad_input_is_refused_plainly(admin_client_acme, confirmed, data):
    response = admin_client_acme.post(_url("booking_reschedule", confirmed), data)

    assert response.status_code == 400
    assert "Free times on" in response.content.decode()
    before = confirmed.starts_at
    confirmed.refresh_from_db()
    assert confirmed.starts_at == before


def test_a_lapsed_hold_offers_no_action_and_says_why(admin_client_acme, clinic):
    lapsed = booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=2, hour=9),
        status=Status.HELD,
        hold_expires_at=timezone.now() - dt.timedelta(minutes=1),
    )

    body = admin_client_acme.get(_url("booking", lapsed)).content.decode()

    assert "The hold on this time has lapsed" in body
    assert ">Confirm<" not in body and "Cancel booking" not in body
