"""Writes for platform plans: choosing a plan, and the life of a business's standing
(trial → active / past due → suspended → active again).

A business tries the top plan for `BILLING_TRIAL_DAYS`. When the trial ends without a
paid plan it moves to Free if what it uses fits Free, else it is past due. A business
past due (its trial ended over Free's limits, or Stripe could not collect a payment) is
suspended after `BILLING_GRACE_DAYS`; paying makes it active again. Suspension takes
the booking pages and the API off line; staff can still sign in, see everything and
pay, and nothing is deleted. Every move is written to the plan history (`PlanChange`).

Platform support may also suspend a business (`tenant_suspend`, with a typed reason): it
then stays suspended whatever billing says — a payment, a plan choice, the daily check —
until support reactivates it (`tenant_reactivate`). Meanwhile billing's own standing is
kept in `past_due_since`, so reactivation returns the business to what billing gives it:
past due while its grace lasts, still suspended once an unpaid balance outran the grace
(paying lifts that one), on trial while it has one, else active.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from apps.accounts.closure import REASON_MAX_LENGTH
from apps.accounts.models import Tenant, User
from apps.accounts.signals import tenant_status_changed
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
    if tenant.status == Tenant.Status.CLOSED:
        # A closed business (apps/accounts/closure.py) stays closed: a Stripe event or
        # a plan choice may still move its plan, never reopen it.
        status = Tenant.Status.CLOSED
    # Under a support suspension the business stays suspended; the standing billing
    # gives it lives on in `past_due_since` for `tenant_reactivate`.
    billing_status = status
    if tenant.support_suspended_at is not None and status != Tenant.Status.CLOSED:
        status = Tenant.Status.SUSPENDED
    if tenant.plan == plan and tenant.status == status:
        if billing_status != status:
            _past_due_follow(tenant, billing_status)
            tenant.save(update_fields=["past_due_since", "updated_at"])
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
    _past_due_follow(tenant, billing_status)
    tenant.plan = plan
    tenant.status = status
    tenant.save(update_fields=["plan", "status", "past_due_since", "updated_at"])
    if change.from_status != status:
        tenant_status_changed.send(
            sender=Tenant, tenant=tenant, from_status=change.from_status, to_status=status
        )
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


def _past_due_follow(tenant: Tenant, status: str) -> None:
    """A business becoming past due starts its grace; one in good standing has none."""
    if status == Tenant.Status.PAST_DUE and tenant.status != Tenant.Status.PAST_DUE:
        tenant.past_due_since = tenant.past_due_since or timezone.now()
    elif status != Tenant.Status.PAST_DUE and status != Tenant.Status.SUSPENDED:
        tenant.past_due_since = None


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
                    if _billing_suspended(locked)
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
    if _billing_suspended(locked) and status == Tenant.Status.PAST_DUE:
        status = Tenant.Status.SUSPENDED
    _record(locked, plan=plan.code, status=status, cause=PlanChange.Cause.STRIPE, actor=event_id)
    return locked


def _billing_suspended(tenant: Tenant) -> bool:
    """Suspended for an unpaid balance (a support suspension is support's to lift)."""
    return tenant.status == Tenant.Status.SUSPENDED and tenant.support_suspended_at is None


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


# --- Support's suspension ------------------------------------------------------------


def _support_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            _("Say why."),
            [FieldError("reason", _("Enter the reason; it is kept in the audit trail."))],
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(
            _("The reason is too long."),
            [
                FieldError(
                    "reason",
                    _("Keep the reason under %(count)s characters.") % {"count": REASON_MAX_LENGTH},
                )
            ],
        )
    return reason


def _support_audit(tenant: Tenant, *, agent: User, event: str, reason: str, **changes: Any) -> None:
    """The public model history's entry of a support move: the agent and the reason (the
    tenant's own saves are kept out of auditlog's way, which knows neither)."""
    LogEntry.objects.log_create(
        tenant,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={field: [str(old), str(new)] for field, (old, new) in changes.items()},
        actor=agent,
        actor_email=agent.email,
        additional_data={"event": event, "reason": reason},
    )


def tenant_suspend(*, tenant: Tenant, reason: str, agent: User) -> Tenant:
    """Platform support suspends the business, for `reason`: its booking pages and API
    stop taking bookings (as for an unpaid balance) until support reactivates it,
    whatever billing says meanwhile. Recorded in the plan history and the public model
    history with the agent and the reason."""
    reason = _support_reason(reason)
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = _locked(tenant)
        if locked.schema_name == get_public_schema_name():
            raise ValidationFailed(_("The platform itself cannot be suspended."))
        if locked.status == Tenant.Status.CLOSED:
            raise ValidationFailed(
                _("%(name)s is closed; there is nothing to suspend.") % {"name": locked.name}
            )
        if locked.support_suspended_at is not None:
            raise ValidationFailed(
                _("%(name)s is already suspended by support.") % {"name": locked.name}
            )
        previous = locked.status
        locked.support_suspended_at = timezone.now()
        locked.support_suspended_reason = reason
        # Billing's standing stays as it is; the flag makes the status suspended.
        _support_flag_save(locked, standing=previous, agent=agent, reason=reason)
        _support_audit(
            locked,
            agent=agent,
            event="tenant.suspended",
            reason=reason,
            status=(previous, locked.status),
            support_suspended_at=("None", locked.support_suspended_at.isoformat()),
        )
    logger.info(
        "tenant.suspended",
        extra={"tenant": locked.slug, "by": str(agent.pk), "from_status": previous},
    )
    return locked


def _support_flag_save(locked: Tenant, *, standing: str, agent: User, reason: str) -> None:
    """Saves support's suspension flag as set on `locked` and records the change in the
    plan history with billing's `standing` (the model history gets `_support_audit`'s
    entry instead of auditlog's)."""
    with disable_auditlog():
        locked.save(
            update_fields=["support_suspended_at", "support_suspended_reason", "updated_at"]
        )
        _record(
            locked,
            plan=locked.plan,
            status=standing,
            cause=PlanChange.Cause.SUPPORT,
            actor=agent.email,
            note=reason,
        )


def tenant_reactivate(*, tenant: Tenant, reason: str, agent: User) -> Tenant:
    """Lifts support's suspension, for `reason`. The business returns to the standing
    billing gives it: past due while its grace lasts, still suspended when an unpaid
    balance outran the grace (paying lifts that), on trial while it has one, else
    active. Refused for a closed business and for one support did not suspend."""
    reason = _support_reason(reason)
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = _locked(tenant)
        if locked.status == Tenant.Status.CLOSED:
            raise ValidationFailed(
                _("%(name)s is closed for good; it cannot be reactivated.") % {"name": locked.name}
            )
        if locked.support_suspended_at is None:
            raise ValidationFailed(
                _(
                    "%(name)s is not suspended by support. A business suspended for an "
                    "unpaid balance takes bookings again once it pays."
                )
                % {"name": locked.name}
            )
        previous = locked.status
        standing = _standing_after_support(locked, now=timezone.now())
        locked.support_suspended_at = None
        locked.support_suspended_reason = ""
        _support_flag_save(locked, standing=standing, agent=agent, reason=reason)
        _support_audit(
            locked,
            agent=agent,
            event="tenant.reactivated",
            reason=reason,
            status=(previous, locked.status),
        )
    logger.info(
        "tenant.reactivated",
        extra={"tenant": locked.slug, "by": str(agent.pk), "to_status": locked.status},
    )
    return locked


def _standing_after_support(tenant: Tenant, *, now: datetime) -> str:
    if tenant.past_due_since is not None:
        grace_over = tenant.past_due_since <= now - timedelta(days=settings.BILLING_GRACE_DAYS)
        return Tenant.Status.SUSPENDED if grace_over else Tenant.Status.PAST_DUE
    if tenant.plan == TRIAL:
        # A trial that ended meanwhile is ended by the next daily check.
        return Tenant.Status.TRIAL
    return Tenant.Status.ACTIVE
