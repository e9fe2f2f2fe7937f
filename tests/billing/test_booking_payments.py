"""Customers pay for bookings on the business's own Stripe account (the stand-in):
the business connects its account, a paid hold gets a checkout (`payment_url`), paying
confirms the booking once, a hold that ends closes its checkout, and a payment that
comes after the hold ended is refunded, never kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Membership
from apps.billing.models import StripeAccount, StripeEvent
from apps.bookings.access_tokens import booking_access_token
from apps.bookings.errors import SlotFull
from apps.bookings.models import Booking, Payment
from apps.bookings.services import CustomerInput, booking_hold, holds_expire
from apps.calendars.models import SlotInstance
from apps.core.errors import ValidationFailed
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.models import Notification
from apps.resources.services import service_update
from tests.api.calls import key_client, rates, send_json
from tests.billing.paying import (
    CUSTOMER,
    deliver,
    hold,
    pay_through_the_page,
)
from tests.plugins.factories import MembershipFactory, member_client, verified_staff_client


def test_the_api_gives_a_paid_hold_its_checkout_and_keeps_the_hold_as_long(
    acme, acme_host, paid, stripe_standin, settings
):
    settings.REST_FRAMEWORK = rates()
    client = key_client(acme_host, "frontdesk")
    body = {
        "service": str(paid["service"].pk),
        "slot": str(paid["slots"][0].pk),
        "customer": {"name": "Ann Lee", "email": "ann@example.com"},
    }

    response = send_json(client, "post", "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY="p-1")

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["payment_status"] == "pending"
    assert data["payment_url"].startswith(f"{stripe_standin.url}/checkout/")
    booking = Booking.objects.get(pk=data["id"])
    assert booking.hold_expires_at - timezone.now() > dt.timedelta(minutes=29)
    session = stripe_standin.object(data["payment_url"].rsplit("/", 1)[-1])
    assert session["amount_total"] == 6000 and session["currency"] == "gbp"
    assert session["metadata"]["booking"] == str(booking.pk)
    creates = [
        r for r in stripe_standin.requests(method="POST") if r["path"] == "/v1/checkout/sessions"
    ]
    assert creates[0]["stripe_account"] == paid["account"].account_id
    assert creates[0]["idempotency_key"].startswith(f"timenest-booking-checkout-{booking.pk}-0-")
    # the same booking read later still shows where to pay
    again = client.get(f"/api/v1/bookings/{booking.pk}")
    assert again.json()["payment_url"] == data["payment_url"]


def test_paying_confirms_the_booking_once_however_often_stripe_says_so(
    acme, acme_host, paid, stripe_standin
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(session_id)
    event = stripe_standin.events("checkout.session.completed")[0]
    assert event["account"] == paid["account"].account_id

    answers = [deliver(stripe_standin, event).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.payment_status == Booking.PaymentStatus.PAID
    charge = Payment.objects.get(booking=booking)
    assert (charge.kind, charge.status, charge.amount, charge.currency) == (
        "charge",
        "succeeded",
        Decimal("60.00"),
        "GBP",
    )
    assert charge.payment_intent_id.startswith("pi_")
    assert StripeEvent.objects.get(pk=event["id"]).attempts == 1


def test_a_payment_after_the_hold_ended_and_the_place_went_is_refunded_in_full(
    acme, acme_host, paid, stripe_standin
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    # the sweeper ends the hold first (its checkout's expiry has not reached Stripe yet)
    holds_expire(now=timezone.now() + dt.timedelta(hours=1))
    # and someone else takes the place
    taker = booking_hold(
        service=paid["service"],
        resource=paid["physio"],
        starts_at=booking.starts_at,
        customer=CustomerInput(name="Bo Chen", email="bo@example.com"),
        actor=CUSTOMER,
    )
    stripe_standin.checkout_complete(session_id)
    event = stripe_standin.events("checkout.session.completed")[0]

    assert deliver(stripe_standin, event).status_code == 200
    assert deliver(stripe_standin, event).status_code == 200  # and again: one refund

    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert booking.payment_status == Booking.PaymentStatus.REFUNDED
    refunds = Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND)
    assert [(r.amount, r.status) for r in refunds] == [(Decimal("60.00"), "succeeded")]
    stripe_refunds = [
        r for r in stripe_standin.requests(method="POST") if r["path"] == "/v1/refunds"
    ]
    assert len({r["idempotency_key"] for r in stripe_refunds}) == 1
    intent = stripe_standin.object(event["data"]["object"]["payment_intent"])
    charge = stripe_standin.object(intent["latest_charge"])
    assert charge["amount_refunded"] == 6000
    taker.refresh_from_db()
    assert taker.status == Booking.Status.HELD


def test_a_payment_after_the_hold_ended_takes_the_place_again_when_it_is_free(
    acme, acme_host, paid, stripe_standin
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    holds_expire(now=timezone.now() + dt.timedelta(hours=1))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    stripe_standin.checkout_complete(session_id)

    deliver(stripe_standin, stripe_standin.events("checkout.session.completed")[0])

    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    assert not Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND).exists()
    slots = SlotInstance.objects.filter(
        resource=paid["physio"], starts_at__gte=booking.starts_at, starts_at__lt=booking.ends_at
    )
    assert [(slot.booked, slot.held) for slot in slots] == [(1, 0)] * slots.count()
    # the place is taken: nobody else can hold it now
    with pytest.raises(SlotFull):
        booking_hold(
            service=paid["service"],
            resource=paid["physio"],
            starts_at=booking.starts_at,
            customer=CustomerInput(name="Bo Chen", email="bo@example.com"),
            actor=CUSTOMER,
        )


def test_a_payment_before_the_sweeper_keeps_the_booking(acme, acme_host, paid, stripe_standin):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(session_id)
    deliver(stripe_standin, stripe_standin.events("checkout.session.completed")[0])

    holds_expire(now=timezone.now() + dt.timedelta(hours=1))

    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    assert not Payment.objects.filter(kind=Payment.Kind.REFUND).exists()


def test_a_hold_that_ends_closes_its_checkout(
    acme, acme_host, paid, stripe_standin, django_capture_on_commit_callbacks
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)

    with django_capture_on_commit_callbacks(execute=True):
        holds_expire(now=timezone.now() + dt.timedelta(hours=1))

    assert stripe_standin.object(session_id)["status"] == "expired"
    assert Payment.objects.get(booking=booking).status == Payment.Status.EXPIRED


def test_the_hold_page_offers_to_pay_and_survives_stripe_out_of_reach(
    acme, acme_host, paid, stripe_standin, monkeypatch
):
    import stripe

    booking = hold(paid)
    token = booking_access_token(booking_id=booking.pk)
    customer = Client(HTTP_HOST=acme_host)
    page = customer.get(reverse("booking:hold", args=[token])).content.decode()
    assert "Pay £60.00 now" in page

    monkeypatch.setattr(stripe, "max_network_retries", 0)
    stripe_standin.fail_next(3, mode="drop")
    down = customer.post(reverse("booking:pay", args=[token]))

    assert down.status_code == 503
    assert "could not be reached" in down.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD
    assert not Payment.objects.filter(booking=booking).exists()
    stripe_standin.fail_next(0)
    assert customer.post(reverse("booking:pay", args=[token])).status_code == 303


def test_an_event_from_another_account_cannot_confirm_this_business_booking(
    acme, acme_host, paid, stripe_standin
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(session_id)
    event = dict(stripe_standin.events("checkout.session.completed")[0])
    event["id"] = "evt_forged_elsewhere"
    event["account"] = "acct_someone_else"

    response = deliver(stripe_standin, event)

    assert response.status_code == 200
    assert StripeEvent.objects.get(pk="evt_forged_elsewhere").note == (
        "no business for this account"
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD


def test_a_restricted_account_turns_online_payment_off(acme, acme_host, paid, stripe_standin):
    stripe_standin.account_restrict(paid["account"].account_id, "requirements.past_due")
    event = stripe_standin.events("account.updated")[0]

    assert deliver(stripe_standin, event).status_code == 200

    account = StripeAccount.objects.get(tenant=acme)
    assert account.charges_enabled is False
    booking = hold(paid)
    token = booking_access_token(booking_id=booking.pk)
    page = Client(HTTP_HOST=acme_host).get(reverse("booking:hold", args=[token]))
    assert "Online payment is not available yet" in page.content.decode()
    assert Client(HTTP_HOST=acme_host).post(reverse("booking:pay", args=[token])).status_code == 409


def test_an_admin_connects_the_business_stripe_account(acme, acme_host, stripe_standin):
    admin = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN), acme_host
    )

    started = admin.post(reverse("dashboard:billing_connect"))

    assert started.status_code == 303
    assert started["Location"].startswith(f"{stripe_standin.url}/connect/")
    account = StripeAccount.objects.get(tenant=acme)
    assert not account.charges_enabled
    stripe_standin.account_onboard(account.account_id)
    back = admin.get(reverse("dashboard:billing") + "?connected=1")
    assert "Customers pay paid services online" in back.content.decode()
    assert StripeAccount.objects.get(tenant=acme).charges_enabled


def test_staff_and_support_see_the_payments_of_a_booking(acme, acme_host, paid, stripe_standin):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(session_id)
    deliver(stripe_standin, stripe_standin.events("checkout.session.completed")[0])
    intent = Payment.objects.get(booking=booking).payment_intent_id
    frontdesk = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), acme_host
    )

    page = frontdesk.get(reverse("dashboard:booking", args=[booking.pk])).content.decode()

    assert "Payments" in page and "£60.00" in page and intent in page
    support = verified_staff_client(acme_host)
    listing = support.get("/admin/bookings/payment/")
    assert listing.status_code == 200
    listed = listing.content.decode()
    assert "60.00" in listed and "Succeeded" in listed
    assert "Add payment" not in listed


def test_a_paid_service_in_a_currency_the_account_cannot_take_is_refused(acme, paid):
    account = paid["account"]
    assert "gbp" in account.currencies and "kes" not in account.currencies

    with pytest.raises(ValidationFailed) as refused:
        service_update(service=paid["service"], data={"currency": "KES", "price": Decimal("6000")})

    messages = {d.field: d.message for d in refused.value.details}
    assert "cannot take payments in KES" in messages["currency"]
    assert service_update(service=paid["service"], data={"currency": "EUR"}).currency == "EUR"
    # a service paid at the venue may be priced in any currency
    at_the_venue = service_update(
        service=paid["service"], data={"currency": "KES", "requires_payment": False}
    )
    assert at_the_venue.currency == "KES"


def test_the_confirmation_email_is_the_receipt(acme, acme_host, paid, stripe_standin, mailoutbox):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(session_id)
    event = stripe_standin.events("checkout.session.completed")[0]

    deliver(stripe_standin, event)
    confirmed = Notification.objects.get(
        booking=booking, kind=Notification.Kind.CONFIRMED, channel=Notification.Channel.EMAIL
    )
    assert notification_send(notification_id=confirmed.pk) == SendOutcome.SENT

    confirmations = [m for m in mailoutbox if m.to == ["ann@example.com"]]
    assert confirmations, [m.subject for m in mailoutbox]
    text = confirmations[-1].body
    assert "Paid:  £60.00 online" in text
    html = confirmations[-1].alternatives[0][0]
    assert "£60.00 online" in html


@pytest.mark.parametrize(
    ("deposit", "expected_minor"),
    [({"deposit_percent": 25}, 1500), ({"deposit_amount": Decimal("10.00")}, 1000)],
)
def test_a_deposit_is_what_the_checkout_takes(
    acme, acme_host, paid, stripe_standin, deposit, expected_minor
):
    service = service_update(service=paid["service"], data=deposit)
    assert service.payment_mode == "deposit"
    booking = hold(paid)

    session_id = pay_through_the_page(stripe_standin, acme_host, booking)

    assert stripe_standin.object(session_id)["amount_total"] == expected_minor
    stripe_standin.checkout_complete(session_id)
    deliver(stripe_standin, stripe_standin.events("checkout.session.completed")[0])
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    assert Payment.objects.get(booking=booking).amount == Decimal(expected_minor) / 100


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"deposit_amount": Decimal("60.00")}, "deposit_amount"),
        ({"deposit_amount": Decimal("0")}, "deposit_amount"),
        ({"deposit_percent": 100}, "deposit_percent"),
        ({"deposit_percent": 10, "deposit_amount": Decimal("5")}, "deposit_percent"),
        ({"deposit_percent": 10, "requires_payment": False}, "deposit_percent"),
    ],
)
def test_a_deposit_that_makes_no_sense_is_refused(acme, paid, data, field):
    with pytest.raises(ValidationFailed) as refused:
        service_update(service=paid["service"], data=data)

    assert field in {detail.field for detail in refused.value.details}


def test_the_api_shows_how_a_service_is_paid(acme, acme_host, paid, settings):
    settings.REST_FRAMEWORK = rates()
    service_update(service=paid["service"], data={"deposit_percent": 20})
    client = key_client(acme_host, "readonly")

    listed = client.get("/api/v1/services").json()["data"]

    shown = next(s for s in listed if s["id"] == str(paid["service"].pk))
    assert (shown["payment_mode"], shown["deposit_percent"], shown["deposit_amount"]) == (
        "deposit",
        20,
        None,
    )


def test_the_hold_page_says_what_the_deposit_is(acme, acme_host, paid):
    service_update(service=paid["service"], data={"deposit_amount": Decimal("15.00")})
    booking = hold(paid)
    token = booking_access_token(booking_id=booking.pk)

    page = Client(HTTP_HOST=acme_host).get(reverse("booking:hold", args=[token])).content.decode()

    assert "A deposit of £15.00 is paid now" in page
    assert "Pay £15.00 now" in page


def test_a_second_payment_for_a_booking_already_paid_is_refunded(
    acme, acme_host, paid, stripe_standin
):
    booking = hold(paid)
    first = pay_through_the_page(stripe_standin, acme_host, booking)
    stripe_standin.checkout_complete(first)
    # the first payment's news is late; the first checkout runs out and a second is paid
    Payment.objects.filter(checkout_session_id=first).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    second = pay_through_the_page(stripe_standin, acme_host, booking)
    assert second != first
    stripe_standin.checkout_complete(second)
    completed = {
        e["data"]["object"]["id"]: e for e in stripe_standin.events("checkout.session.completed")
    }

    deliver(stripe_standin, completed[first])
    deliver(stripe_standin, completed[second])

    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    refunds = Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND)
    assert [r.amount for r in refunds] == [Decimal("60.00")]
    assert refunds[0].payment_intent_id == completed[second]["data"]["object"]["payment_intent"]


def test_an_api_replay_of_a_paid_hold_shows_its_checkout(
    acme, acme_host, paid, stripe_standin, settings
):
    settings.REST_FRAMEWORK = rates()
    client = key_client(acme_host, "frontdesk")
    body = {
        "service": str(paid["service"].pk),
        "slot": str(paid["slots"][0].pk),
        "customer": {"name": "Ann Lee", "email": "ann@example.com"},
    }

    first = send_json(client, "post", "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY="r-1")
    again = send_json(client, "post", "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY="r-1")

    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["payment_url"] == first.json()["payment_url"] is not None
    creates = [
        r for r in stripe_standin.requests(method="POST") if r["path"] == "/v1/checkout/sessions"
    ]
    assert len(creates) == 1


def test_the_bookings_list_reads_payments_in_one_query_whatever_the_page_holds(
    acme, acme_host, paid, settings
):
    settings.REST_FRAMEWORK = rates()
    client = key_client(acme_host, "admin")

    def paid_booking(index: int) -> None:
        booking = hold(paid, index)
        Payment.objects.create(
            booking=booking,
            kind=Payment.Kind.CHARGE,
            status=Payment.Status.SUCCEEDED,
            amount=Decimal("60.00"),
            currency="GBP",
            checkout_session_id=f"cs_test_{index}",
            actor_type="system",
        )
        Booking.objects.filter(pk=booking.pk).update(payment_status="paid")

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            listed = client.get("/api/v1/admin/bookings")
        assert listed.status_code == 200
        assert {b["amount_paid"] for b in listed.json()["data"]} == {"60.00"}
        return len(queries.captured_queries)

    paid_booking(0)
    statements()  # (the first request also reads and caches the API key)
    one = statements()
    paid_booking(1)
    paid_booking(2)
    assert statements() == one


def test_a_customer_whose_late_payment_is_refunded_is_told(
    acme, acme_host, paid, stripe_standin, mailoutbox
):
    booking = hold(paid)
    session_id = pay_through_the_page(stripe_standin, acme_host, booking)
    holds_expire(now=timezone.now() + dt.timedelta(hours=1))
    booking_hold(
        service=paid["service"],
        resource=paid["physio"],
        starts_at=booking.starts_at,
        customer=CustomerInput(name="Bo Chen", email="bo@example.com"),
        actor=CUSTOMER,
    )
    stripe_standin.checkout_complete(session_id)
    deliver(stripe_standin, stripe_standin.events("checkout.session.completed")[0])

    notice = Notification.objects.get(booking=booking, kind=Notification.Kind.REFUNDED)
    assert notification_send(notification_id=notice.pk) == SendOutcome.SENT

    sent = [m for m in mailoutbox if m.to == ["ann@example.com"]][-1]
    assert "Refund:" in sent.subject
    assert "Your payment is refunded" in sent.body
    assert "£60.00 of what you paid" in sent.body
    assert not sent.attachments  # no calendar invitation with a refund
