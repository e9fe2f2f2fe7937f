"""What the business's plan allows: the question lower apps ask, answered from above.

Domain services ask here before they add something a plan counts (a resource, a team
seat, a booking, a text message) and before they take a booking at all. Two parties
fill it in at start-up, so every import still points down:

- each domain app registers a **counter** for what it owns (`usage_counter_register`):
  resources count their active resources, bookings this month's bookings, and so on;
- billing registers the **plan provider** (`plan_provider_register`): how many of each
  a business's plan allows, which features it includes (a custom domain) and whether
  the business may take bookings at all.

Without a provider (billing not installed) nothing is limited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import DomainError, FieldError
from apps.core.tenancy import current_schema


class Limit(StrEnum):
    RESOURCES = "resources"
    SEATS = "seats"
    BOOKINGS_PER_MONTH = "bookings_per_month"
    SMS_PER_MONTH = "sms_per_month"


class Feature(StrEnum):
    """Something a plan includes or not (no count)."""

    CUSTOM_DOMAIN = "custom_domain"


class PlanLimitReached(DomainError):
    code = "PLAN_LIMIT"
    http_status = 402


class PlanInactive(DomainError):
    code = "PLAN_INACTIVE"
    http_status = 402


class BusinessClosed(PlanInactive):
    """The business was closed by platform support: it takes nothing new, whatever its
    plan, and paying does not reopen it. A PlanInactive, so every door that refuses a
    suspended business refuses a closed one the same way (customer pages: 503 "not
    taking bookings online"); the API tells them apart by code."""

    code = "BUSINESS_CLOSED"
    http_status = 403


@dataclass(frozen=True)
class Allowance:
    """A plan's figure for one limit (None: unlimited)."""

    plan_name: str
    allowed: int | None


@dataclass(frozen=True)
class FeatureGrant:
    """Whether a plan includes one feature."""

    plan_name: str
    allowed: bool


class PlanProvider(Protocol):
    def allowance(self, limit: Limit) -> Allowance: ...

    def feature(self, feature: Feature) -> FeatureGrant:
        """Whether the current business's plan includes `feature`."""

    def upgrade_url(self) -> str:
        """Where an admin of the current business changes its plan."""

    def inactive_reason(self) -> str | None:
        """None when the current business may take bookings, else why not (for staff)."""

    def closed_reason(self) -> str | None:
        """None unless the current business is closed for good, else why (for staff)."""

    def api_rate(self) -> str | None:
        """Requests per API key the plan allows, as a rate ("100/min"); None: no say."""

    def payment_currency_refusal(self, currency: str) -> str | None:
        """Why the business cannot take online payments in `currency` (None: it can, or
        it takes no payments online, so there is nothing to refuse)."""


Counter = Callable[[], int]

_counters: dict[Limit, Counter] = {}
_provider: PlanProvider | None = None


def usage_counter_register(limit: Limit, counter: Counter) -> None:
    """Called once by the app that owns what `limit` counts, in its ready()."""
    _counters[limit] = counter


def plan_provider_register(provider: PlanProvider | None) -> None:
    global _provider
    _provider = provider


def usage(limit: Limit) -> int:
    """How many of `limit` the current business uses now (0 when nobody counts it)."""
    counter = _counters.get(limit)
    return counter() if counter is not None else 0


def allowance(limit: Limit) -> Allowance | None:
    return _provider.allowance(limit) if _provider is not None else None


def entitlement_require(limit: Limit, *, adding: int = 1, serialize: bool = False) -> None:
    """Raises PlanLimitReached when adding `adding` more would go over the current
    business's plan. Call it inside the transaction that adds them; `serialize` makes
    concurrent callers for the same business and limit wait for each other's commit (for
    rare writes such as a new resource, so two at once cannot both take the last one)."""
    granted = allowance(limit)
    if _provider is None or granted is None or granted.allowed is None:
        return
    if serialize:
        with connection.cursor() as cursor:
            key = f"entitlement:{current_schema()}:{limit.value}"
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
    used = usage(limit)
    if used + adding <= granted.allowed:
        return
    raise PlanLimitReached(
        _("The %(plan)s plan allows %(allowed)s %(what)s; this business has %(used)s.")
        % {
            "plan": granted.plan_name,
            "allowed": granted.allowed,
            "what": limit_label(limit),
            "used": used,
        },
        [
            FieldError("limit", limit.value),
            FieldError("allowed", str(granted.allowed)),
            FieldError("used", str(used)),
            FieldError("upgrade_url", _provider.upgrade_url()),
        ],
    )


def limit_label(limit: Limit) -> str:
    labels = {
        Limit.RESOURCES: _("active people and rooms"),
        Limit.SEATS: _("team members"),
        Limit.BOOKINGS_PER_MONTH: _("bookings a month"),
        Limit.SMS_PER_MONTH: _("text messages a month"),
    }
    return labels[limit]


def feature_require(feature: Feature) -> None:
    """Raises PlanLimitReached when the current business's plan does not include
    `feature` (details: `limit` naming the feature, `allowed` "false", `upgrade_url`)."""
    if _provider is None:
        return
    grant = _provider.feature(feature)
    if grant.allowed:
        return
    raise PlanLimitReached(
        _("The %(plan)s plan does not include %(what)s; upgrade to use it.")
        % {"plan": grant.plan_name, "what": feature_label(feature)},
        [
            FieldError("limit", feature.value),
            FieldError("allowed", "false"),
            FieldError("upgrade_url", _provider.upgrade_url()),
        ],
    )


def feature_label(feature: Feature) -> str:
    labels = {Feature.CUSTOM_DOMAIN: _("a custom domain")}
    return labels[feature]


def tenant_active_require() -> None:
    """Raises PlanInactive when the current business may not take bookings now
    (BusinessClosed when it is closed for good)."""
    if _provider is None:
        return
    closed = _provider.closed_reason()
    if closed is not None:
        raise BusinessClosed(closed)
    reason = _provider.inactive_reason()
    if reason is not None:
        raise PlanInactive(reason)


def plan_api_rate() -> str | None:
    return _provider.api_rate() if _provider is not None else None


def month_started_at() -> datetime:
    """The start of the current calendar month (UTC): monthly allowances count from here."""
    now = timezone.now().astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def payment_currency_refusal(currency: str) -> str | None:
    """Asked when a paid service is saved: can the business's payment account take
    this currency?"""
    return _provider.payment_currency_refusal(currency) if _provider is not None else None
