"""Reactions of the calendars app to events of the apps it depends on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from apps.accounts.due_work import work_due_note
from apps.accounts.signals import tenant_settings_changed
from apps.calendars.availability.cache import catalogue_changed
from apps.calendars.grid.services import MATERIALIZE_WORK, slots_materialize_enqueue
from apps.resources.models import Location, Resource, Service
from apps.resources.signals import schedule_changed


@receiver(schedule_changed, dispatch_uid="calendars.rebuild_grids_on_schedule_change")
def rebuild_grids_on_schedule_change(*, resource_ids: list[UUID], **_: Any) -> None:
    slots_materialize_enqueue(resource_ids=resource_ids)


@receiver(tenant_settings_changed, dispatch_uid="calendars.upkeep_on_longer_horizon")
def upkeep_on_longer_horizon(*, changed: set[str], **_: Any) -> None:
    """A longer booking horizon needs the grids extended now, not at the next upkeep."""
    if "horizon_days" in changed:
        work_due_note(kind=MATERIALIZE_WORK, due=timezone.now())


# Cached availability answers depend on the catalogue (which resources deliver a service,
# their locations' zones, a service's duration, buffers, capacity, notice and horizon):
# any change of it, from the services or the admin, retires them all.
@receiver(post_save, sender=Location, dispatch_uid="calendars.catalogue_location_saved")
@receiver(post_delete, sender=Location, dispatch_uid="calendars.catalogue_location_deleted")
@receiver(post_save, sender=Resource, dispatch_uid="calendars.catalogue_resource_saved")
@receiver(post_delete, sender=Resource, dispatch_uid="calendars.catalogue_resource_deleted")
@receiver(post_save, sender=Service, dispatch_uid="calendars.catalogue_service_saved")
@receiver(post_delete, sender=Service, dispatch_uid="calendars.catalogue_service_deleted")
@receiver(m2m_changed, sender=Service.resources.through, dispatch_uid="calendars.catalogue_links")
def availability_catalogue_changed(**_: Any) -> None:
    catalogue_changed()
