"""Money for bookings, as the booking sees it: a checkout opened for a hold (which then
lives as long as the checkout), a payment that confirms the hold, a refund. The payment
provider's side (Stripe, the connected account) is billing's; it calls these.

The rule for a hold and its checkout: opening a checkout extends the hold to the
checkout's expiry, and when the hold ends (expired, released) billing expires the
checkout. A payment that still arrives for a hold that expired takes the place again
when it is still free (`booking_reinstate`); otherwise, or for a hold the customer let
go, it is recorded and not confirmed (`booking_payment_succeeded` returns False):
billing refunds it.

A refund decided now and made later (a cancellation's) is a `due` refund row until billing
has made it (`booking_refund_decide`, then `booking_refund_recorded(due=…)`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from apps.bookings import signals
from apps.bookings.actors import ActorRef
from apps.bookings.errors import HoldExpired, InvalidTransition, SlotFull, SlotNotFound
from apps.bookings.models import Booking, Payment
from apps.bookings.services import booking_confirm, booking_hold_extend, booking_reinstate
from apps.resources.currencies import currency_exponent

logger = logging.getLogger(__name__)


def payment_amount_due(booking: Booking) -> Decimal:
    """What a paid booking takes online: the service's price, or its deposit (a fixed
    amount, or a percentage of the price rounded to the currency's smallest unit)."""
    service = booking.service
    if service.deposit_amount is not None:
        return service.deposit_amount
    if service.deposit_percent is not None:
        step = Decimal(1).scaleb(-min(currency_exponent(service.currency), 2))
        share = service.price * service.deposit_percent / 100
        return share.quantize(step, rounding=ROUND_HALF_UP)
    return service.price


def payment_totals(booking: Booking) -> tuple[Decimal, Decimal]:
    """(paid, refunded) for the booking, in its service's currency. Reads the booking's
    prefetched payments when a list prefetched them."""
    paid = refunded = Decimal("0")
    for payment in booking.payments.all():
        if payment.status != Payment.Status.SUCCEEDED:
            continue
        if payment.kind == Payment.Kind.CHARGE:
            paid += payment.amount
        else:
            refunded += payment.amount
    return paid, refunded


def payment_refundable(booking: Booking) -> Decimal:
    """What was paid for the booking and not yet refunded."""
    paid, refunded = payment_totals(booking)
    return max(Decimal("0"), paid - refunded)


def payment_refunds_made(booking: Booking) -> int:
    """How many refunds of the booking have been made."""
    return Payment.objects.filter(
        booking=booking, kind=Payment.Kind.REFUND, status=Payment.Status.SUCCEEDED
    ).count()


def payment_intent_of(booking: Booking) -> tuple[str, str] | None:
    """(payment intent, account) of the booking's succeeded charge, if any."""
    charge = (
        Payment.objects.filter(
            booking=booking, kind=Payment.Kind.CHARGE, status=Payment.Status.SUCCEEDED
        )
        .exclude(payment_intent_id="")
        .order_by("created_at")
        .first()
    )
    return (charge.payment_intent_id, charge.account_id) if charge else None


def payment_checkout_current(booking: Booking) -> Payment | None:
    """The booking's open checkout that has not run out, if any (from the prefetched
    payments when a list prefetched them)."""
    now = timezone.now()
    open_ones = [
        payment
        for payment in booking.payments.all()
        if payment.kind == Payment.Kind.CHARGE
        and payment.status == Payment.Status.OPEN
        and payment.expires_at is not None
        and payment.expires_at > now
    ]
    return max(open_ones, key=lambda payment: payment.created_at, default=None)


def payment_checkout_opened(
    *,
    booking: Booking,
    account_id: str,
    session_id: str,
    url: str,
    expires_at: datetime,
    actor: ActorRef,
) -> Payment:
    """Records an open checkout for a held booking and keeps the hold as long."""
    with transaction.atomic():
        booking_hold_extend(booking=booking, until=expires_at)
        payment, _ = Payment.objects.get_or_create(
            kind=Payment.Kind.CHARGE,
            checkout_session_id=session_id,
            defaults={
                "booking": booking,
                "status": Payment.Status.OPEN,
                "amount": payment_amount_due(booking),
                "currency": booking.service.currency,
                "account_id": account_id,
                "checkout_url": url,
                "expires_at": expires_at,
                "actor_type": actor.type,
                "actor_id": actor.id,
            },
        )
    return payment


def booking_payment_requested(*, booking: Booking, url: str, actor: ActorRef) -> None:
    """Staff sent the customer of a held, unpaid booking a checkout to pay it: announced
    (`booking_payment_requested`) so the customer is emailed the link, which commits or
    rolls back with the announcement."""
    with transaction.atomic():
        signals.booking_payment_requested.send(
            sender=Booking, booking=booking, actor=actor, url=url
        )
    logger.info("booking.payment_requested", extra={"booking_id": str(booking.pk)})


def booking_payment_succeeded(
    *,
    booking: Booking,
    session_id: str,
    payment_intent_id: str,
    amount: Decimal,
    currency: str,
    account_id: str,
    actor: ActorRef,
) -> bool:
    """Records money received for a booking's checkout and confirms its hold. Returns
    whether the booking is (now) confirmed; False when its hold was gone (the caller
    refunds). Recording the same checkout again changes nothing."""
    with transaction.atomic():
        payment, created = Payment.objects.select_for_update().get_or_create(
            kind=Payment.Kind.CHARGE,
            checkout_session_id=session_id,
            defaults={
                "booking": booking,
                "status": Payment.Status.SUCCEEDED,
                "amount": amount,
                "currency": currency.upper(),
                "account_id": account_id,
                "payment_intent_id": payment_intent_id,
                "actor_type": actor.type,
                "actor_id": actor.id,
            },
        )
        already_paid = (
            Payment.objects.filter(
                booking=booking, kind=Payment.Kind.CHARGE, status=Payment.Status.SUCCEEDED
            )
            .exclude(pk=payment.pk)
            .exists()
        )
        if not created and payment.status != Payment.Status.SUCCEEDED:
            payment.status = Payment.Status.SUCCEEDED
            payment.amount, payment.currency = amount, currency.upper()
            payment.payment_intent_id = payment_intent_id
            payment.save(
                update_fields=["status", "amount", "currency", "payment_intent_id", "updated_at"]
            )
        if already_paid:
            # Paid through a second checkout (the first one's news came late): this
            # money is not needed, so the caller refunds it.
            logger.warning(
                "booking.paid_twice",
                extra={"booking_id": str(booking.pk), "payment_id": str(payment.pk)},
            )
            return False
        try:
            confirmed = booking_confirm(booking=booking, actor=actor)
        except HoldExpired:
            # The hold ran out before the money came: the place is taken again if it is
            # still free, else the caller refunds.
            try:
                with transaction.atomic():
                    confirmed = booking_reinstate(booking=booking, actor=actor)
            except (SlotFull, SlotNotFound, InvalidTransition):
                logger.warning(
                    "booking.paid_too_late",
                    extra={"booking_id": str(booking.pk), "payment_id": str(payment.pk)},
                )
                return False
        except InvalidTransition:  # released or cancelled meanwhile
            logger.warning(
                "booking.paid_too_late",
                extra={"booking_id": str(booking.pk), "payment_id": str(payment.pk)},
            )
            return False
        if confirmed.payment_status != Booking.PaymentStatus.PAID:
            Booking.objects.filter(pk=confirmed.pk).update(
                payment_status=Booking.PaymentStatus.PAID, updated_at=timezone.now()
            )
            confirmed.payment_status = Booking.PaymentStatus.PAID
            signals.booking_paid.send(
                sender=Booking,
                booking=confirmed,
                actor=actor,
                amount=payment.amount,
                currency=payment.currency,
            )
    logger.info("booking.paid", extra={"booking_id": str(booking.pk)})
    return True


def payment_checkout_expired(*, session_id: str) -> None:
    Payment.objects.filter(
        kind=Payment.Kind.CHARGE, checkout_session_id=session_id, status=Payment.Status.OPEN
    ).update(status=Payment.Status.EXPIRED, updated_at=timezone.now())


def booking_refund_decide(
    *, booking: Booking, amount: Decimal, reason: str, actor: ActorRef
) -> Payment:
    """Records a refund decided now and made later (`due`). Called in the transaction of
    the change that earns it (a cancellation), so the refund is owed if and only if the
    change commits, and at the amount decided then, however late it is made."""
    return Payment.objects.create(
        booking=booking,
        kind=Payment.Kind.REFUND,
        status=Payment.Status.DUE,
        amount=amount,
        currency=booking.service.currency,
        reason=reason[:255],
        actor_type=actor.type,
        actor_id=actor.id,
    )


def payments_refund_due(*, decided_before: datetime) -> QuerySet[Payment]:
    """Refunds decided before `decided_before` and not made yet, oldest first."""
    return Payment.objects.filter(
        kind=Payment.Kind.REFUND, status=Payment.Status.DUE, created_at__lt=decided_before
    ).order_by("created_at")


# A refund's own task normally makes it within seconds; the sweep (apps/billing/
# refunds.py) leaves it that long. The payments table's trigger notes the sweep due then
# (apps/notifications/migrations/0010).
REFUND_DUE_GRACE = timedelta(minutes=5)


def refunds_next_due(*, grace: timedelta, retry: timedelta, now: datetime) -> datetime | None:
    """When the refund sweep is next due (apps/accounts/due_work.py): when the next refund
    decided in the last `grace` comes of age, or in `retry` while refunds past their grace
    are still due (refused or out of reach: tried again then); None when none is due."""
    figures = Payment.objects.filter(kind=Payment.Kind.REFUND, status=Payment.Status.DUE).aggregate(
        young=Min("created_at", filter=Q(created_at__gt=now - grace)),
        stale=Count("pk", filter=Q(created_at__lte=now - grace)),
    )
    times = [figures["young"] + grace] if figures["young"] is not None else []
    if figures["stale"]:
        times.append(now + retry)
    return min(times, default=None)


def booking_refund_dropped(*, refund: Payment, why: str) -> None:
    """A due refund that cannot be made any more (nothing is left to refund): it is kept,
    as failed, with why."""
    refund.status = Payment.Status.FAILED
    refund.reason = f"{refund.reason} ({why})"[:255]
    refund.save(update_fields=["status", "reason", "updated_at"])
    logger.warning(
        "booking.refund_dropped",
        extra={"booking_id": str(refund.booking_id), "payment_id": str(refund.pk), "why": why},
    )


def booking_refund_recorded(
    *,
    booking: Booking,
    amount: Decimal,
    currency: str,
    refund_id: str,
    payment_intent_id: str,
    reason: str,
    actor: ActorRef,
    due: Payment | None = None,
) -> Payment:
    """Records a refund (once per refund id; a refund that was `due`, locked by the
    caller, becomes the one made); the booking is then refunded, in full or in part."""
    with transaction.atomic():
        if due is not None:
            refund, created = due, due.status == Payment.Status.DUE
            if created:
                due.status = Payment.Status.SUCCEEDED
                due.amount, due.currency = amount, currency.upper()
                due.refund_id, due.payment_intent_id = refund_id, payment_intent_id
                due.save(
                    update_fields=[
                        "status",
                        "amount",
                        "currency",
                        "refund_id",
                        "payment_intent_id",
                        "updated_at",
                    ]
                )
        else:
            refund, created = Payment.objects.get_or_create(
                refund_id=refund_id,
                defaults={
                    "booking": booking,
                    "kind": Payment.Kind.REFUND,
                    "status": Payment.Status.SUCCEEDED,
                    "amount": amount,
                    "currency": currency.upper(),
                    "payment_intent_id": payment_intent_id,
                    "reason": reason[:255],
                    "actor_type": actor.type,
                    "actor_id": actor.id,
                },
            )
        # Refunding a second payment of a paid booking leaves it paid.
        left = payment_refundable(booking)
        if left == 0:
            status = Booking.PaymentStatus.REFUNDED
        elif (
            left >= payment_amount_due(booking)
            and not Booking.objects.filter(
                pk=booking.pk, status__in=(Booking.Status.CANCELLED, Booking.Status.EXPIRED)
            ).exists()
        ):
            status = Booking.PaymentStatus.PAID
        else:
            status = Booking.PaymentStatus.PARTIALLY_REFUNDED
        Booking.objects.filter(pk=booking.pk).update(
            payment_status=status, updated_at=timezone.now()
        )
        if created:
            booking.payment_status = status
            signals.booking_refunded.send(
                sender=Booking,
                booking=booking,
                actor=actor,
                amount=refund.amount,
                currency=refund.currency,
            )
    logger.info("booking.refunded", extra={"booking_id": str(booking.pk), "status": status})
    return refund
