"""Rows for the audit trails' tests: one row in each audit table of a schema, written
the way the product writes them, or backdated by SQL (rows are never updated)."""

from __future__ import annotations

import uuid
from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant
from apps.audit.models import SupportAccess
from apps.billing.models import PlanChange
from apps.bookings.models import Booking
from apps.bookings.services import booking_hold
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)

# The audit tables of each kind of schema, with the column that dates a row.
PUBLIC_TRAILS = {
    "auditlog_logentry": "timestamp",
    "audit_supportaccess": "created_at",
    "billing_planchange": "created_at",
}
TENANT_TRAILS = {
    "auditlog_logentry": "timestamp",
    "audit_supportaccess": "created_at",
    "bookings_bookingevent": "created_at",
}


def booking_make(n: int | str = 0) -> Booking:
    """A held booking (and with it a booking history row) in the current schema."""
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    start = future_start()
    slots_create(resource=resource, starts_at=start)
    return booking_hold(
        service=service, resource=resource, starts_at=start, customer=customer(n), actor=CUSTOMER
    )


def trail_rows_write(schema: str, *, tenant: Tenant) -> None:
    """One row in each audit table of `schema`, through the models."""
    with schema_context(schema):
        LogEntry.objects.create(
            content_type=ContentType.objects.get_for_model(Tenant),
            object_pk=str(tenant.pk),
            object_repr="a business",
            action=LogEntry.Action.UPDATE,
            changes={"name": ["Old", "New"]},
        )
        SupportAccess.objects.create(
            user_id=uuid.uuid4(), user_email="agent@timenest.test", site="admin", method="GET"
        )
        if schema == "public":
            PlanChange.objects.create(
                tenant=tenant,
                from_plan="trial",
                to_plan="free",
                from_status="trial",
                to_status="active",
                cause=PlanChange.Cause.SCHEDULE,
            )
        else:
            booking_make()


def trail_row_backdated(schema: str, table: str, *, written_at: datetime, tenant: Tenant) -> str:
    """Inserts one row dated `written_at` into `schema`.`table`; returns its id."""
    with schema_context(schema):
        if table == "auditlog_logentry":
            entry = LogEntry.objects.create(
                content_type=ContentType.objects.get_for_model(Tenant),
                object_pk=str(tenant.pk),
                object_repr="a business",
                action=LogEntry.Action.UPDATE,
                changes={},
                timestamp=written_at,
            )
            return str(entry.pk)
        sql, values = _backdated_insert(table, written_at=written_at, tenant=tenant)
        with connection.cursor() as cursor:
            cursor.execute(f'INSERT INTO "{schema}".{sql} RETURNING id', values)
            return str(cursor.fetchone()[0])


def _backdated_insert(table: str, *, written_at: datetime, tenant: Tenant) -> tuple[str, list]:
    if table == "audit_supportaccess":
        return (
            "audit_supportaccess (id, user_id, user_email, site, method, path, user_agent, "
            "request_id, created_at) VALUES (%s, %s, 'old@timenest.test', 'admin', 'GET', "
            "'/admin/', '', '', %s)",
            [uuid.uuid4(), uuid.uuid4(), written_at],
        )
    if table == "billing_planchange":
        return (
            "billing_planchange (id, tenant_id, from_plan, to_plan, from_status, to_status, "
            "cause, actor, note, created_at) VALUES (%s, %s, 'trial', 'free', 'trial', "
            "'active', 'schedule', '', '', %s)",
            [uuid.uuid4(), tenant.pk, written_at],
        )
    if table == "bookings_bookingevent":
        booking = Booking.objects.order_by("created_at").first() or booking_make("old")
        return (
            "bookings_bookingevent (booking_id, kind, reason, actor_type, actor_id, "
            "actor_label, created_at) VALUES (%s, 'held', '', 'system', '', '', %s)",
            [booking.pk, written_at],
        )
    raise AssertionError(table)


def row_exists(schema: str, table: str, row_id: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{schema}".{table} WHERE id = %s)',  # noqa: S608
            [row_id],
        )
        return bool(cursor.fetchone()[0])
