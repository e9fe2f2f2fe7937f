"""Refunds of paid bookings: the business's policy decides what a cancellation gives
back (boundaries and a clock-change day included), the refund goes through Stripe once
on the business's account, and never exceeds what was paid."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.accounts.models import Membership
from apps.accounts.services import tenant_settings_update
from apps.billing.refunds import booking_refund, booking_refund_due_make, refund_by_policy
from apps.bookings.models import Booking, Payment
from apps.bookings.services import booking_cancel
from apps.core.errors import ValidationFailed
from apps.notifications.messages.delivery import SendOutcome, notification_send
from apps.notifications.models import Notification
from apps.notifications.webhooks.models import WebhookEvent
from apps.notifications.webhooks.selectors import webhook_event_body
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.api.calls import key_client, rates
from tests.billing.paying import CUSTOMER, deliver, hold, pay_through_the_page
from tests.plugins.factories import MembershipFactory, member_client

LONDON = ZoneInfo("Europe/London")
STAFF = CUSTOMER


def _paid_booking(acme_host, paid, standin) -> Booking:
    booking = hold(paid)
    session_id = pay_through_the_page(standin, acme_host, booking)
    standin.checkout_complete(session_id)
    deliver(standin, standin.events("checkout.session.completed")[0])
    booking.refresh_from_db()
    assert booking.payment_status == Booking.PaymentStatus.PAID
    return booking


def _policy(tenant, *, full: int, partial: int = 0, percent: int = 50):
    tenant_settings_update(
        tenant=tenant,
        data={
            "refund_full_hours": full,
            "refund_partial_hours": partial,
            "refund_partial_percent": percent,
        },
    )


def test_the_policy_at_each_boundary(acme, acme_host, paid, stripe_standin):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24, partial=2, percent=50)
    start = booking.starts_at

    def given_back(hours_before: float) -> Decimal:
        cancelled_at = start - dt.timedelta(hours=hours_before)
        return refund_by_policy(booking=booking, tenant=acme, cancelled_at=cancelled_at)

    assert given_back(48) == Decimal("60.00")
    assert given_back(24) == Decimal("60.00")  # at the boundary: in full
    assert given_back(23.99) == Decimal("30.00")
    assert given_back(2) == Decimal("30.00")
    assert given_back(1.99) == Decimal("0")
    _policy(acme, full=24, partial=0)
    assert given_back(23.99) == Decimal("0")  # no partial tier


def test_the_policy_counts_real_hours_across_a_clock_change(acme, acme_host, paid, stripe_standin):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24)
    # 12:00 on the Sunday clocks go forward, cancelled at 12:00 the day before: the wall
    # clock says a day, but only 23 hours pass.
    booking.starts_at = dt.datetime(2027, 3, 28, 12, 0, tzinfo=LONDON)
    day_before = dt.datetime(2027, 3, 27, 12, 0, tzinfo=LONDON)
    hour_earlier = dt.datetime(2027, 3, 27, 11, 0, tzinfo=LONDON)

    assert refund_by_policy(booking=booking, tenant=acme, cancelled_at=day_before) == 0
    assert refund_by_policy(booking=booking, tenant=acme, cancelled_at=hour_earlier) == Decimal(
        "60.00"
    )


def test_cancelling_a_paid_booking_refunds_it_in_full_once(
    acme, acme_host, paid, stripe_standin, django_capture_on_commit_callbacks
):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24)

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF, reason="Changed plans")

    booking.refresh_from_db()
    assert booking.payment_status == Booking.PaymentStatus.REFUNDED
    refund = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert (refund.amount, refund.currency, refund.status) == (Decimal("60.00"), "GBP", "succeeded")
    calls = [r for r in stripe_standin.requests(method="POST") if r["path"] == "/v1/refunds"]
    assert [c["idempotency_key"] for c in calls] == [f"timenest-cancel-refund-{booking.pk}"]
    assert calls[0]["stripe_account"] == paid["account"].account_id


def test_a_late_cancellation_refunds_the_partial_share(
    acme, acme_host, paid, stripe_standin, django_capture_on_commit_callbacks
):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24 * 30, partial=24, percent=25)  # three days ahead: the partial tier

    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF, reason="Ill")

    booking.refresh_from_db()
    assert booking.payment_status == Booking.PaymentStatus.PARTIALLY_REFUNDED
    refund = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert refund.amount == Decimal("15.00")


def test_a_refund_larger_than_what_was_paid_is_refused(acme, acme_host, paid, stripe_standin):
    booking = _paid_booking(acme_host, paid, stripe_standin)

    with pytest.raises(ValidationFailed) as refused:
        booking_refund(booking=booking, amount=Decimal("60.01"), reason="x", actor=STAFF, key="k-1")

    assert refused.value.details[0].field == "amount"
    booking_refund(
        booking=booking, amount=Decimal("20.00"), reason="goodwill", actor=STAFF, key="k-2"
    )
    with pytest.raises(ValidationFailed):
        booking_refund(booking=booking, amount=Decimal("40.01"), reason="x", actor=STAFF, key="k-3")
    assert not [
        r
        for r in stripe_standin.requests(method="POST")
        if r["path"] == "/v1/refunds" and r["idempotency_key"] in {"k-1", "k-3"}
    ]


def test_the_refund_policy_is_a_setting_with_clear_errors(acme, acme_host):
    admin = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN), acme_host
    )
    form = admin.get(reverse("dashboard:settings")).content.decode()
    assert "Full refund when cancelled at least" in form

    with pytest.raises(ValidationFailed) as refused:
        tenant_settings_update(
            tenant=acme, data={"refund_full_hours": 24, "refund_partial_hours": 48}
        )
    assert refused.value.details[0].field == "refund_partial_hours"


def test_integrators_see_the_money_in_the_api_and_in_webhooks(
    acme, acme_host, paid, stripe_standin, settings, django_capture_on_commit_callbacks
):
    settings.REST_FRAMEWORK = rates()
    webhook_endpoint_create(
        url="https://hooks.example.com/money", events=["booking.paid", "booking.refunded"]
    )
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24 * 30, partial=24, percent=25)
    with django_capture_on_commit_callbacks(execute=False):
        booking_cancel(booking=booking, actor=STAFF, reason="Ill")
    due = Payment.objects.get(booking=booking, status=Payment.Status.DUE)
    booking_refund_due_make(refund_id=due.pk)

    api = key_client(acme_host, "readonly")
    shown = api.get(f"/api/v1/bookings/{booking.pk}").json()
    assert (shown["payment_status"], shown["amount_paid"], shown["amount_refunded"]) == (
        "partially_refunded",
        "60.00",
        "15.00",
    )
    events = {
        event.type: json.loads(webhook_event_body(event=event))["data"]
        for event in WebhookEvent.objects.filter(booking=booking)
    }
    assert events["booking.paid"]["payment"] == {"amount": "60.00", "currency": "GBP"}
    assert events["booking.refunded"]["payment"] == {"amount": "15.00", "currency": "GBP"}
    assert events["booking.refunded"]["booking"]["payment_status"] == "partially_refunded"


@pytest.mark.parametrize(
    ("choice", "amount", "refunded"),
    [("amount", "10.00", Decimal("10.00")), ("full", "", Decimal("60.00")), ("none", "", None)],
)
def test_staff_decide_the_refund_when_they_cancel(
    acme,
    acme_host,
    paid,
    stripe_standin,
    django_capture_on_commit_callbacks,
    choice,
    amount,
    refunded,
):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=0)  # the policy alone would give everything back
    staff = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), acme_host
    )
    page = staff.get(reverse("dashboard:booking", args=[booking.pk])).content.decode()
    assert "As the refund policy says" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("dashboard:booking_cancel", args=[booking.pk]),
            {"reason": "Doctor ill", "refund": choice, "refund_amount": amount},
        )

    assert response.status_code in (200, 302, 303)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    refunds = list(Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND))
    if refunded is None:
        assert refunds == []
        assert booking.payment_status == Booking.PaymentStatus.PAID
    else:
        assert [r.amount for r in refunds] == [refunded]
        assert "by staff: Doctor ill" in refunds[0].reason


def test_a_staff_refund_over_what_was_paid_keeps_the_booking_and_says_why(
    acme, acme_host, paid, stripe_standin
):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    staff = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), acme_host
    )

    response = staff.post(
        reverse("dashboard:booking_cancel", args=[booking.pk]),
        {"reason": "Doctor ill", "refund": "amount", "refund_amount": "70.00"},
    )

    assert response.status_code == 400
    assert "At most 60.00 can be refunded" in response.content.decode()
    assert 'value="70.00"' in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_every_refund_of_a_booking_tells_the_customer_what_it_gives_back(
    acme, acme_host, paid, stripe_standin, mailoutbox, django_capture_on_commit_callbacks
):
    # given a paid booking that staff already gave 20.00 back on, and whose notice went out
    booking = _paid_booking(acme_host, paid, stripe_standin)
    booking_refund(
        booking=booking, amount=Decimal("20.00"), reason="goodwill", actor=STAFF, key="gw-1"
    )
    first = Notification.objects.get(booking=booking, kind=Notification.Kind.REFUNDED)
    assert notification_send(notification_id=first.pk) == SendOutcome.SENT

    # when the customer cancels and the policy gives back the other 40.00
    _policy(acme, full=24)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=STAFF, reason="Changed plans")

    # then they are told about that refund too, each notice saying its own amount
    notices = list(
        Notification.objects.filter(booking=booking, kind=Notification.Kind.REFUNDED).order_by(
            "created_at"
        )
    )
    assert len(notices) == 2
    for notice in notices:
        if notice.status == Notification.Status.PENDING:
            assert notification_send(notification_id=notice.pk) == SendOutcome.SENT
    told = [m.body for m in mailoutbox if "Your payment is refunded" in m.body]
    assert len(told) == 2
    assert "£20.00 of what you paid" in told[0]
    assert "£40.00 of what you paid" in told[1]
