"""A business's own Stripe account (Connect): connecting it from the billing page, and
keeping what Stripe says of it (can it take payments, in which currencies)."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from django.conf import settings

from apps.accounts.models import Tenant
from apps.billing.models import StripeAccount
from apps.billing.stripe_api import stripe_call

logger = logging.getLogger(__name__)


def stripe_account_of(tenant: Tenant) -> StripeAccount | None:
    return StripeAccount.objects.filter(tenant=tenant).first()


def online_payments_on(tenant: Tenant) -> bool:
    account = stripe_account_of(tenant)
    return account is not None and account.charges_enabled


def _currencies(country: str) -> list[str]:
    if not country:
        return []
    spec = stripe_call("country_spec", stripe.CountrySpec.retrieve, id=country)
    return sorted(str(code).lower() for code in spec.supported_payment_currencies or [])


def account_apply(data: Any) -> StripeAccount | None:
    """Takes what Stripe says of a connected account (a retrieve, or an event's object)."""
    account = StripeAccount.objects.filter(account_id=data["id"]).first()
    if account is None:
        return None
    requirements = data.get("requirements") or {}
    account.charges_enabled = bool(data.get("charges_enabled"))
    account.details_submitted = bool(data.get("details_submitted"))
    account.disabled_reason = str(requirements.get("disabled_reason") or "")[:255]
    country = str(data.get("country") or "")
    if country and (country != account.country or not account.currencies):
        account.currencies = _currencies(country)
    account.country = country
    account.default_currency = str(data.get("default_currency") or "")
    account.save()
    logger.info(
        "billing.account_updated",
        extra={"account_id": account.account_id, "charges_enabled": account.charges_enabled},
    )
    return account


def account_refresh(tenant: Tenant) -> StripeAccount | None:
    account = stripe_account_of(tenant)
    if account is None:
        return None
    data = stripe_call("account_retrieve", stripe.Account.retrieve, id=account.account_id)
    return account_apply(data)


def account_connect_start(*, tenant: Tenant, email: str, return_url: str, refresh_url: str) -> str:
    """Stripe's onboarding page for the business's account (created the first time)."""
    account = stripe_account_of(tenant)
    if account is None:
        created = stripe_call(
            "account_create",
            stripe.Account.create,
            type="express",
            country=settings.STRIPE_CONNECT_COUNTRY,
            email=email,
            business_profile={"name": tenant.name},
            metadata={"tenant": str(tenant.pk), "schema": tenant.schema_name},
            idempotency_key=f"timenest-account-{tenant.pk}",
        )
        account, _ = StripeAccount.objects.get_or_create(
            tenant=tenant, defaults={"account_id": created.id}
        )
        account_apply(created)
    link = stripe_call(
        "account_link_create",
        stripe.AccountLink.create,
        account=account.account_id,
        type="account_onboarding",
        return_url=return_url,
        refresh_url=refresh_url,
    )
    return str(link.url)
