"""Thin tasks: they take ids, run in the tenant schema carried by the message, and are
idempotent (materialization is a diff)."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from apps.accounts.due_work import work_due_note, work_due_reschedule
from apps.calendars.grid.services import (
    MATERIALIZE_WORK,
    resources_materialize,
    slots_prune,
    tenant_materialize,
    tenant_materialize_next_due,
)


@shared_task(name="calendars.materialize_resource")
def materialize_resource(resource_ids: list[str], days: int | None = None) -> dict[str, int]:
    """Rebuild the grids of these resources from now to the horizon (after a rule or a
    resource change); a resource in a zone new to the business makes the daily upkeep
    due at that zone's midnight, if that is earlier."""
    result = resources_materialize(
        resource_ids=[UUID(resource_id) for resource_id in resource_ids], days=days
    ).as_dict()
    work_due_note(kind=MATERIALIZE_WORK, due=tenant_materialize_next_due())
    return result


@shared_task(name="calendars.materialize_tenant")
def materialize_tenant(days: int | None = None) -> dict[str, int]:
    """A tenant's daily grid upkeep, sent by beat when it is due (accounts.run_where_due,
    just after a location's local midnight): extend every grid to the rolling horizon,
    heal any drift, delete slots past the retention period; then when it is next due."""
    result = tenant_materialize(days=days).as_dict()
    result["pruned"] = slots_prune()
    work_due_reschedule(kind=MATERIALIZE_WORK, next_due=tenant_materialize_next_due)
    return result


@shared_task(name="calendars.prune_slots")
def prune_slots() -> int:
    """Delete the tenant's slots past the retention period (the daily upkeep does it
    too: this is for a run by hand)."""
    return slots_prune()
