"""Paying for a plan: the business's Stripe customer, the plans' prices, Checkout in
subscription mode, the customer portal, changing a running subscription's plan, and
the invoices dj-stripe mirrors.

Stripe is the source of truth for a subscription: what its webhooks say is applied by
`apps/billing/webhooks.py`, which re-reads the subscription from Stripe, so events that
arrive late or out of order cannot roll a business back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.utils.translation import gettext as _
from djstripe import models as djstripe_models

from apps.accounts.models import Tenant
from apps.billing.models import PlanChange
from apps.billing.plans import PLANS, Plan, plan_by_price_lookup_key
from apps.billing.services import plan_fit_require
from apps.billing.stripe_api import PaymentRefused, secret_key, stripe_call
from apps.core.errors import FieldError, ValidationFailed

logger = logging.getLogger(__name__)

# dj-stripe links a customer to its subscriber from this metadata key.
SUBSCRIBER_KEY = "djstripe_subscriber"
LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete")


def _minor_units(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def plan_price_id(plan: Plan) -> str:
    """The Stripe price of a paid plan, found by its lookup key, and created (with its
    product) the first time any business needs it."""
    found = stripe_call(
        "price_list", stripe.Price.list, lookup_keys=[plan.price_lookup_key], active=True, limit=1
    )
    if found.data:
        price = found.data[0]
    else:
        product = stripe_call(
            "product_create",
            stripe.Product.create,
            name=f"TimeNest {plan.name}",
            metadata={"plan": plan.code},
            idempotency_key=f"timenest-plan-product-{plan.code}",
        )
        price = stripe_call(
            "price_create",
            stripe.Price.create,
            product=product.id,
            unit_amount=_minor_units(plan.monthly_price),
            currency=plan.currency,
            recurring={"interval": "month"},
            lookup_key=plan.price_lookup_key,
            metadata={"plan": plan.code},
            idempotency_key=f"timenest-plan-price-{plan.code}",
        )
    djstripe_models.Price.sync_from_stripe_data(price, api_key=secret_key())
    return str(price.id)


def customer_for(*, tenant: Tenant, email: str) -> djstripe_models.Customer:
    """The business's Stripe customer (one per business, created once)."""
    existing = djstripe_models.Customer.objects.filter(
        subscriber=tenant, date_purged__isnull=True
    ).first()
    if existing is not None:
        return existing
    created = stripe_call(
        "customer_create",
        stripe.Customer.create,
        email=email,
        name=tenant.name,
        metadata={SUBSCRIBER_KEY: str(tenant.pk), "tenant": tenant.slug},
        idempotency_key=f"timenest-customer-{tenant.pk}",
    )
    customer: djstripe_models.Customer = djstripe_models.Customer.sync_from_stripe_data(
        created, api_key=secret_key()
    )
    return customer


def subscription_live(tenant: Tenant) -> djstripe_models.Subscription | None:
    """The business's running subscription, as last mirrored."""
    return (
        # dj-stripe keeps most of Stripe's fields in `stripe_data`.
        djstripe_models.Subscription.objects.filter(
            customer__subscriber=tenant, stripe_data__status__in=LIVE_STATUSES
        )
        .order_by("-created")
        .first()
    )


def checkout_start(
    *, tenant: Tenant, plan: Plan, email: str, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout page (subscription mode) for `plan`; returns its URL. Refused for
    the Free plan and for a plan the business has outgrown."""
    if not plan.is_paid:
        raise ValidationFailed(
            _("Free needs no payment."), [FieldError("plan", _("Choose a paid plan to pay for."))]
        )
    plan_fit_require(tenant=tenant, plan=plan)
    customer = customer_for(tenant=tenant, email=email)
    # Stripe, not our copy (its webhook may not have arrived): a business that just paid
    # must not be sent to pay for a second subscription.
    running = stripe_call(
        "subscription_list", stripe.Subscription.list, customer=customer.id, status="all", limit=10
    )
    if any(sub["status"] in LIVE_STATUSES for sub in running.data):
        raise ValidationFailed(
            _("This business already has a subscription: change its plan instead."),
            [FieldError("plan", _("Reload the page in a moment to change the plan."))],
        )
    metadata = {"tenant": str(tenant.pk), "plan": plan.code}
    session = stripe_call(
        "checkout_create",
        stripe.checkout.Session.create,
        mode="subscription",
        customer=customer.id,
        client_reference_id=str(tenant.pk),
        line_items=[{"price": plan_price_id(plan), "quantity": 1}],
        success_url=success_url,
        cancel_url=cancel_url,
        metadata=metadata,
        subscription_data={"metadata": metadata},
    )
    logger.info("billing.checkout_started", extra={"tenant": tenant.slug, "plan": plan.code})
    return str(session.url)


def subscription_change(*, tenant: Tenant, plan: Plan) -> None:
    """Moves the running subscription to another paid plan (Stripe prorates); the
    webhook that follows applies it."""
    plan_fit_require(tenant=tenant, plan=plan)
    current = subscription_live(tenant)
    if current is None:
        raise PaymentRefused(_("This business has no subscription to change."))
    remote = stripe_call("subscription_retrieve", stripe.Subscription.retrieve, id=current.id)
    item = remote["items"]["data"][0]
    updated = stripe_call(
        "subscription_modify",
        stripe.Subscription.modify,
        id=current.id,
        items=[{"id": item["id"], "price": plan_price_id(plan)}],
        metadata={"tenant": str(tenant.pk), "plan": plan.code},
        # One key per move: Starter → Pro → Starter within a day are three changes.
        idempotency_key=(
            f"timenest-plan-change-{current.id}-{plan.code}-"
            f"{PlanChange.objects.filter(tenant=tenant).count()}"
        ),
    )
    djstripe_models.Subscription.sync_from_stripe_data(updated, api_key=secret_key())


def plan_pay(
    *, tenant: Tenant, plan: Plan, email: str, success_url: str, cancel_url: str
) -> str | None:
    """Paying for a paid plan: a running subscription moves to it in place (None: the
    webhook that follows applies it); otherwise the URL of Stripe's Checkout for it."""
    if subscription_live(tenant) is not None:
        subscription_change(tenant=tenant, plan=plan)
        return None
    return checkout_start(
        tenant=tenant, plan=plan, email=email, success_url=success_url, cancel_url=cancel_url
    )


def portal_url(*, tenant: Tenant, email: str, return_url: str) -> str:
    """Stripe's customer portal: payment methods, invoices, cancelling."""
    customer = customer_for(tenant=tenant, email=email)
    session = stripe_call(
        "portal_create",
        stripe.billing_portal.Session.create,
        customer=customer.id,
        return_url=return_url,
    )
    return str(session.url)


def plan_of_subscription(subscription: Any) -> Plan | None:
    """The plan a Stripe subscription pays for, from its price's lookup key (or its
    metadata when the price has none)."""
    for item in subscription["items"]["data"]:
        plan = plan_by_price_lookup_key(item["price"].get("lookup_key"))
        if plan is not None:
            return plan
    code = (subscription.get("metadata") or {}).get("plan")
    return PLANS.get(code) if code else None


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    created: datetime
    amount: Decimal
    currency: str
    status: str
    hosted_url: str
    pdf_url: str


def invoices_of(tenant: Tenant, *, limit: int = 24) -> list[InvoiceLine]:
    """The business's invoices as dj-stripe mirrored them, newest first."""
    rows = djstripe_models.Invoice.objects.filter(customer__subscriber=tenant).order_by("-created")[
        :limit
    ]
    lines = []
    for row in rows:
        data = row.stripe_data
        lines.append(
            InvoiceLine(
                number=data.get("number") or row.id,
                created=datetime.fromtimestamp(data.get("created") or 0, tz=UTC),
                amount=(Decimal(data.get("total") or 0) / 100).quantize(Decimal("0.01")),
                currency=str(data.get("currency") or "").upper(),
                status=str(data.get("status") or ""),
                hosted_url=data.get("hosted_invoice_url") or "",
                pdf_url=data.get("invoice_pdf") or "",
            )
        )
    return lines
