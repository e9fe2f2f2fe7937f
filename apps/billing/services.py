"""Writes for platform plans: choosing a plan, and the life of a business's standing
(trial → active / past due → suspended → active again).

A business tries the top plan for `BILLING_TRIAL_DAYS`. When the trial ends without a
paid plan it moves to Free if what it uses fits Free, else it is past due. A business
past due (its trial ended over Free's limits, or Stripe could not collect a payment) is
suspended after `BILLING_GRACE_DAYS`; paying makes it active again. Suspension takes
the booking pages and the API off line; staff can still sign in, see everything and
pay, and nothing is deleted. Every move is written to the plan history (`PlanChange`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.billing.models import PlanChange
from apps.billing.plans import FREE, PLANS, TRIAL, Plan, plan_named
from apps.core.entitlements import Limit, limit_label, usage
from apps.core.errors import FieldError, ValidationFailed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageLine:
    limit: Limit
    label: str
    used: int
    allowed: int | None

    @property
    def percent(self) -> int:
        """How full the allowance is, 0-100 (0 when unlimited)."""
        if not self.allowed:
            return 100 if self.allowed == 0 and self.used else 0
        return min(100, round(self.used * 100 / self.allowed))

    @property
    def over(self) -> int:
        return max(0, self.used - self.allowed) if self.allowed is not None else 0


def plan_usage(*, tenant: Tenant, plan: Plan | None = None) -> list[UsageLine]:
    """What the business uses of each allowance of `plan` (its own plan by default)."""
    plan = plan or plan_named(tenant.plan)
    with tenant_context(tenant):
        return [
            UsageLine(
                limit=limit,
                label=limit_label(limit),
                used=usage(limit),
                allowed=plan.allowed(limit),
            )
            for limit in Limit
        ]


def _over_plan(*, tenant: Tenant, plan: Plan) -> list[UsageLine]:
    # Only what the business holds now can block a plan; this month's bookings and
    # messages are spent, and the new allowance applies from the next one.
    standing = {Limit.RESOURCES, Limit.SEATS}
    return [
        line
        for line in plan_usage(tenant=tenant, plan=plan)
        if line.limit in standing and line.over
    ]


def _record(
    tenant: Tenant,
    *,
    plan: str,
    status: str,
    cause: str,
    actor: str = "",
    note: str = "",
) -> PlanChange | None:
    """Moves a locked tenant row to `plan`/`status` and writes the history; no row when
    nothing changes."""
    if tenant.plan == plan and tenant.status == status:
        return None
    change = PlanChange.objects.create(
        tenant=tenant,
        from_plan=tenant.plan,
        to_plan=plan,
        from_status=tenant.status,
        to_status=status,
        cause=cause,
        actor=actor[:255],
        note=note[:255],
    )
    if status == Tenant.Status.PAST_DUE and tenant.status != Tenant.Status.PAST_DUE:
        tenant.past_due_since = tenant.past_due_since or timezone.now()
    elif status != Tenant.Status.PAST_DUE and status != Tenant.Status.SUSPENDED:
        tenant.past_due_since = None
    tenant.plan = plan
    tenant.status = status
    tenant.save(update_fields=["plan", "status", "past_due_since", "updated_at"])
    logger.info(
        "billing.plan_changed",
        extra={
            "tenant": tenant.slug,
            "from_plan": change.from_plan,
            "to_plan": plan,
            "from_status": change.from_status,
            "to_status": status,
            "cause": cause,
        },
    )
    return change


def _locked(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update().get(pk=tenant.pk)


def plan_fit_require(*, tenant: Tenant, plan: Plan) -> None:
    """Refuses a plan the business has outgrown, naming what to remove first."""
    over = _over_plan(tenant=tenant, plan=plan)
    if not over:
        return
    problems = []
    for line in over:
        message = _("%(plan)s allows %(allowed)s %(what)s; remove %(over)s of the %(used)s first.")
        values = {
            "plan": plan.name,
            "allowed": line.allowed,
            "what": line.label,
            "over": line.over,
            "used": line.used,
        }
        problems.append(FieldError(line.limit.value, message % values))
    raise ValidationFailed(
        _("The %(plan)s plan is too small for this business now.") % {"plan": plan.name}, problems
    )


@transaction.atomic
def plan_free_choose(*, tenant: Tenant, actor: str) -> Tenant:
    """An admin moves the business to the Free plan (no payment needed). A paid
    subscription is cancelled by Stripe's portal, whose event lands here too."""
    locked = _locked(tenant)
    plan_fit_require(tenant=locked, plan=FREE)
    _record(
        locked,
        plan=FREE.code,
        status=Tenant.Status.ACTIVE,
        cause=PlanChange.Cause.STAFF,
        actor=actor,
    )
    return locked


_SUBSCRIPTION_STATUS = {
    "trialing": Tenant.Status.TRIAL,
    "active": Tenant.Status.ACTIVE,
    "past_due": Tenant.Status.PAST_DUE,
    "unpaid": Tenant.Status.PAST_DUE,
    "incomplete": Tenant.Status.PAST_DUE,
}


@transaction.atomic
def subscription_apply(
    *, tenant: Tenant, plan: Plan | None, subscription_status: str, event_id: str
) -> Tenant:
    """Follows a Stripe subscription of the business: its plan and its status.

    A cancelled (or expired) subscription moves the business to Free when it fits,
    else leaves it past due. A suspended business stays suspended until a payment
    makes the subscription active.
    """
    locked = _locked(tenant)
    if subscription_status in {"canceled", "incomplete_expired"} or plan is None:
        if _over_plan(tenant=locked, plan=FREE):
            _record(
                locked,
                plan=FREE.code,
                status=(
                    Tenant.Status.SUSPENDED
                    if locked.status == Tenant.Status.SUSPENDED
                    else Tenant.Status.PAST_DUE
                ),
                cause=PlanChange.Cause.STRIPE,
                actor=event_id,
                note="subscription ended; over the Free plan",
            )
        else:
            _record(
                locked,
                plan=FREE.code,
                status=Tenant.Status.ACTIVE,
                cause=PlanChange.Cause.STRIPE,
                actor=event_id,
                note="subscription ended",
            )
        return locked
    status = _SUBSCRIPTION_STATUS.get(subscription_status, Tenant.Status.PAST_DUE)
    if locked.status == Tenant.Status.SUSPENDED and status == Tenant.Status.PAST_DUE:
        status = Tenant.Status.SUSPENDED
    _record(locked, plan=plan.code, status=status, cause=PlanChange.Cause.STRIPE, actor=event_id)
    return locked


def tenants_lifecycle_check(*, now: datetime | None = None) -> dict[str, int]:
    """The daily check: trials that ended and grace periods that ran out. Returns how
    many businesses moved, by their new standing."""
    now = now or timezone.now()
    moved = {"free": 0, "past_due": 0, "suspended": 0}
    trials_over = Tenant.objects.filter(
        status=Tenant.Status.TRIAL, plan=TRIAL, trial_ends_at__lte=now, is_ready=True
    ).exclude(schema_name="public")
    for tenant in trials_over.order_by("pk"):
        outcome = _trial_end(tenant, now=now)
        if outcome:
            moved[outcome] += 1
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    overdue = Tenant.objects.filter(status=Tenant.Status.PAST_DUE, past_due_since__lte=now - grace)
    for tenant in overdue.order_by("pk"):
        if _suspend_overdue(tenant, now=now, grace=grace):
            moved["suspended"] += 1
    logger.info("billing.lifecycle_checked", extra=moved)
    return moved


@transaction.atomic
def _trial_end(tenant: Tenant, *, now: datetime) -> str | None:
    locked = _locked(tenant)
    if locked.status != Tenant.Status.TRIAL or locked.plan != TRIAL:
        return None  # a subscription event got there first
    if _over_plan(tenant=locked, plan=FREE):
        locked.past_due_since = locked.trial_ends_at or now
        _record(
            locked,
            plan=TRIAL,
            status=Tenant.Status.PAST_DUE,
            cause=PlanChange.Cause.SCHEDULE,
            note="trial ended; over the Free plan",
        )
        return "past_due"
    _record(
        locked,
        plan=FREE.code,
        status=Tenant.Status.ACTIVE,
        cause=PlanChange.Cause.SCHEDULE,
        note="trial ended",
    )
    return "free"


@transaction.atomic
def _suspend_overdue(tenant: Tenant, *, now: datetime, grace: timedelta) -> bool:
    locked = _locked(tenant)
    if locked.status != Tenant.Status.PAST_DUE or locked.past_due_since is None:
        return False
    if locked.past_due_since > now - grace:
        return False
    _record(
        locked,
        plan=locked.plan,
        status=Tenant.Status.SUSPENDED,
        cause=PlanChange.Cause.SCHEDULE,
        note=f"past due since {locked.past_due_since.date().isoformat()}",
    )
    return True


def suspends_on(tenant: Tenant) -> datetime | None:
    """When a business past due is suspended unless it pays (None: it is not past due)."""
    if tenant.past_due_since is None:
        return None
    return tenant.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def plans_offered() -> list[Plan]:
    return list(PLANS.values())
