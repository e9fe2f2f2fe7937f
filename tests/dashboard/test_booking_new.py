"""The "New booking" screen: front desk and up book for a customer who phoned or walked
in, over HTTP (pages and their htmx partials)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.bookings import pii
from apps.bookings.models import Actor, Booking, BookingEvent, Customer, Payment
from apps.calendars.grid.services import resources_materialize
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.models import Notification
from tests.api.calls import key_client
from tests.billing.paying import connected
from tests.dashboard.factories import (
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
    booking_made,
    local_at,
    slots_open,
)
from tests.dashboard.screens import HOST
from tests.plugins.factories import MembershipFactory

pytestmark = pytest.mark.django_db

NEW = reverse("dashboard:booking_new")


@pytest.fixture
def open_day(clinic):
    """Dr Smith's slots three days ahead, 09:00-12:00 London time."""
    start = local_at(clinic.location, days=3, hour=9)
    slots_open(resource=clinic.smith, starts_at=start, count=6)
    return start


def _form(clinic, when: dt.datetime, **changes: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "request_key": uuid.uuid4().hex,
        "customer": "new",
        "name": "Ada Lovelace",
        "email": "ada@example.test",
        "phone": "",
        "service": str(clinic.service.pk),
        "resource": str(clinic.smith.pk),
        "date": when.date().isoformat(),
        "start": when.isoformat(),
        "mode": "confirm",
        "payment": "at_venue",
        "notify": "on",
        "notes": "",
        "override_reason": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_new_booking_page_is_reachable_from_the_list_and_the_calendar(client_as, clinic, open_day):
    client = client_as("frontdesk")
    booking_made(
        service=clinic.service, resource=clinic.smith, starts_at=open_day + dt.timedelta(hours=1)
    )

    listing = client.get(reverse("dashboard:bookings")).content.decode()
    assert f'href="{NEW}"' in listing
    day = open_day.date().isoformat()
    calendar = client.get(
        reverse("dashboard:calendar"), {"view": "day", "date": day}
    ).content.decode()
    link = f"{NEW}?resource={clinic.smith.pk}&amp;date={day}&amp;time="
    assert f"{link}09:00" in calendar and f"{link}09:30" in calendar
    assert f"{link}10:00" not in calendar  # booked: no way in from there
    assert f"{link}10:30" in calendar

    # following the calendar's link prefills the person, the day and its free times
    page = client.get(NEW, {"resource": str(clinic.smith.pk), "date": day, "time": "09:00"})
    body = page.content.decode()
    assert page.status_code == 200
    assert f'<option value="{clinic.smith.pk}" selected>' in body
    assert f'<option value="{clinic.service.pk}" selected>' in body  # his only service
    assert f'value="{(open_day + dt.timedelta(minutes=30)).isoformat()}"' in body
    assert 'value="09:00"' in body


def test_free_times_of_the_chosen_day_come_from_availability(client_as, clinic, open_day):
    client = client_as("frontdesk")
    booking_made(service=clinic.service, resource=clinic.smith, starts_at=open_day)

    response = client.get(
        reverse("dashboard:booking_new_times"),
        {
            "service": str(clinic.service.pk),
            "resource": str(clinic.smith.pk),
            "date": open_day.date().isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert f'value="{open_day.isoformat()}"' not in body  # taken
    later = (open_day + dt.timedelta(minutes=30)).isoformat()
    assert f'value="{later}"' in body


def test_customer_search_finds_by_exact_email_phone_or_name_start(client_as, clinic):
    client = client_as("frontdesk")
    ada = Customer.objects.create(
        name="Ada Lovelace",
        email_encrypted=pii.pii_encrypt("ada@example.test"),
        email_hash=pii.lookup_hash("ada@example.test"),
        phone_encrypted=pii.pii_encrypt("+447911123456"),
        phone_hash=pii.lookup_hash("+447911123456"),
    )
    url = reverse("dashboard:booking_new_customers")

    for query in ("ada@example.test", "+44 7911 123456", "Ad"):
        body = client.get(url, {"q": query}, HTTP_HX_REQUEST="true").content.decode()
        assert f'value="{ada.pk}"' in body, query
        assert "a***@e***.test" in body  # masked, never the address itself
        assert "ada@example.test" not in body
    body = client.get(url, {"q": "Grace"}).content.decode()
    assert "No customer matches" in body


@pytest.mark.parametrize(
    ("query", "reason"),
    [("Ad\x00a", "Null characters are not allowed."), ("A" * 255, "at most 254 characters")],
)
def test_a_search_the_field_refuses_finds_nobody_and_says_why(client_as, clinic, query, reason):
    client = client_as("frontdesk")
    Customer.objects.create(name="Ada Lovelace", email_hash="x", phone_hash="")
    customers = reverse("dashboard:booking_new_customers")

    for response in (
        client.get(customers, {"q": query}, HTTP_HX_REQUEST="true"),
        client.get(NEW, {"q": query}),
    ):
        body = response.content.decode()
        assert response.status_code == 200
        assert reason in body
        assert "Ada Lovelace" not in body and "No customer matches" not in body


def test_a_booking_sent_with_a_refused_search_keeps_what_was_typed(client_as, clinic, open_day):
    client = client_as("frontdesk")

    response = client.post(NEW, _form(clinic, open_day, q="Ad\x00a", notes="Left arm"))

    body = response.content.decode()
    assert response.status_code == 400
    assert "Null characters are not allowed." in body
    assert 'value="Ada Lovelace"' in body and "Left arm" in body
    assert not Booking.objects.exists()


def test_front_desk_books_a_new_customer_and_confirms_at_once(client_as, clinic, open_day):
    client = client_as("frontdesk")

    response = client.post(NEW, _form(clinic, open_day))

    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:booking", args=[booking.pk])
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.source == Booking.Source.ADMIN
    assert booking.created_by_type == Actor.STAFF
    assert booking.customer.name == "Ada Lovelace"
    held = booking.events.get(kind=BookingEvent.Kind.HELD)
    assert held.actor_type == Actor.STAFF and held.actor_id == booking.created_by_id
    assert Notification.objects.filter(
        booking=booking, kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    ).exists()


def test_a_second_press_of_the_button_books_once(client_as, clinic, open_day):
    client = client_as("frontdesk")
    data = _form(clinic, open_day)

    first = client.post(NEW, data)
    second = client.post(NEW, data)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Booking.objects.count() == 1


def test_front_desk_holds_an_existing_customer(client_as, clinic, open_day):
    client = client_as("frontdesk")
    earlier = booking_made(
        service=clinic.service,
        resource=clinic.jones,
        starts_at=local_at(clinic.location, days=5, hour=10),
        name="Grace Hopper",
    )

    response = client.post(
        NEW,
        _form(
            clinic,
            open_day,
            customer=str(earlier.customer_id),
            name="",
            email="",
            mode="hold",
        ),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/dashboard/bookings/")
    booking = Booking.objects.exclude(pk=earlier.pk).get()
    assert booking.status == Booking.Status.HELD
    assert booking.customer_id == earlier.customer_id
    assert not Notification.objects.filter(booking=booking).exists()


def test_a_refused_booking_keeps_what_was_typed(client_as, clinic, open_day):
    client = client_as("frontdesk")
    booking_made(service=clinic.service, resource=clinic.smith, starts_at=open_day)

    response = client.post(
        NEW,
        _form(clinic, open_day, name="Charles Babbage", email="charles@example.test"),
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert 'value="Charles Babbage"' in body
    assert 'value="charles@example.test"' in body
    assert Booking.objects.count() == 1


def test_form_errors_name_the_fields_and_keep_the_rest(client_as, clinic, open_day):
    client = client_as("frontdesk")

    response = client.post(
        NEW, _form(clinic, open_day, email="", start="not a time", notes="Bring the X-ray")
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter the customer&#x27;s email." in body
    assert "Choose one of the free times." in body
    assert "Bring the X-ray" in body
    assert not Booking.objects.exists()


def test_too_soon_needs_a_reason_which_the_booking_keeps(client_as, clinic):
    client = client_as("frontdesk")
    clinic.service.min_notice_minutes = 24 * 60
    clinic.service.save(update_fields=["min_notice_minutes"])
    soon = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    slots_open(resource=clinic.smith, starts_at=soon)

    refused = client.post(NEW, _form(clinic, soon))
    assert refused.status_code == 422
    assert "To book outside the booking window, give a reason." in refused.content.decode()

    booked = client.post(NEW, _form(clinic, soon, override_reason="Walked in, in pain"))
    assert booked.status_code == 302
    booking = Booking.objects.get()
    assert booking.window_override_reason == "Walked in, in pain"
    page = client.get(reverse("dashboard:booking", args=[booking.pk])).content.decode()
    assert "Walked in, in pain" in page


def test_a_typed_time_beyond_the_horizon_is_booked_with_a_reason(client_as, clinic, acme):
    client = client_as("frontdesk")
    WeeklyRuleFactory.create(resource=clinic.smith, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    resources_materialize(resources=[clinic.smith], days=7)
    far = local_at(clinic.location, days=acme.horizon_days + 20, hour=10)
    data = _form(clinic, far, start="", time="10:00", override_reason="Booked for next season")

    response = client.post(NEW, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    booking = Booking.objects.get()
    assert booking.starts_at == far
    assert booking.status == Booking.Status.CONFIRMED


def test_a_paid_service_is_marked_pay_at_venue(client_as, clinic, open_day):
    client = client_as("frontdesk")
    clinic.service.price, clinic.service.requires_payment = Decimal("40.00"), True
    clinic.service.save(update_fields=["price", "requires_payment"])

    response = client.post(NEW, _form(clinic, open_day, payment="at_venue"))

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.status, booking.payment_status) == ("confirmed", "at_venue")
    page = client.get(reverse("dashboard:booking", args=[booking.pk])).content.decode()
    assert "Pay at venue" in page
    # and the API says so too
    listed = key_client("acme.localhost", "frontdesk").get("/api/v1/admin/bookings")
    assert listed.status_code == 200, listed.content
    [row] = listed.json()["data"]
    assert (row["payment_status"], row["source"]) == ("at_venue", "admin")


def test_a_paid_service_held_by_staff_emails_a_payment_link(
    client_as, acme, stripe_standin, mailoutbox
):
    # given a business taking payments on its own account, and a paid service
    connected(acme, stripe_standin)
    location_resource = ResourceFactory.create(name="Sam")
    service = ServiceFactory.create(
        name="Physiotherapy",
        price=Decimal("60.00"),
        currency="GBP",
        requires_payment=True,
        resources=[location_resource],
    )
    start = local_at(location_resource.location, days=3, hour=10)
    slots_open(resource=location_resource, starts_at=start)
    client = client_as("frontdesk")
    data = {
        "request_key": uuid.uuid4().hex,
        "customer": "new",
        "name": "Ann Lee",
        "email": "ann@example.com",
        "service": str(service.pk),
        "resource": str(location_resource.pk),
        "date": start.date().isoformat(),
        "start": start.isoformat(),
        "mode": "hold",
        "payment": "link",
        "notify": "on",
    }

    # when front desk holds it with a payment link
    response = client.post(NEW, data)

    # then the hold waits for the payment, its checkout is open, and the link is emailed
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.status, booking.payment_status) == ("held", "pending")
    checkout = Payment.objects.get(booking=booking, status=Payment.Status.OPEN)
    assert checkout.checkout_url.startswith(f"{stripe_standin.url}/checkout/")
    assert booking.hold_expires_at - timezone.now() > dt.timedelta(minutes=29)
    link = Notification.objects.get(booking=booking, kind=Notification.Kind.PAYMENT_LINK)
    assert notification_send(notification_id=link.pk) == SendOutcome.SENT
    sent = [m for m in mailoutbox if m.to == ["ann@example.com"]][-1]
    assert checkout.checkout_url in sent.body
    assert "Pay to confirm" in sent.subject
    assert not sent.attachments  # not booked yet: no calendar invitation


def test_a_hold_cannot_skip_its_confirmation(client_as, clinic, open_day):
    # given front desk holding a time with "send a confirmation" unticked
    client = client_as("frontdesk")

    # when they book
    response = client.post(NEW, _form(clinic, open_day, mode="hold", notify=None))

    # then nothing is held: the box is named, since the confirmation goes out (or not)
    # only when the hold is confirmed, and the rest is kept
    body = response.content.decode()
    assert response.status_code == 400
    assert "A held booking&#x27;s confirmation is sent when it is confirmed" in body
    assert 'value="Ada Lovelace"' in body
    assert not Booking.objects.exists()


def test_a_typed_time_with_seconds_is_a_field_error(client_as, clinic, open_day):
    client = client_as("frontdesk")
    data = _form(clinic, open_day, start="", time="10:00:30", notes="Bring the X-ray")

    response = client.post(NEW, data)

    body = response.content.decode()
    assert response.status_code == 400
    assert "Type the time in hours and minutes, e.g. 10:30." in body
    assert "Choose one of the free times, or type a time." not in body
    assert 'value="10:00:30"' in body and "Bring the X-ray" in body
    assert not Booking.objects.exists()


def test_a_request_key_sent_with_other_details_is_replaced(client_as, clinic, open_day):
    # given a booking made with this form's key
    client = client_as("frontdesk")
    data = _form(clinic, open_day)
    assert client.post(NEW, data).status_code == 302

    # when the same key comes back with other details (another time)
    later = open_day + dt.timedelta(minutes=30)
    changed = {**data, "start": later.isoformat()}
    refused = client.post(NEW, changed, HTTP_HX_REQUEST="true")

    # then staff are told in their words, and the form carries a fresh key...
    body = refused.content.decode()
    assert refused.status_code == 409
    assert "This form was already sent with other details." in body
    assert "Idempotency-Key" not in body
    assert f'value="{data["request_key"]}"' not in body
    [fresh] = [
        line.split('value="')[1].split('"')[0]
        for line in body.splitlines()
        if 'name="request_key"' in line
    ]
    assert fresh
    # ...so the next press books
    booked = client.post(NEW, {**changed, "request_key": fresh})
    assert booked.status_code == 302
    assert Booking.objects.filter(starts_at=later).exists()


def test_a_payment_link_is_offered_only_with_a_payment_account(client_as, clinic, open_day):
    # given a paid service and a business without a connected payment account
    client = client_as("frontdesk")
    clinic.service.price, clinic.service.requires_payment = Decimal("40.00"), True
    clinic.service.save(update_fields=["price", "requires_payment"])

    page = client.get(NEW, {"service": str(clinic.service.pk)}).content.decode()
    refused = client.post(NEW, _form(clinic, open_day, mode="hold", payment="link"))

    assert 'name="payment" value="at_venue"' in page
    assert 'value="link"' not in page
    body = refused.content.decode()
    assert refused.status_code == 400
    assert "Payment links need a connected payment account" in body
    assert not Booking.objects.exists()


def test_new_booking_is_for_staff_of_this_business_only(client, client_as, clinic, globex):
    customers = reverse("dashboard:booking_new_customers")
    times = reverse("dashboard:booking_new_times")
    outsider = Client(HTTP_HOST=HOST)
    outsider.force_login(MembershipFactory.create(tenant=globex, role="admin").user)
    open_day = local_at(clinic.location, days=3, hour=9)

    for url in (NEW, customers, times):
        assert client.get(url, HTTP_HOST=HOST).status_code == 302, url  # to the login
        assert outsider.get(url).status_code == 404, url
    assert client.post(NEW, _form(clinic, open_day), HTTP_HOST=HOST).status_code == 302
    assert outsider.post(NEW, _form(clinic, open_day)).status_code == 404
    assert client_as("frontdesk").get(NEW).status_code == 200
    assert not Booking.objects.exists()
