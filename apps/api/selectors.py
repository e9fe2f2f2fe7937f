"""Reads for API keys, and lookups by id the API needs (the current tenant's schema)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.api.models import ApiKey
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.core import raw_rows
from apps.core.errors import NotFound
from apps.resources.models import Location, Resource, Service


def api_key_list(*, include_revoked: bool = False) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.order_by("-created_at", "id")
    if not include_revoked:
        keys = keys.filter(revoked_at__isnull=True)
    return keys


def api_key_get(*, key_id: UUID | str) -> ApiKey:
    try:
        pk = key_id if isinstance(key_id, UUID) else UUID(str(key_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(_("There is no such API key.")) from None
    key = ApiKey.objects.filter(pk=pk).first()
    if key is None:
        raise NotFound(_("There is no such API key."))
    return key


# --- Reads the API needs that the scheduling apps do not offer (yet) ------------------
# Plain lookups by id, scoped to the tenant's schema like every read here.


def slot_place_get(*, slot_id: UUID | str) -> tuple[Resource, datetime]:
    """The resource (with its location) and start of a slot an `id` from GET slots
    names, in one query."""
    try:
        pk = slot_id if isinstance(slot_id, UUID) else UUID(str(slot_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(_("There is no such slot.")) from None
    slot = SlotInstance.objects.filter(pk=pk).select_related("resource__location").first()
    if slot is None:
        raise NotFound(_("There is no such slot."))
    return slot.resource, slot.starts_at


def service_and_slot_place_get(
    *, service_id: UUID, slot_id: UUID
) -> tuple[Service | None, tuple[Resource, datetime] | None]:
    """What a hold on a slot names, in one statement: the service, and the resource
    (with its location) and start of the slot; None for an id that names nothing (then
    `service_get` and `slot_place_get` say so, as ever)."""
    sql = (
        f"SELECT {raw_rows.columns(Service, 'sv')}, {raw_rows.columns(Resource, 'r')},"  # noqa: S608
        f" {raw_rows.columns(Location, 'l')}, s.starts_at"
        f" FROM (SELECT 1) AS one"
        f" LEFT JOIN {raw_rows.table(Service)} sv ON sv.id = %s"
        f" LEFT JOIN {raw_rows.table(SlotInstance)} s ON s.id = %s"
        f" LEFT JOIN {raw_rows.table(Resource)} r ON r.id = s.resource_id"
        f" LEFT JOIN {raw_rows.table(Location)} l ON l.id = r.location_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [service_id, slot_id])
        row = cursor.fetchone()
    sizes = [len(model._meta.concrete_fields) for model in (Service, Resource, Location)]
    service_values = row[: sizes[0]]
    resource_values = row[sizes[0] : sizes[0] + sizes[1]]
    location_values = row[sizes[0] + sizes[1] : sum(sizes)]
    service = None
    if service_values[0] is not None:
        service = raw_rows.model_from_values(Service, service_values)
    place = None
    if resource_values[0] is not None and location_values[0] is not None:
        resource = raw_rows.model_from_values(Resource, resource_values)
        resource.location = raw_rows.model_from_values(Location, location_values)
        place = (resource, row[-1])
    return service, place


def availability_rule_list(
    *, resource_id: UUID | None = None, location_id: UUID | None = None
) -> QuerySet[AvailabilityRule]:
    rules = AvailabilityRule.objects.order_by("kind", "valid_from", "start_minute", "id")
    if resource_id is not None:
        rules = rules.filter(resource_id=resource_id)
    if location_id is not None:
        rules = rules.filter(location_id=location_id)
    return rules


def availability_rule_get(*, rule_id: UUID | str) -> AvailabilityRule:
    try:
        pk = rule_id if isinstance(rule_id, UUID) else UUID(str(rule_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(_("There is no such availability rule.")) from None
    rule = AvailabilityRule.objects.filter(pk=pk).first()
    if rule is None:
        raise NotFound(_("There is no such availability rule."))
    return rule
