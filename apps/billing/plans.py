"""The platform's plans and what each allows: the one place these figures live.

A business on trial has the top plan's limits. Stripe holds one product per paid plan
with a monthly price whose `lookup_key` is `timenest_<code>_monthly`; dj-stripe mirrors
them into the public schema. None means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from apps.core.entitlements import Feature, Limit

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class Plan:
    code: str
    name: StrPromise | str
    monthly_price: Decimal
    currency: str
    resources: int | None
    seats: int | None
    bookings_per_month: int | None
    sms_per_month: int | None
    api_requests_per_minute: int
    custom_domain: bool

    def allowed(self, limit: Limit) -> int | None:
        figures = {
            Limit.RESOURCES: self.resources,
            Limit.SEATS: self.seats,
            Limit.BOOKINGS_PER_MONTH: self.bookings_per_month,
            Limit.SMS_PER_MONTH: self.sms_per_month,
        }
        return figures[limit]

    def includes(self, feature: Feature) -> bool:
        features = {Feature.CUSTOM_DOMAIN: self.custom_domain}
        return features[feature]

    @property
    def is_paid(self) -> bool:
        return self.monthly_price > 0

    @property
    def price_lookup_key(self) -> str:
        return f"timenest_{self.code}_monthly"


FREE = Plan(
    code="free",
    name=_("Free"),
    monthly_price=Decimal("0"),
    currency="usd",
    resources=1,
    seats=2,
    bookings_per_month=100,
    sms_per_month=0,
    # PRODUCT.md §4.9: 100 requests a minute per key on the lowest plan.
    api_requests_per_minute=100,
    custom_domain=False,
)
STARTER = Plan(
    code="starter",
    name=_("Starter"),
    monthly_price=Decimal("19"),
    currency="usd",
    resources=5,
    seats=5,
    bookings_per_month=1000,
    sms_per_month=250,
    api_requests_per_minute=300,
    custom_domain=False,
)
PRO = Plan(
    code="pro",
    name=_("Pro"),
    monthly_price=Decimal("49"),
    currency="usd",
    resources=50,
    seats=25,
    bookings_per_month=None,
    sms_per_month=2000,
    api_requests_per_minute=1000,
    custom_domain=True,
)

PLANS: dict[str, Plan] = {plan.code: plan for plan in (FREE, STARTER, PRO)}
# The plan a trial tries out.
TRIAL_PLAN = PRO
TRIAL = "trial"


def plan_named(code: str) -> Plan:
    """The plan behind a tenant's `plan` code (a trial has the trial plan's limits; an
    unknown code, the lowest plan's)."""
    if code == TRIAL:
        return TRIAL_PLAN
    return PLANS.get(code, FREE)


def plan_by_price_lookup_key(lookup_key: str | None) -> Plan | None:
    for plan in PLANS.values():
        if plan.price_lookup_key == lookup_key:
            return plan
    return None
