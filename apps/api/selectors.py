"""Reads for API keys, and lookups by id the API needs (the current tenant's schema)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.api.models import ApiKey
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.core.errors import NotFound
from apps.resources.models import Resource


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
