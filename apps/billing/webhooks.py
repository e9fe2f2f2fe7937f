"""Stripe's webhooks: verified, recorded once by event id, applied once.

`stripe_event_receive` checks the signature (nothing is recorded without a valid one),
inserts the event into the inbox (`StripeEvent`; a second delivery of the same id finds
the row) and processes it. Processing locks the row, so of twenty deliveries racing
for one event exactly one applies it and the others answer at once. A failure is kept
on the row (and answered 500, so Stripe delivers again); `stripe_events_retry` also
picks failed rows up on its own.

The handlers never trust the order of events: a subscription event re-reads the
subscription from Stripe and applies what it says now, so `invoice.paid` arriving
before `customer.subscription.created`, or an old `updated` arriving last, ends in the
subscription's real state. dj-stripe's models mirror what Stripe holds (for invoices on
the billing page); its own webhook view is not used: the inbox here is what makes
processing race-free and visible to support.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe import models as djstripe_models

from apps.accounts.models import Tenant
from apps.billing.booking_payments import checkout_completed, checkout_expired
from apps.billing.connect import account_apply
from apps.billing.models import StripeEvent
from apps.billing.services import subscription_apply
from apps.billing.stripe_api import secret_key, stripe_call
from apps.billing.subscriptions import LIVE_STATUSES, plan_of_subscription
from apps.core import metrics

logger = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 10


class SignatureInvalid(Exception):
    pass


def _verified(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    if not secret or not signature:
        raise SignatureInvalid("missing signature or secret")
    try:
        stripe.Webhook.construct_event(payload.decode("utf-8"), signature, secret)
        data = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise SignatureInvalid(str(error)) from error
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), str) for key in ("id", "type")
    ):
        raise SignatureInvalid("not an event")
    return data


def stripe_event_receive(*, payload: bytes, signature: str, secret: str | None = None) -> str:
    """Verifies and records one delivery, then processes the event unless another
    delivery already did or is doing it. Returns the event's outcome. Raises
    SignatureInvalid (nothing recorded) or the handler's error (kept on the row)."""
    if secret is None:
        secret = settings.STRIPE_WEBHOOK_SECRET
    try:
        data = _verified(payload, signature, secret)
    except SignatureInvalid:
        # The type of an unverified body is whatever its sender wrote: not a label.
        metrics.stripe_events_total.labels(type="unverified", result="signature_invalid").inc()
        raise
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                id=data["id"],
                type=data["type"],
                account=data.get("account") or "",
                livemode=bool(data.get("livemode")),
                payload=data,
            )
    except IntegrityError:
        pass  # delivered before: the row is there
    return stripe_event_process(event_id=data["id"])


def stripe_event_process(*, event_id: str) -> str:
    """Applies a recorded event once. Safe to call from any number of deliveries and
    workers at once: the row lock admits one; the others see it applied or busy."""
    failure: Exception | None = None
    with transaction.atomic():
        event = (
            StripeEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if event is None:
            row = StripeEvent.objects.filter(pk=event_id).values_list("outcome", flat=True)
            return row.first() or StripeEvent.Outcome.PENDING
        event.attempts += 1
        try:
            with transaction.atomic():  # a failing handler leaves nothing behind
                note = _handle(event.payload)
        except Exception as error:
            failure = error
            event.outcome = StripeEvent.Outcome.FAILED
            event.last_error = f"{type(error).__name__}: {error}"[:2000]
            event.save(update_fields=["outcome", "last_error", "attempts"])
        else:
            event.outcome = StripeEvent.Outcome.IGNORED if note else StripeEvent.Outcome.APPLIED
            event.note = (note or "")[:255]
            event.last_error = ""
            event.processed_at = timezone.now()
            event.save(update_fields=["outcome", "note", "last_error", "attempts", "processed_at"])
    metrics.stripe_events_total.labels(
        type=_type_label(event.type), result=str(event.outcome)
    ).inc()
    if failure is not None:
        logger.error(
            "billing.stripe_event_failed",
            extra={"event_id": event_id, "type": event.type, "error": event.last_error},
        )
        raise failure
    logger.info(
        "billing.stripe_event_processed",
        extra={"event_id": event_id, "type": event.type, "outcome": event.outcome},
    )
    return str(event.outcome)


def _type_label(event_type: str) -> str:
    """The types billing follows by name; any other (Stripe has hundreds) as one."""
    return event_type if event_type in HANDLERS or event_type in CONNECT_HANDLERS else "other"


def stripe_events_retry(*, now: Any = None) -> int:
    """Processes events that failed (or were never processed) a while ago; for beat."""
    now = now or timezone.now()
    due = StripeEvent.objects.filter(
        processed_at__isnull=True, received_at__lte=now - RETRY_AFTER, attempts__lt=MAX_ATTEMPTS
    ).values_list("pk", flat=True)
    done = 0
    for event_id in list(due[:100]):
        try:
            stripe_event_process(event_id=event_id)
        except Exception:  # logged and kept on the row; the next run tries again
            logger.warning("billing.stripe_event_retry_failed", extra={"event_id": event_id})
        else:
            done += 1
    return done


# --- Handlers: each returns "" when it applied the event, or why it ignored it. ------


def _handle(event: dict[str, Any]) -> str:
    account = event.get("account")
    if account:  # an event on a business's own account (Connect)
        connect_handler = CONNECT_HANDLERS.get(event["type"])
        if connect_handler is None:
            return "not a type billing follows"
        return connect_handler(event["data"]["object"], str(account))
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "not a type billing follows"
    return handler(event["data"]["object"])


def _tenant_of(subscription: Any) -> Tenant | None:
    tenant_id = (subscription.get("metadata") or {}).get("tenant")
    if tenant_id:
        try:
            return Tenant.objects.filter(pk=uuid.UUID(str(tenant_id))).first()
        except ValueError:
            return None
    customer = subscription.get("customer")
    customer_id = customer if isinstance(customer, str) else (customer or {}).get("id")
    row = djstripe_models.Customer.objects.filter(id=customer_id).first() if customer_id else None
    subscriber = getattr(row, "subscriber", None)
    return subscriber if isinstance(subscriber, Tenant) else None


def _subscription_follow(subscription_id: str | None) -> str:
    if not subscription_id:
        return "no subscription"
    found = stripe_call("subscription_retrieve", stripe.Subscription.retrieve, id=subscription_id)
    tenant = _tenant_of(found)
    if tenant is None:
        return "no business for this subscription"
    # One business's events apply one at a time, each with what Stripe says once it holds
    # the lock: two racing events cannot apply the older read last.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    current = stripe_call("subscription_retrieve", stripe.Subscription.retrieve, id=subscription_id)
    djstripe_models.Subscription.sync_from_stripe_data(current, api_key=secret_key())
    if current["status"] in ("canceled", "incomplete_expired") and _another_live(current):
        return "an old subscription; the business pays through another one"
    subscription_apply(
        tenant=tenant,
        plan=plan_of_subscription(current),
        subscription_status=str(current["status"]),
        event_id=subscription_id,
    )
    return ""


def _another_live(subscription: Any) -> bool:
    """Whether the subscription's customer has another running subscription."""
    customer = subscription.get("customer")
    customer_id = customer if isinstance(customer, str) else (customer or {}).get("id")
    if not customer_id:
        return False
    running = stripe_call(
        "subscription_list", stripe.Subscription.list, customer=customer_id, status="all", limit=10
    )
    return any(
        sub["id"] != subscription["id"] and sub["status"] in LIVE_STATUSES for sub in running.data
    )


def _on_subscription(subscription: dict[str, Any]) -> str:
    return _subscription_follow(subscription.get("id"))


def _invoice_subscription_id(invoice: Any) -> str | None:
    subscription = invoice.get("subscription")
    if subscription is None:
        details = (invoice.get("parent") or {}).get("subscription_details") or {}
        subscription = details.get("subscription")
    if isinstance(subscription, dict):
        return subscription.get("id")
    return subscription


def _on_invoice(invoice: dict[str, Any]) -> str:
    current = stripe_call("invoice_retrieve", stripe.Invoice.retrieve, id=invoice["id"])
    subscription_id = _invoice_subscription_id(current)
    note = _subscription_follow(subscription_id)
    if not note:
        djstripe_models.Invoice.sync_from_stripe_data(current, api_key=secret_key())
    return note


def _on_checkout_completed(session: dict[str, Any]) -> str:
    if session.get("mode") != "subscription":
        return "not a plan checkout"
    subscription = session.get("subscription")
    subscription_id = subscription.get("id") if isinstance(subscription, dict) else subscription
    return _subscription_follow(subscription_id)


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "invoice.paid": _on_invoice,
    "invoice.payment_failed": _on_invoice,
}


def _on_account_updated(account: dict[str, Any], account_id: str) -> str:
    return "" if account_apply(account) is not None else "not a business's account"


CONNECT_HANDLERS: dict[str, Callable[[dict[str, Any], str], str]] = {
    "account.updated": _on_account_updated,
    "checkout.session.completed": checkout_completed,
    "checkout.session.expired": checkout_expired,
}
