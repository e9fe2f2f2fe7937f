"""Reads for tenants and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Membership, Tenant, User


def tenants_ready() -> QuerySet[Tenant]:
    """Tenants whose schema is complete and who are not suspended: periodic work runs here."""
    return (
        Tenant.objects.filter(is_ready=True)
        .exclude(schema_name="public")
        .exclude(status=Tenant.Status.SUSPENDED)
        .order_by("schema_name")
    )


def membership_get(*, user: User, tenant: Tenant) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, tenant=tenant).select_related("tenant").first()


def memberships_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, tenant__is_ready=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )
