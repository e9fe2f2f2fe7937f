"""Billing records of the platform (public schema).

`PlanChange` is the plan history of a business: every move of its plan or its status
(trial ended, paid, past due, suspended, reactivated), with who or what made it. Rows are
append-only like the other audit trails (migration 0002).
"""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Tenant
from apps.core.ids import uuid7


class PlanChange(models.Model):
    class Cause(models.TextChoices):
        STAFF = "staff", "A member of staff"
        STRIPE = "stripe", "A Stripe event"
        SCHEDULE = "schedule", "The daily check"
        SUPPORT = "support", "Platform support"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No constraint: the history outlives the business.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="plan_changes"
    )
    from_plan = models.CharField(max_length=32)
    to_plan = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    # The user's email for staff and support, the event id for Stripe.
    actor = models.CharField(max_length=255, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="plan_change_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.from_plan}/{self.from_status} → {self.to_plan}/{self.to_status}"


class StripeEvent(models.Model):
    """The inbox of Stripe events: one row per event id, whoever delivered it and however
    often. A row is processed once (`processed_at`); a failure keeps the row with its error
    for the retry task and for support (admin)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Recorded and ignored"
        FAILED = "failed", "Failed; will be retried"

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=100)
    # The connected account an event is about ("" for the platform's own events).
    account = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    note = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="stripe_event_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.outcome})"


class StripeAccount(models.Model):
    """A business's own Stripe account (Connect), which takes its customers' payments.
    Online payment is on while Stripe says the account can take charges."""

    tenant = models.OneToOneField(
        Tenant,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="stripe_account",
    )
    account_id = models.CharField(max_length=255, unique=True)
    charges_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    country = models.CharField(max_length=2, blank=True)
    default_currency = models.CharField(max_length=3, blank=True)
    # Currencies the account's country can take (lower case, as Stripe writes them).
    currencies = models.JSONField(default=list, blank=True)
    # Why online payment is off, in Stripe's words (a requirement, "rejected.fraud", …).
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.account_id} ({'on' if self.charges_enabled else 'off'})"
