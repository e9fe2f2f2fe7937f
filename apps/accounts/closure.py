"""Closing a business, and purging it long after.

A business is never dropped by deleting its row: `Tenant.auto_drop_schema` is off and the
platform admin offers no delete. Platform support *closes* a business instead, with a
typed reason (`tenant_close`, the admin's "Close business" action): it is then served
like a suspended one (its booking pages answer 503, its API `403 BUSINESS_CLOSED`, its
staff still sign in and see everything), whatever its plan. Only when it has been closed
for `TENANT_PURGE_DELAY_DAYS` may `manage.py tenant_purge` drop its schema and its row,
and only when the operator types the business's slug again (`tenant_purge`).

Both are written to the public audit trail (django-auditlog's entries, which the
database keeps append-only): who, when, the reason, and what a purge took away.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, quote_schema_name, schema_context

from apps.accounts.models import Tenant, TenantWorkDue, User
from apps.core.errors import DomainError, FieldError, ValidationFailed

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 1000


class TenantPurgeRefused(DomainError):
    code = "TENANT_PURGE_REFUSED"
    http_status = 409


def tenant_close(*, tenant: Tenant, reason: str, agent: User) -> Tenant:
    """Closes the business for good, for `reason`, on behalf of the support agent
    `agent`. Its data stays; its booking pages and API refuse from now on."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the business is closed."),
            [FieldError("reason", _("Enter the reason; it is kept in the audit trail."))],
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed(
            _("The reason is too long."),
            [
                FieldError(
                    "reason",
                    _("Keep the reason under %(count)s characters.") % {"count": REASON_MAX_LENGTH},
                )
            ],
        )
    if tenant.schema_name == get_public_schema_name():
        raise ValidationFailed(_("The platform itself cannot be closed."))
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == Tenant.Status.CLOSED:
            raise ValidationFailed(
                _("%(name)s is already closed.") % {"name": locked.name},
            )
        previous = locked.status
        locked.status = Tenant.Status.CLOSED
        locked.closed_at = timezone.now()
        locked.closed_reason = reason
        # One audit entry that carries the reason and the agent, not auditlog's own
        # (which would know neither outside a request).
        with disable_auditlog():
            locked.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
        _audit_entry(
            locked,
            action=LogEntry.Action.UPDATE,
            by=agent,
            changes={
                "status": [previous, Tenant.Status.CLOSED.value],
                "closed_at": ["None", locked.closed_at.isoformat()],
            },
            details={"event": "tenant.closed", "reason": reason},
        )
    logger.info(
        "tenant.closed",
        extra={"tenant": locked.slug, "by": str(agent.pk), "from_status": previous},
    )
    return locked


def tenant_purge_from(tenant: Tenant) -> datetime | None:
    """When a closed business may be purged (None: it is not closed)."""
    if tenant.status != Tenant.Status.CLOSED or tenant.closed_at is None:
        return None
    return tenant.closed_at + timedelta(days=settings.TENANT_PURGE_DELAY_DAYS)


def tenant_purge(
    *,
    tenant: Tenant,
    confirm: str,
    operator: User,
    via: str = "",
    now: datetime | None = None,
) -> None:
    """Drops the schema of a business closed at least TENANT_PURGE_DELAY_DAYS ago, and
    its row (its domains and memberships go with it; its plan history stays). Refused
    unless `confirm` repeats its slug. The public audit trail keeps who purged it (and
    `via`: how, e.g. the command and the system account that ran it), when, and what
    went."""
    if confirm != tenant.slug:
        raise TenantPurgeRefused(
            _("Type the business's slug (%(slug)s) to confirm the purge.") % {"slug": tenant.slug}
        )
    now = now or timezone.now()
    with schema_context(get_public_schema_name()), transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        purge_from = tenant_purge_from(locked)
        if purge_from is None:
            raise TenantPurgeRefused(
                _("%(slug)s is not closed; only a closed business can be purged.")
                % {"slug": locked.slug}
            )
        if now < purge_from:
            raise TenantPurgeRefused(
                _("%(slug)s was closed on %(closed)s; it can be purged from %(from)s.")
                % {
                    "slug": locked.slug,
                    "closed": locked.closed_at.date().isoformat() if locked.closed_at else "",
                    "from": purge_from.date().isoformat(),
                }
            )
        _audit_entry(
            locked,
            action=LogEntry.Action.DELETE,
            by=operator,
            changes={"schema_name": [locked.schema_name, "None"]},
            details={
                "event": "tenant.purged",
                "via": via,
                "slug": locked.slug,
                "name": locked.name,
                "schema": locked.schema_name,
                "closed_at": locked.closed_at.isoformat() if locked.closed_at else "",
                "closed_reason": locked.closed_reason,
                "domains": list(locked.domains.values_list("domain", flat=True)),
                "members": [
                    f"{email} ({role})"
                    for email, role in locked.memberships.values_list("user__email", "role")
                ],
            },
        )
        with connection.cursor() as cursor:
            # DDL is transactional: nothing is dropped unless the row goes too.
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(locked.schema_name)} CASCADE")
        # Its due-work times (apps/accounts/due_work.py) would outlive the schema.
        TenantWorkDue.objects.filter(schema_name=locked.schema_name).delete()
        with disable_auditlog():  # the entry above says it all
            locked.delete()
    logger.info("tenant.purged", extra={"tenant": locked.slug, "by": str(operator.pk)})


def _audit_entry(
    tenant: Tenant,
    *,
    action: int,
    by: User,
    changes: dict[str, list[str]],
    details: dict[str, Any],
) -> LogEntry:
    entry: LogEntry = LogEntry.objects.log_create(
        tenant,
        force_log=True,
        action=action,
        changes=changes,
        actor=by,
        actor_email=by.email,
        additional_data=details,
    )
    return entry
