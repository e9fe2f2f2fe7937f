"""Model history (django-auditlog) of the plan history: each move also appears in the
business's one trail of model changes, with the person who made it when a person did."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.billing.models import PlanChange


def audit_register() -> None:
    """Called from BillingConfig.ready(); registering twice is harmless."""
    if not auditlog.contains(PlanChange):
        auditlog.register(PlanChange)
