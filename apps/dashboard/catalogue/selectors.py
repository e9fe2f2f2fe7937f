"""Reads behind the dashboard's "Services & resources" screens."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from apps.accounts.models import Membership, Tenant, User
from apps.resources.models import Location, Resource, Service


@dataclass(frozen=True)
class Catalogue:
    locations: list[Location]
    resources: list[Resource]
    services: list[Service]


def catalogue_get() -> Catalogue:
    """Every location (with its number of resources), resource (active or not) and
    service (with who delivers it). Four queries."""
    return Catalogue(
        locations=list(
            Location.objects.annotate(resource_count=Count("resources")).order_by("name", "pk")
        ),
        resources=list(
            Resource.objects.select_related("location").order_by("-is_active", "name", "pk")
        ),
        services=list(
            Service.objects.prefetch_related("resources").order_by("-is_active", "name", "pk")
        ),
    )


def staff_users(*, tenant: Tenant) -> list[User]:
    """The business's team: people a resource's calendar can belong to."""
    return [
        membership.user
        for membership in Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .order_by("user__email")
    ]
