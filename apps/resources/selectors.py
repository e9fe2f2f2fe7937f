"""Reads for locations, resources and services (the current tenant's schema)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.core.errors import NotFound
from apps.resources.models import Location, Resource, Service


def _uuid_or_none(value: UUID | str) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def location_list() -> QuerySet[Location]:
    return Location.objects.order_by("name", "id")


def location_get(*, location_id: UUID | str) -> Location:
    pk = _uuid_or_none(location_id)
    location = Location.objects.filter(pk=pk).first() if pk else None
    if location is None:
        raise NotFound(_("There is no such location."))
    return location


def resource_list(
    *,
    location: Location | None = None,
    service: Service | None = None,
    include_inactive: bool = False,
) -> QuerySet[Resource]:
    resources = Resource.objects.select_related("location").order_by("name", "id")
    if not include_inactive:
        resources = resources.filter(is_active=True)
    if location is not None:
        resources = resources.filter(location=location)
    if service is not None:
        resources = resources.filter(services=service)
    return resources


def resource_get(*, resource_id: UUID | str) -> Resource:
    pk = _uuid_or_none(resource_id)
    resource = Resource.objects.select_related("location").filter(pk=pk).first() if pk else None
    if resource is None:
        raise NotFound(_("There is no such resource."))
    return resource


def service_list(*, include_inactive: bool = False) -> QuerySet[Service]:
    services = Service.objects.order_by("name", "id")
    if not include_inactive:
        services = services.filter(is_active=True)
    return services


def service_get(*, service_id: UUID | str) -> Service:
    pk = _uuid_or_none(service_id)
    service = Service.objects.filter(pk=pk).first() if pk else None
    if service is None:
        raise NotFound(_("There is no such service."))
    return service


def resources_active_count() -> int:
    """What the plan's resource allowance counts: active people and rooms."""
    return Resource.objects.filter(is_active=True).count()
