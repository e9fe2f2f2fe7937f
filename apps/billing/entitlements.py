"""Billing's answers to the kernel's plan questions (apps/core/entitlements.py)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.billing.models import StripeAccount
from apps.billing.plans import plan_named
from apps.core.entitlements import Allowance, Feature, FeatureGrant, Limit


def billing_page_url(tenant: Tenant) -> str:
    # A page of the business's own domain, whichever domain asks (the root admin too).
    return tenant_base_url(tenant) + reverse("dashboard:billing", urlconf=settings.ROOT_URLCONF)


class TenantPlanProvider:
    """The current business's plan decides; a trial has the trial plan's limits."""

    def allowance(self, limit: Limit) -> Allowance:
        plan = plan_named(tenant_current().plan)
        return Allowance(plan_name=str(plan.name), allowed=plan.allowed(limit))

    def feature(self, feature: Feature) -> FeatureGrant:
        plan = plan_named(tenant_current().plan)
        return FeatureGrant(plan_name=str(plan.name), allowed=plan.includes(feature))

    def upgrade_url(self) -> str:
        return billing_page_url(tenant_current())

    def inactive_reason(self) -> str | None:
        tenant = tenant_current()
        if tenant.status == Tenant.Status.SUSPENDED and tenant.support_suspended_at is not None:
            return _(
                "This business is suspended by TimeNest support; "
                "an admin of the business can contact support about it."
            )
        if tenant.status == Tenant.Status.SUSPENDED:
            return _(
                "This business's plan is suspended for an unpaid balance; "
                "an admin can pay on the billing page to take bookings again."
            )
        return None

    def closed_reason(self) -> str | None:
        if tenant_current().status == Tenant.Status.CLOSED:
            return _(
                "This business has been closed; it takes no new bookings. "
                "Its staff can still sign in and see its data."
            )
        return None

    def payment_currency_refusal(self, currency: str) -> str | None:
        account = StripeAccount.objects.filter(tenant=tenant_current()).first()
        if account is None or not account.charges_enabled or not account.currencies:
            return None
        if currency.lower() in account.currencies:
            return None
        return _(
            "Your Stripe account cannot take payments in %(currency)s. "
            "Choose one of: %(currencies)s."
        ) % {
            "currency": currency.upper(),
            "currencies": ", ".join(code.upper() for code in account.currencies[:12])
            + ("…" if len(account.currencies) > 12 else ""),
        }

    def api_rate(self) -> str | None:
        return f"{plan_named(tenant_current().plan).api_requests_per_minute}/min"
