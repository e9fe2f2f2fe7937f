"""Billing listens to bookings: a hold that ends closes the checkout opened for it, and
a paid booking that is cancelled is refunded by the business's policy (decided in the
cancellation's transaction, made after it commits; see refunds.py)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.billing.booking_payments import checkouts_close_after_commit
from apps.billing.refunds import booking_refund_on_cancel_decide, refund_choice_current
from apps.bookings import signals
from apps.bookings.models import Booking
from apps.core.task_queue import task_enqueue
from apps.core.tenancy import current_schema

logger = logging.getLogger(__name__)


def _hold_ended(sender: Any, *, booking: Booking, **_: Any) -> None:
    if booking.payment_status == Booking.PaymentStatus.PENDING:
        checkouts_close_after_commit(booking=booking, schema=current_schema())


def _cancelled(sender: Any, *, booking: Booking, **kwargs: Any) -> None:
    _hold_ended(sender, booking=booking, **kwargs)
    if booking.payment_status not in (
        Booking.PaymentStatus.PAID,
        Booking.PaymentStatus.PARTIALLY_REFUNDED,
    ):
        return
    # Decided now, in the cancellation's transaction (what the policy gives at this
    # moment, read afresh since a request's tenant may be seconds old, or what staff
    # chose); made after the commit by a task, so a slow Stripe never holds it up.
    tenant = Tenant.objects.get(schema_name=current_schema())
    due = booking_refund_on_cancel_decide(
        booking=booking,
        tenant=tenant,
        cancelled_at=timezone.now(),
        choice=refund_choice_current(),
    )
    if due is None:
        return
    schema, booking_id, refund_id = current_schema(), str(booking.pk), str(due.pk)

    def enqueue() -> None:
        try:
            task_enqueue(
                "billing.booking_refund_on_cancel",
                schema=schema,
                booking_id=booking_id,
                refund_id=refund_id,
            )
        except Exception:  # the cancellation has committed: the sweep makes the refund
            logger.warning(
                "billing.refund_enqueue_failed",
                extra={"booking_id": booking_id, "payment_id": refund_id},
            )

    transaction.on_commit(enqueue)


def connect() -> None:
    signals.booking_expired.connect(_hold_ended, dispatch_uid="billing.hold_expired")
    signals.booking_cancelled.connect(_cancelled, dispatch_uid="billing.cancelled")
