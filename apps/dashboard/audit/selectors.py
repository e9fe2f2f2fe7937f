"""Reads of the dashboard's audit page: the business's own trail, from its schema — the
model history (django-auditlog's entries: who changed what, with the diff) and the
support accesses (who from TimeNest opened its admin, and why) — newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from apps.audit.models import SupportAccess
from apps.calendars.timezones import local_day_start, zone

Kind = Literal["change", "access"]


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class TrailEntry:
    kind: Kind
    at: dt.datetime
    who: str  # an email address, or "" for the system
    by_support: bool
    action: str
    what: str
    changes: list[Change]
    reason: str


def audit_models() -> list[tuple[int, str]]:
    """The kinds of record the business's model history has entries about, by name."""
    used = LogEntry.objects.order_by().values("content_type_id").distinct()
    kinds = []
    for content_type in ContentType.objects.filter(pk__in=used):
        model = content_type.model_class()
        name = str(model._meta.verbose_name) if model is not None else content_type.model
        kinds.append((content_type.pk, name[:1].upper() + name[1:]))
    return sorted(kinds, key=lambda kind: kind[1])


def audit_trail(
    *,
    tz_name: str,
    kind: str = "",
    content_type_id: int | None = None,
    actor_email: str = "",
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> QuerySet[Any]:
    """Keys of the trail's entries, newest first, as one query to page through: rows of
    (`kind`, `key`, `at`); `audit_entries` reads a page's entries. Days are calendar days
    in `tz_name`, both included; a model filter leaves the support accesses out."""
    changes = LogEntry.objects.all()
    accesses = SupportAccess.objects.all()
    if content_type_id is not None:
        changes = changes.filter(content_type_id=content_type_id)
        accesses = accesses.none()
    if actor_email:
        changes = changes.filter(
            Q(actor__email__iexact=actor_email) | Q(actor_email__iexact=actor_email)
        )
        accesses = accesses.filter(user_email__iexact=actor_email)
    tz = zone(tz_name)
    if first_day:
        start = local_day_start(first_day, tz)
        changes = changes.filter(timestamp__gte=start)
        accesses = accesses.filter(created_at__gte=start)
    if last_day:
        end = local_day_start(last_day + dt.timedelta(days=1), tz)
        changes = changes.filter(timestamp__lt=end)
        accesses = accesses.filter(created_at__lt=end)
    if kind == "access":
        changes = changes.none()
    elif kind == "change":
        accesses = accesses.none()
    text = CharField()
    keyed_changes = changes.order_by().values(
        kind=Value("change", output_field=text),
        key=Cast("pk", output_field=text),
        at=F("timestamp"),
    )
    keyed_accesses = accesses.order_by().values(
        kind=Value("access", output_field=text),
        key=Cast("pk", output_field=text),
        at=F("created_at"),
    )
    return keyed_changes.union(keyed_accesses, all=True).order_by("-at", "-key")


def audit_entries(keys: list[dict[str, Any]]) -> list[TrailEntry]:
    """The entries of a page of `audit_trail`, in its order (two queries)."""
    change_ids = [int(key["key"]) for key in keys if key["kind"] == "change"]
    access_ids = [key["key"] for key in keys if key["kind"] == "access"]
    changes = {
        str(entry.pk): _change_entry(entry)
        for entry in LogEntry.objects.filter(pk__in=change_ids).select_related(
            "content_type", "actor"
        )
    }
    accesses = {
        str(access.pk): _access_entry(access)
        for access in SupportAccess.objects.filter(pk__in=access_ids)
    }
    found = {"change": changes, "access": accesses}
    return [found[key["kind"]][key["key"]] for key in keys if key["key"] in found[key["kind"]]]


def _change_entry(entry: LogEntry) -> TrailEntry:
    actor = entry.actor
    model = entry.content_type.model_class()
    name = str(model._meta.verbose_name) if model is not None else entry.content_type.model
    data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    return TrailEntry(
        kind="change",
        at=entry.timestamp,
        who=(actor.email if actor is not None else "") or (entry.actor_email or ""),
        by_support=bool(actor is not None and actor.is_staff),
        action=_action_label(entry.action),
        what=f"{name[:1].upper() + name[1:]} · {entry.object_repr}",
        changes=_changes_of(entry),
        reason=str(data.get("reason", "")),
    )


def _action_label(action: int) -> str:
    labels = {
        LogEntry.Action.CREATE: _("Created"),
        LogEntry.Action.UPDATE: _("Changed"),
        LogEntry.Action.DELETE: _("Deleted"),
        LogEntry.Action.ACCESS: _("Viewed"),
    }
    return str(labels.get(action, action))


def _changes_of(entry: LogEntry) -> list[Change]:
    try:
        shown = entry.changes_display_dict
    except (LookupError, AttributeError, ValueError):
        # A model no longer installed: its raw diff is all there is.
        shown = entry.changes_dict
    changes = []
    for field, value in shown.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            before, after = value
            changes.append(Change(field=str(field), before=str(before), after=str(after)))
        else:  # a many-to-many change: what was added or removed
            changes.append(Change(field=str(field), before="", after=str(value)))
    return changes


def _access_entry(access: SupportAccess) -> TrailEntry:
    return TrailEntry(
        kind="access",
        at=access.created_at,
        who=access.user_email,
        by_support=True,
        action=_("Opened in the admin"),
        what=f"{access.method} {access.path}",
        changes=[],
        reason=access.reason,
    )
