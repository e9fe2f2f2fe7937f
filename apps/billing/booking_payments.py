"""Customers paying for bookings, on the business's own Stripe account (Connect).

A hold on a paid service gets a Stripe Checkout session on the business's connected
account; its URL is the booking's `payment_url`. The rule for a hold and its checkout:
opening the checkout keeps the hold until the checkout expires (Stripe's minimum is 30
minutes), and a hold that ends (expired, released, cancelled) expires its checkout. A
payment that completes anyway (Stripe's expiry and ours crossed) takes the place again
if it is still free, and is otherwise refunded in full at once, by an idempotent refund;
a booking is never confirmed on a place someone else has and money is never kept for
nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.billing.connect import stripe_account_of
from apps.billing.models import StripeAccount
from apps.billing.stripe_api import PaymentRefused, stripe_call
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, Payment
from apps.bookings.payments import (
    booking_payment_requested,
    booking_payment_succeeded,
    booking_refund_recorded,
    payment_amount_due,
    payment_checkout_current,
    payment_checkout_expired,
    payment_checkout_opened,
)
from apps.core.task_queue import task_enqueue
from apps.resources.currencies import currency_exponent

logger = logging.getLogger(__name__)

STRIPE = ActorRef.system("stripe")
# Stripe keeps a checkout open for at least 30 minutes; a little more absorbs clocks.
CHECKOUT_LIFETIME = timedelta(minutes=31)


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * (10 ** currency_exponent(currency))).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return (Decimal(amount) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent))


def booking_needs_payment(booking: Booking) -> bool:
    return (
        booking.status == Booking.Status.HELD
        and booking.payment_status == Booking.PaymentStatus.PENDING
    )


def booking_checkout_url(
    *, booking: Booking, tenant: Tenant, success_url: str, cancel_url: str
) -> str:
    """The checkout page for a held, unpaid booking: its open one, or a new one on the
    business's account (the hold then lasts as long as the checkout). Raises
    PaymentRefused when the business cannot take payments online, PaymentsUnavailable
    when Stripe is out of reach (the hold stays; trying again charges nothing twice),
    HoldExpired when the hold is gone."""
    current = payment_checkout_current(booking)
    if current is not None:
        return current.checkout_url
    account = stripe_account_of(tenant)
    if account is None or not account.charges_enabled:
        raise PaymentRefused(_("This business does not take payments online at the moment."))
    service = booking.service
    amount = payment_amount_due(booking)
    currency = service.currency.lower()
    metadata = {"tenant": str(tenant.pk), "schema": tenant.schema_name, "booking": str(booking.pk)}
    intent: dict[str, Any] = {"metadata": metadata}
    fee_percent = settings.BOOKING_APPLICATION_FEE_PERCENT
    if fee_percent:
        intent["application_fee_amount"] = to_minor(amount, currency) * fee_percent // 100
    attempt = Payment.objects.filter(booking=booking, kind=Payment.Kind.CHARGE).count()
    expires_at = timezone.now() + CHECKOUT_LIFETIME
    params: dict[str, Any] = {
        "mode": "payment",
        # Cards only: a bank debit settles days later, long after the hold ended.
        "payment_method_types": ["card"],
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": to_minor(amount, currency),
                    "product_data": {"name": service.name},
                },
                "quantity": 1,
            }
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
        "payment_intent_data": intent,
    }
    # A retry with the same parameters gets the same session back; changed ones (a later
    # expiry) a new one, never Stripe's refusal of a reused key.
    fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    session = stripe_call(
        "booking_checkout_create",
        stripe.checkout.Session.create,
        **params,
        stripe_account=account.account_id,
        idempotency_key=f"timenest-booking-checkout-{booking.pk}-{attempt}-{fingerprint}",
    )
    payment_checkout_opened(
        booking=booking,
        account_id=account.account_id,
        session_id=session.id,
        url=str(session.url),
        expires_at=datetime.fromtimestamp(session.expires_at, tz=UTC),
        actor=STRIPE,
    )
    logger.info("billing.booking_checkout_opened", extra={"booking_id": str(booking.pk)})
    return str(session.url)


def booking_payment_link_send(
    *, booking: Booking, tenant: Tenant, success_url: str, cancel_url: str, actor: ActorRef
) -> str:
    """A held booking staff made for a paid service: its checkout (opened as for any
    hold, so the hold lasts as long) is emailed to the customer. Call it once the hold
    has committed (Stripe is never called under the hold's locks). Raises what
    `booking_checkout_url` raises; nothing is sent then."""
    url = booking_checkout_url(
        booking=booking, tenant=tenant, success_url=success_url, cancel_url=cancel_url
    )
    booking_payment_requested(booking=booking, url=url, actor=actor)
    return url


# --- Events on connected accounts -----------------------------------------------------


def _tenant_for(obj: dict[str, Any], account_id: str) -> Tenant | None:
    """The business an object belongs to: named in its metadata, and owning the account
    the event came from (an event from another account cannot touch this business)."""
    schema = (obj.get("metadata") or {}).get("schema")
    if not schema:
        return None
    tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        return None
    owns = StripeAccount.objects.filter(tenant=tenant, account_id=account_id).exists()
    return tenant if owns else None


def checkout_completed(session: dict[str, Any], account_id: str) -> str:
    if session.get("mode") != "payment":
        return "not a booking checkout"
    if session.get("payment_status") != "paid":
        return "not paid"
    tenant = _tenant_for(session, account_id)
    if tenant is None:
        return "no business for this account"
    booking_id = str((session.get("metadata") or {}).get("booking") or "")
    with tenant_context(tenant):
        try:
            booking = Booking.objects.select_related("service").filter(pk=booking_id).first()
        except ValidationError:
            booking = None
        if booking is None:
            return "no such booking"
        currency = str(session.get("currency") or booking.service.currency)
        amount = from_minor(int(session.get("amount_total") or 0), currency)
        intent = str(session.get("payment_intent") or "")
        confirmed = booking_payment_succeeded(
            booking=booking,
            session_id=session["id"],
            payment_intent_id=intent,
            amount=amount,
            currency=currency,
            account_id=account_id,
            actor=STRIPE,
        )
        if not confirmed:
            _refund_late(
                booking, session=session, amount=amount, currency=currency, account_id=account_id
            )
    return ""


def _refund_late(
    booking: Booking, *, session: dict[str, Any], amount: Decimal, currency: str, account_id: str
) -> None:
    """The hold was gone when the money came: give it all back, once."""
    refund = stripe_call(
        "refund_create",
        stripe.Refund.create,
        payment_intent=session.get("payment_intent"),
        reason="requested_by_customer",
        refund_application_fee=True,
        metadata={"booking": str(booking.pk), "why": "paid after the hold ended"},
        stripe_account=account_id,
        idempotency_key=f"timenest-late-refund-{session['id']}",
    )
    booking_refund_recorded(
        booking=booking,
        amount=from_minor(int(refund.amount), currency),
        currency=currency,
        refund_id=refund.id,
        payment_intent_id=str(session.get("payment_intent") or ""),
        reason="paid after the hold ended",
        actor=STRIPE,
    )
    logger.warning("billing.late_payment_refunded", extra={"booking_id": str(booking.pk)})


def checkout_expired(session: dict[str, Any], account_id: str) -> str:
    tenant = _tenant_for(session, account_id)
    if tenant is None:
        return "no business for this account"
    with tenant_context(tenant):
        payment_checkout_expired(session_id=session["id"])
    return ""


# --- A hold that ends closes its checkout ----------------------------------------------


def checkouts_close_after_commit(*, booking: Booking, schema: str) -> None:
    """Called when a hold ends: its open checkouts are expired at Stripe once the
    change is committed (a task, so a slow Stripe never holds up the sweeper)."""
    open_ids = list(
        Payment.objects.filter(
            booking=booking, kind=Payment.Kind.CHARGE, status=Payment.Status.OPEN
        ).values_list("checkout_session_id", "account_id")
    )
    for session_id, account_id in open_ids:
        transaction.on_commit(functools.partial(_expire_later, schema, session_id, account_id))


def _expire_later(schema: str, session_id: str, account_id: str) -> None:
    task_enqueue(
        "billing.booking_checkout_expire",
        schema=schema,
        session_id=session_id,
        account_id=account_id,
    )


def booking_checkout_expire(*, session_id: str, account_id: str) -> str:
    """Expires a checkout at Stripe. One already completed stays so (its payment's event
    refunds it, since the hold is gone); one already expired is fine."""
    try:
        stripe_call(
            "checkout_expire",
            stripe.checkout.Session.expire,
            session=session_id,
            stripe_account=account_id,
        )
    except PaymentRefused:
        return "not open"
    payment_checkout_expired(session_id=session_id)
    return "expired"
