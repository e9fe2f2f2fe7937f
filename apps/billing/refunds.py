"""Refunds of paid bookings: by the business's policy when a booking is cancelled, or
an amount staff choose. Through Stripe, on the business's account, with an idempotency
key, never more than what was paid and not yet refunded."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

import stripe
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.billing.booking_payments import STRIPE, from_minor, to_minor
from apps.billing.stripe_api import stripe_call
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, Payment
from apps.bookings.payments import booking_refund_recorded, payment_intent_of, payment_refundable
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
    *, booking: Booking, amount: Decimal, reason: str, actor: ActorRef, key: str
) -> Payment | None:
    """Refunds `amount` of a paid booking (None for nothing to refund). Refused over
    what is left to refund. `key` makes a repeat of the same refund a no-op at Stripe."""
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


def booking_refund_on_cancel(
    *,
    booking: Booking,
    tenant: Tenant,
    cancelled_at: datetime,
    choice: RefundChoice | None = None,
) -> str:
    """The refund a cancellation earns: by the policy, or as staff decided (a task runs
    it after the commit)."""
    choice = choice or RefundChoice()
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
    if amount <= 0:
        logger.info("billing.cancel_not_refunded", extra={"booking_id": str(booking.pk)})
        return "nothing to refund"
    booking_refund(
        booking=booking,
        amount=amount,
        reason=reason,
        actor=STRIPE,
        key=f"timenest-cancel-refund-{booking.pk}",
    )
    logger.info("billing.cancel_refunded", extra={"booking_id": str(booking.pk)})
    return "refunded"
