"""Reads for tenants and memberships."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from apps.accounts.models import Membership, Tenant, User
from apps.core.tenancy import current_schema


def tenant_current() -> Tenant:
    """The tenant whose schema the connection is on: the request's (the middleware sets
    it) or the task's (the task runner does). A bare `schema_context` knows only the
    schema's name, so then the row is read. The one way the product asks "which
    business is this?" below the views."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.schema_name == current_schema():
        return tenant
    return Tenant.objects.get(schema_name=current_schema())


def tenants_ready() -> QuerySet[Tenant]:
    """Tenants whose schema is complete: periodic work runs here. A suspended business
    is included: its holds still expire (closing their checkouts) and the customers it
    already booked still get their reminders; it takes no new bookings."""
    return (
        Tenant.objects.filter(is_ready=True).exclude(schema_name="public").order_by("schema_name")
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


def seats_used() -> int:
    """What the plan's seat allowance counts: the current business's team members."""
    return Membership.objects.filter(tenant=tenant_current()).count()
