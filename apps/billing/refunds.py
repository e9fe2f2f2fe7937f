"""Refunds of paid bookings: by the business's policy when a booking is cancelled, or
an amount staff choose. Through Stripe, on the business's account, with an idempotency
key, never more than what was paid and not yet refunded."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

import stripe
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.billing.booking_payments import STRIPE, from_minor, to_minor
from apps.billing.stripe_api import stripe_call
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, Payment
from apps.bookings.payments import booking_refund_recorded, payment_intent_of, payment_refundable
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.currencies import currency_exponent

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
        step = Decimal(1).scaleb(-currency_exponent(booking.service.currency))
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


def booking_refund_on_cancel(*, booking: Booking, tenant: Tenant, cancelled_at: datetime) -> str:
    """The refund a cancellation earns by policy (a task runs it after the commit)."""
    amount = refund_by_policy(booking=booking, tenant=tenant, cancelled_at=cancelled_at)
    if amount <= 0:
        return "nothing to refund"
    booking_refund(
        booking=booking,
        amount=amount,
        reason="cancelled; refund by policy",
        actor=STRIPE,
        key=f"timenest-cancel-refund-{booking.pk}",
    )
    logger.info("billing.cancel_refunded", extra={"booking_id": str(booking.pk)})
    return "refunded"
