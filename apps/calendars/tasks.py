"""Thin tasks: they take ids, run in the tenant schema carried by the message, and are
idempotent (materialization is a diff)."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from apps.calendars.grid.services import resources_materialize, slots_prune, tenant_materialize


@shared_task(name="calendars.materialize_resource")
def materialize_resource(resource_ids: list[str], days: int | None = None) -> dict[str, int]:
    """Rebuild the grids of these resources from now to the horizon (after a rule or a
    resource change)."""
    return resources_materialize(
        resource_ids=[UUID(resource_id) for resource_id in resource_ids], days=days
    ).as_dict()


@shared_task(name="calendars.materialize_tenant")
def materialize_tenant(days: int | None = None) -> dict[str, int]:
    """Hourly per tenant (beat fan-out): extend every grid to the rolling horizon and
    heal any drift."""
    return tenant_materialize(days=days).as_dict()


@shared_task(name="calendars.prune_slots")
def prune_slots() -> int:
    """Nightly per tenant (beat fan-out): delete slots past the retention period."""
    return slots_prune()
