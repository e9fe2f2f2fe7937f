"""Reactions of the calendars app to events of the apps it depends on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from apps.calendars.services import slots_materialize_enqueue
from apps.resources.signals import schedule_changed


@receiver(schedule_changed, dispatch_uid="calendars.rebuild_grids_on_schedule_change")
def rebuild_grids_on_schedule_change(*, resource_ids: list[UUID], **_: Any) -> None:
    slots_materialize_enqueue(resource_ids=resource_ids)
