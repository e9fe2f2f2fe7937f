"""Writes of the audit trail."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from apps.audit.models import SupportAccess
from apps.bookings import pii
from config.request_id import get_request_id

logger = logging.getLogger(__name__)


def support_access_record(
    *,
    request: HttpRequest,
    site: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    path: str | None = None,
) -> SupportAccess:
    """One row per admin request of a platform staff member, in the schema the request
    is served from (the tenant's own trail shows who from the platform looked at it).
    `reason` is what the agent typed, `details` what a look-up asked (never personal
    data in clear), `path` the path to keep instead of the request's (one whose query
    string would carry what was looked up)."""
    user = request.user
    assert user.pk is not None  # only signed-in staff reach an admin view
    access = SupportAccess.objects.create(
        user_id=user.pk,
        user_email=getattr(user, "email", ""),
        site=site,
        method=request.method or "",
        path=_path_without_contacts(request.get_full_path() if path is None else path)[:500],
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=get_request_id(),
        reason=reason,
        details=details or {},
    )
    logger.info(
        "support.access",
        extra={
            "user_id": str(user.pk),
            "site": site,
            "method": access.method,
            "with_reason": bool(reason),
            "lookup": access.details.get("lookup", ""),
        },
    )
    return access


def _path_without_contacts(path: str) -> str:
    """The path with any email address or phone number in its query string masked (an
    agent's search of a tenant's admin), so the append-only trail never keeps one in
    clear; other paths are kept as they were."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(name, _contact_masked(value)) for name, value in pairs]
    if masked == pairs:
        return path
    return f"{base}?{urlencode(masked)}"


def _contact_masked(value: str) -> str:
    text = value.strip()
    if "@" in text:
        return pii.mask_email(text)
    digits = text.replace(" ", "").lstrip("+")
    if len(digits) >= 6 and digits.isdigit():
        return pii.mask_phone(text.replace(" ", ""))
    return value


# Tables of the audit trails; the database function knows each one's timestamp column.
AUDIT_TABLES = (
    "auditlog_logentry",
    "audit_supportaccess",
    "bookings_bookingevent",
    "billing_planchange",
)


def audit_schemas() -> list[str]:
    """Every schema that holds an audit table: `public`, the template and each tenant's
    (read from the catalogue, so a schema whose tenant row is gone is not missed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT n.nspname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%s) ORDER BY n.nspname",
            [list(AUDIT_TABLES)],
        )
        return [row[0] for row in cursor.fetchall()]


def audit_purge(*, before: datetime | None = None) -> dict[str, dict[str, int]]:
    """Removes audit rows written before `before` (at most: never rows younger than the
    seven years of retention, which the database refuses to delete) in every schema,
    through `public.audit_purge_before`, the only way past the append-only guard (apps/
    audit/migrations/0003). One transaction per schema. Returns the rows removed, by
    schema and table."""
    cutoff = before or timezone.now()
    removed: dict[str, dict[str, int]] = {}
    for schema in audit_schemas():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT trail, removed FROM public.audit_purge_before(%s, %s)", [schema, cutoff]
            )
            removed[schema] = dict(cursor.fetchall())
        if any(removed[schema].values()):
            logger.info("audit.purged", extra={"schema": schema, "removed": removed[schema]})
    return removed
