"""A cancellation's refund is decided in the cancellation's transaction (recorded as a
`due` Payment) and made after the commit; when its task is lost (the broker out of
reach) the sweep makes it later, at the amount decided at cancel time, once — however
often and however concurrently the sweep and the task run."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
import stripe
from celery import current_app
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.accounts.models import Membership, Tenant
from apps.accounts.services import tenant_settings_update
from apps.billing.models import StripeAccount, StripeEvent
from apps.billing.refunds import REFUND_DUE_GRACE, refunds_due_make
from apps.billing.tasks import booking_refund_on_cancel_task, refunds_due_task
from apps.bookings.models import Booking, Payment
from apps.bookings.services import booking_cancel
from tests.billing.paying import CUSTOMER, deliver, hold, paid_setting, pay_through_the_page
from tests.bookings.races import race
from tests.plugins.factories import MembershipFactory, member_client
from tests.plugins.tenant_tables import business_tables_truncate

REFUND_TASK = "billing.booking_refund_on_cancel"


def _paid_booking(host, paid, standin) -> Booking:
    booking = hold(paid)
    session_id = pay_through_the_page(standin, host, booking)
    standin.checkout_complete(session_id)
    deliver(standin, standin.events("checkout.session.completed")[0])
    booking.refresh_from_db()
    assert booking.payment_status == Booking.PaymentStatus.PAID
    return booking


def _policy(tenant, *, full: int, partial: int = 0, percent: int = 50) -> None:
    tenant_settings_update(
        tenant=tenant,
        data={
            "refund_full_hours": full,
            "refund_partial_hours": partial,
            "refund_partial_percent": percent,
        },
    )


@pytest.fixture
def broker_down(monkeypatch):
    """Sending the refund task fails as it does when Redis is out of reach."""
    task = current_app.tasks[REFUND_TASK]

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(task, "apply_async", unreachable)
    return task


def _refund_calls(standin) -> list[dict]:
    return standin.requests(path="/v1/refunds", method="POST")


def _later() -> dt.datetime:
    return timezone.now() + REFUND_DUE_GRACE + dt.timedelta(seconds=1)


def test_beat_sends_the_refund_sweep_every_minute_only_where_a_refund_is_due():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-refunds-due"]

    assert entry["task"] == "accounts.run_where_due"
    assert entry["args"] == ("refunds", "billing.refunds_due")
    assert entry["schedule"].minute == set(range(60))
    assert "billing.refunds_due" in current_app.tasks


def test_a_refund_whose_task_was_lost_is_made_by_the_sweep_at_the_amount_decided(
    acme, acme_host, paid, stripe_standin, broker_down, django_capture_on_commit_callbacks
):
    # given a paid booking three days ahead and a policy that gives 25 % back a day ahead
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24 * 30, partial=24, percent=25)

    # when it is cancelled while the broker is down: the cancellation still succeeds
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=CUSTOMER, reason="Ill")

    # then no refund is made yet, but one of 15.00 is owed
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.payment_status == Booking.PaymentStatus.PAID
    assert _refund_calls(stripe_standin) == []
    due = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert (due.status, due.amount, due.currency) == ("due", Decimal("15.00"), "GBP")

    # a sweep right away leaves it to its task (which might still come)
    assert refunds_due_make() == 0
    assert _refund_calls(stripe_standin) == []

    # the business then changes its policy: the refund keeps the amount decided
    _policy(acme, full=0)
    assert refunds_due_make(now=_later()) == 1

    calls = _refund_calls(stripe_standin)
    assert [(c["idempotency_key"], c["params"]["amount"]) for c in calls] == [
        (f"timenest-cancel-refund-{booking.pk}", "1500")
    ]
    assert calls[0]["stripe_account"] == paid["account"].account_id
    made = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert made.pk == due.pk
    assert (made.status, made.amount) == ("succeeded", Decimal("15.00"))
    assert made.refund_id.startswith("re_")
    booking.refresh_from_db()
    assert booking.payment_status == Booking.PaymentStatus.PARTIALLY_REFUNDED

    # and sweeping again, or the lost task arriving after all, changes nothing
    assert refunds_due_make(now=_later()) == 0
    assert refunds_due_task.delay().get() == 0
    assert (
        booking_refund_on_cancel_task(
            schema=acme.schema_name, booking_id=str(booking.pk), refund_id=str(due.pk)
        )
        == "not due"
    )
    assert len(_refund_calls(stripe_standin)) == 1
    assert Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND).count() == 1


def test_the_sweep_makes_the_refund_staff_chose_when_its_task_was_lost(
    acme, acme_host, paid, stripe_standin, broker_down, django_capture_on_commit_callbacks
):
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=0)  # the policy alone would give everything back
    staff = member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.FRONTDESK), acme_host
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("dashboard:booking_cancel", args=[booking.pk]),
            {"reason": "Doctor ill", "refund": "amount", "refund_amount": "10.00"},
        )

    assert response.status_code in (200, 302, 303)
    assert _refund_calls(stripe_standin) == []
    assert refunds_due_make(now=_later()) == 1
    refund = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert (refund.status, refund.amount) == ("succeeded", Decimal("10.00"))
    assert "by staff: Doctor ill" in refund.reason
    assert [c["params"]["amount"] for c in _refund_calls(stripe_standin)] == ["1000"]


def test_a_refund_task_queued_by_the_previous_release_refunds_once(
    acme, acme_host, paid, stripe_standin, broker_down, django_capture_on_commit_callbacks
):
    # given a cancellation from before refunds were decided at cancel time: no due row,
    # and a task message that carries the cancellation's time and choice instead
    booking = _paid_booking(acme_host, paid, stripe_standin)
    _policy(acme, full=24 * 30, partial=24, percent=25)
    cancelled_at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=CUSTOMER, reason="Ill")
    Payment.objects.filter(booking=booking, status=Payment.Status.DUE).delete()
    old_message = {
        "schema": acme.schema_name,
        "booking_id": str(booking.pk),
        "cancelled_at": cancelled_at.isoformat(),
        "mode": "policy",
        "amount": "",
        "note": "",
    }

    # when it is delivered twice
    assert booking_refund_on_cancel_task(**old_message) == "refunded"
    assert booking_refund_on_cancel_task(**old_message) == "nothing to refund"

    # then the refund is the one the policy gave at the cancellation, made once
    refund = Payment.objects.get(booking=booking, kind=Payment.Kind.REFUND)
    assert (refund.status, refund.amount) == ("succeeded", Decimal("15.00"))
    assert len(_refund_calls(stripe_standin)) == 1


def test_the_sweep_and_the_refund_task_at_once_make_one_refund(
    committed, stripe_standin, monkeypatch
):
    tenant: Tenant = committed
    host = f"{tenant.slug}.{settings.BASE_DOMAIN}"
    events_before = set(StripeEvent.objects.values_list("pk", flat=True))
    task = current_app.tasks[REFUND_TASK]
    try:
        paid = paid_setting(tenant, stripe_standin)
        booking = _paid_booking(host, paid, stripe_standin)  # in full by the default policy

        def unreachable(*args, **kwargs):
            raise OperationalError("Connection refused.")

        with monkeypatch.context() as patched:
            patched.setattr(task, "apply_async", unreachable)
            booking_cancel(booking=booking, actor=CUSTOMER, reason="Ill")  # commits
        due = Payment.objects.get(booking=booking, status=Payment.Status.DUE)
        # Stripe takes its time, so every caller is in before the first one is done.
        create = stripe.Refund.create

        def slow_create(*args, **kwargs):
            time.sleep(0.3)
            return create(*args, **kwargs)

        monkeypatch.setattr(stripe.Refund, "create", slow_create)
        later = _later()

        def the_task():
            return booking_refund_on_cancel_task(
                schema=tenant.schema_name, booking_id=str(booking.pk), refund_id=str(due.pk)
            )

        def the_sweep():
            return refunds_due_make(now=later)

        result = race(tenant, [the_task, the_sweep, the_task, the_sweep, the_task, the_sweep])

        assert result.crashes == []
        assert result.count() == 6
        values = [outcome.value for outcome in result.outcomes]
        assert values.count("refunded") + values.count(1) == 1
        assert len(_refund_calls(stripe_standin)) == 1
        refunds = list(Payment.objects.filter(booking=booking, kind=Payment.Kind.REFUND))
        assert [(r.status, r.amount) for r in refunds] == [("succeeded", Decimal("60.00"))]
        booking.refresh_from_db()
        assert booking.payment_status == Booking.PaymentStatus.REFUNDED
    finally:
        business_tables_truncate(tenant.schema_name)
        StripeAccount.objects.filter(tenant=tenant).delete()
        StripeEvent.objects.exclude(pk__in=events_before).delete()
