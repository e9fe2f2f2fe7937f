"""Refunds of paid bookings: by the business's policy when a booking is cancelled, or
an amount staff choose. Through Stripe, on the business's account, with an idempotency
key, never more than what was paid and not yet refunded.

A cancellation's refund is decided inside the cancellation's transaction and recorded
as a `due` Payment (the amount then, by the policy or as staff chose); it is made after
the commit by a task, and a sweep makes the ones still due a few minutes later (a task
lost to a broker out of reach). Both go through `booking_refund_due_make`, which locks
the due row while it calls Stripe with the booking's one idempotency key: a refund is
made once, however many try at once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.billing.booking_payments import STRIPE, from_minor, to_minor
from apps.billing.stripe_api import PaymentRefused, PaymentsUnavailable, stripe_call
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, Payment
from apps.bookings.payments import (
    REFUND_DUE_GRACE,
    booking_refund_decide,
    booking_refund_dropped,
    booking_refund_recorded,
    payment_intent_of,
    payment_refundable,
    payments_refund_due,
    refunds_next_due,
)
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.currencies import minor_units

logger = logging.getLogger(__name__)


def refund_by_policy(*, booking: Booking, tenant: Tenant, cancelled_at: datetime) -> Decimal:
    """What the policy gives back for a booking cancelled at `cancelled_at`: all of what
    was paid at least `refund_full_hours` before the start, `refund_partial_percent` of
    it at least `refund_partial_hours` before (when that tier is on), else nothing.
    Hours are elapsed time, so a day with a clock change counts its real hours."""
    paid = payment_refundable(booking)
    if paid <= 0:
        return Decimal("0")
    # In UTC: Python subtracts two datetimes of one zone by their wall clocks.
    elapsed = booking.starts_at.astimezone(UTC) - cancelled_at.astimezone(UTC)
    hours_before = elapsed.total_seconds() / 3600
    if hours_before >= tenant.refund_full_hours:
        return paid
    if tenant.refund_partial_hours and hours_before >= tenant.refund_partial_hours:
        share = paid * tenant.refund_partial_percent / 100
        step = Decimal(1).scaleb(-minor_units(booking.service.currency))
        return share.quantize(step, rounding=ROUND_DOWN)
    return Decimal("0")


def booking_refund(
    *,
    booking: Booking,
    amount: Decimal,
    reason: str,
    actor: ActorRef,
    key: str,
    due: Payment | None = None,
) -> Payment | None:
    """Refunds `amount` of a paid booking (None for nothing to refund). Refused over
    what is left to refund. `key` makes a repeat of the same refund a no-op at Stripe;
    a `due` refund (locked by the caller) becomes the one made."""
    if amount <= 0:
        return None
    left = payment_refundable(booking)
    if amount > left:
        raise ValidationFailed(
            _("A refund cannot be larger than what was paid."),
            [FieldError("amount", _("At most %(left)s can be refunded.") % {"left": left})],
        )
    paid_with = payment_intent_of(booking)
    if paid_with is None:
        return None
    intent, account_id = paid_with
    currency = booking.service.currency
    refund = stripe_call(
        "refund_create",
        stripe.Refund.create,
        payment_intent=intent,
        amount=to_minor(amount, currency),
        refund_application_fee=True,
        metadata={"booking": str(booking.pk), "why": reason[:200]},
        stripe_account=account_id,
        idempotency_key=key,
    )
    return booking_refund_recorded(
        booking=booking,
        amount=from_minor(int(refund.amount), currency),
        currency=currency,
        refund_id=refund.id,
        payment_intent_id=intent,
        reason=reason,
        actor=actor,
        due=due,
    )


class RefundMode(StrEnum):
    POLICY = "policy"
    FULL = "full"
    NONE = "none"
    AMOUNT = "amount"


@dataclass(frozen=True)
class RefundChoice:
    """What a cancellation refunds: the policy's amount, or what staff decided."""

    mode: RefundMode = RefundMode.POLICY
    amount: Decimal | None = None
    note: str = ""


_choice: ContextVar[RefundChoice | None] = ContextVar("refund_choice", default=None)


@contextmanager
def refund_decided(choice: RefundChoice) -> Iterator[None]:
    """Cancellations inside refund as staff chose instead of by the policy."""
    token = _choice.set(choice)
    try:
        yield
    finally:
        _choice.reset(token)


def refund_choice_current() -> RefundChoice:
    return _choice.get() or RefundChoice()


def refund_choice_check(*, booking: Booking, choice: RefundChoice) -> None:
    """Refuses a staff amount that is not a positive amount within what was paid."""
    if choice.mode != RefundMode.AMOUNT:
        return
    left = payment_refundable(booking)
    if choice.amount is None or choice.amount <= 0:
        raise ValidationFailed(
            _("Enter the amount to refund."),
            [FieldError("refund_amount", _("Enter an amount above 0."))],
        )
    if choice.amount > left:
        raise ValidationFailed(
            _("A refund cannot be larger than what was paid."),
            [FieldError("refund_amount", _("At most %(left)s can be refunded.") % {"left": left})],
        )


def _cancel_refund(
    *, booking: Booking, tenant: Tenant, cancelled_at: datetime, choice: RefundChoice
) -> tuple[Decimal, str]:
    """(amount, reason) of the refund a cancellation earns."""
    if choice.mode == RefundMode.POLICY:
        amount = refund_by_policy(booking=booking, tenant=tenant, cancelled_at=cancelled_at)
        reason = "cancelled; refund by policy"
    elif choice.mode == RefundMode.FULL:
        amount, reason = payment_refundable(booking), "cancelled; full refund by staff"
    elif choice.mode == RefundMode.AMOUNT:
        amount, reason = choice.amount or Decimal("0"), "cancelled; refund set by staff"
    else:
        amount, reason = Decimal("0"), "cancelled; no refund, by staff"
    if choice.note:
        reason = f"{reason}: {choice.note}"
    return amount, reason


def booking_refund_on_cancel_decide(
    *,
    booking: Booking,
    tenant: Tenant,
    cancelled_at: datetime,
    choice: RefundChoice | None = None,
) -> Payment | None:
    """Decides the refund a cancellation earns, by the policy at `cancelled_at` or as
    staff chose, and records it as due (None: nothing to refund). Called inside the
    cancellation's transaction, so the decision commits with it and is never made again
    later, when the policy's answer would differ."""
    choice = choice or RefundChoice()
    # Staff's amount is checked again under the cancellation's lock.
    refund_choice_check(booking=booking, choice=choice)
    amount, reason = _cancel_refund(
        booking=booking, tenant=tenant, cancelled_at=cancelled_at, choice=choice
    )
    if amount <= 0:
        logger.info("billing.cancel_not_refunded", extra={"booking_id": str(booking.pk)})
        return None
    due = booking_refund_decide(booking=booking, amount=amount, reason=reason, actor=STRIPE)
    logger.info(
        "billing.cancel_refund_due",
        extra={"booking_id": str(booking.pk), "payment_id": str(due.pk), "amount": str(amount)},
    )
    return due


def cancel_refund_key(booking: Booking) -> str:
    """The one Stripe idempotency key of a booking's cancellation refund."""
    return f"timenest-cancel-refund-{booking.pk}"


def booking_refund_due_make(*, refund_id: Any, wait: bool = True) -> str:
    """Makes a due refund: through Stripe, with the booking's cancellation-refund key, at
    the amount decided (never more than is left to refund). The due row stays locked
    while Stripe is called, so a second caller waits (or, with `wait=False`, moves on)
    and then finds it made; a failure leaves it due for the next try."""
    with transaction.atomic():
        due = (
            Payment.objects.select_for_update(skip_locked=not wait, of=("self",))
            .select_related("booking__service")
            .filter(pk=refund_id, kind=Payment.Kind.REFUND, status=Payment.Status.DUE)
            .first()
        )
        if due is None:
            return "not due"
        booking = due.booking
        amount = min(due.amount, payment_refundable(booking))
        if amount <= 0 or payment_intent_of(booking) is None:
            booking_refund_dropped(refund=due, why="nothing left to refund")
            return "nothing to refund"
        booking_refund(
            booking=booking,
            amount=amount,
            reason=due.reason,
            actor=STRIPE,
            key=cancel_refund_key(booking),
            due=due,
        )
    logger.info("billing.cancel_refunded", extra={"booking_id": str(booking.pk)})
    return "refunded"


# A refund the sweep could not make (Stripe refused it or was out of reach) is tried
# again this much later.
REFUND_DUE_RETRY = timedelta(minutes=10)
# The kind of due work (apps/accounts/due_work.py) the sweep does.
REFUNDS_WORK = "refunds"


def refunds_due_make(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """The sweep (in a business whose refunds are due): makes the refunds due for longer
    than REFUND_DUE_GRACE, whose task was lost or has not managed yet. Returns how many
    it made. Stops at the first Stripe outage; the next sweep goes on."""
    decided_before = (now or timezone.now()) - REFUND_DUE_GRACE
    refund_ids = list(
        payments_refund_due(decided_before=decided_before).values_list("pk", flat=True)[:batch_size]
    )
    made = 0
    for refund_id in refund_ids:
        try:
            outcome = booking_refund_due_make(refund_id=refund_id, wait=False)
        except PaymentsUnavailable:
            logger.warning("billing.refund_sweep_stripe_unavailable")
            break
        except PaymentRefused:  # logged by stripe_call; stays due for support to see
            continue
        made += outcome == "refunded"
    if refund_ids:
        logger.info("billing.refund_sweep", extra={"due": len(refund_ids), "made": made})
    return made


def refunds_due_next(*, now: datetime | None = None) -> datetime | None:
    """When the sweep is next due in the current business (None: no refund is due)."""
    return refunds_next_due(
        grace=REFUND_DUE_GRACE, retry=REFUND_DUE_RETRY, now=now or timezone.now()
    )


def booking_refund_on_cancel_decide_late(
    *, booking_id: Any, cancelled_at: datetime, choice: RefundChoice
) -> Payment | None:
    """For a refund task queued before refunds were decided at cancel time (it carries
    the cancellation's time and staff's choice instead of a due refund): decides it now
    as it was decided then, once (a refund recorded since the cancellation is it)."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("service").get(pk=booking_id)
        since = Payment.objects.filter(
            booking=booking, kind=Payment.Kind.REFUND, created_at__gte=cancelled_at
        ).first()
        if since is not None:
            return since if since.status == Payment.Status.DUE else None
        return booking_refund_on_cancel_decide(
            booking=booking, tenant=tenant_current(), cancelled_at=cancelled_at, choice=choice
        )
