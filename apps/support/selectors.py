"""Reads of the support console, across businesses.

Each business's figures live in its own schema, so the overview asks each schema on the
page one statement (`_scalars`: several single-value reads in one SELECT); a look-up asks
every schema, a few hundred at a time, in one UNION ALL of schema-qualified tables, so
neither grows by a statement per table or per business."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Domain, Membership, Tenant
from apps.audit.models import SupportAccess
from apps.billing.models import PlanChange
from apps.billing.plans import Plan, plan_named
from apps.billing.services import UsageLine, suspends_on
from apps.bookings import pii
from apps.bookings.models import Booking, Customer
from apps.core.entitlements import Limit, limit_label, month_started_at
from apps.core.errors import NotFound
from apps.notifications.models import Notification
from apps.resources.models import Resource

TENANTS_PER_PAGE = 25
RECENT_DAYS = 7
# Schemas one look-up statement reads; a thousand businesses are four statements.
LOOKUP_SCHEMAS_PER_STATEMENT = 250


class _SubqueryCount(Subquery):
    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


# --- The overview ------------------------------------------------------------------


@dataclass(frozen=True)
class TenantRow:
    tenant: Tenant
    plan: Plan
    domain: str
    # None for a business whose schema is not ready yet (nothing to count).
    usage: list[UsageLine] | None
    bookings_recent: int | None
    failed_messages_recent: int | None
    last_support_access: datetime | None

    @property
    def over_limits(self) -> list[UsageLine]:
        return [line for line in self.usage or [] if line.over]


def tenants_search(*, query: str = "", status: str = "", plan: str = "") -> QuerySet[Tenant]:
    """Businesses (not the platform) by slug, name or any of their domains, in slug
    order, with their team size and domains read along."""
    tenants = Tenant.objects.exclude(schema_name=get_public_schema_name())
    query = query.strip()
    if query:
        tenants = tenants.filter(
            Q(slug__icontains=query)
            | Q(name__icontains=query)
            | Q(pk__in=Domain.objects.filter(domain__icontains=query).values("tenant_id"))
        )
    if status:
        tenants = tenants.filter(status=status)
    if plan:
        tenants = tenants.filter(plan=plan)
    seats = Membership.objects.filter(tenant=OuterRef("pk")).values("pk")
    return (
        tenants.annotate(seats=_SubqueryCount(seats))
        .prefetch_related(Prefetch("domains", queryset=Domain.objects.order_by("-is_primary")))
        .order_by("slug")
    )


def tenant_rows(tenants: Iterable[Tenant], *, now: datetime | None = None) -> list[TenantRow]:
    """Plan, standing, usage against the plan's limits and the last days' activity of
    each business: one statement per business schema (its seats come annotated by
    `tenants_search`)."""
    now = now or timezone.now()
    rows = []
    for tenant in tenants:
        plan = plan_named(tenant.plan)
        domains = list(tenant.domains.all())
        domain = domains[0].domain if domains else ""
        if not tenant.is_ready:
            rows.append(TenantRow(tenant, plan, domain, None, None, None, None))
            continue
        with schema_context(tenant.schema_name):
            figures = _tenant_figures(now=now)
        used = {
            Limit.RESOURCES: figures["resources"],
            Limit.SEATS: getattr(tenant, "seats", None),
            Limit.BOOKINGS_PER_MONTH: figures["bookings_month"],
            Limit.SMS_PER_MONTH: figures["sms_month"],
        }
        if used[Limit.SEATS] is None:  # a tenant that did not come from tenants_search
            used[Limit.SEATS] = Membership.objects.filter(tenant=tenant).count()
        usage = [
            UsageLine(
                limit=limit,
                label=limit_label(limit),
                used=int(used[limit] or 0),
                allowed=plan.allowed(limit),
            )
            for limit in Limit
        ]
        rows.append(
            TenantRow(
                tenant=tenant,
                plan=plan,
                domain=domain,
                usage=usage,
                bookings_recent=figures["bookings_recent"],
                failed_messages_recent=figures["failed_recent"],
                last_support_access=figures["last_access"],
            )
        )
    return rows


def _tenant_figures(*, now: datetime) -> dict[str, Any]:
    """The current schema's counts, as the plan's counters count them (active people and
    rooms, bookings made this month but lapsed holds, text messages sent this month),
    with the last days' bookings and failed messages and the last support access."""
    month = month_started_at()
    recent = now - timedelta(days=RECENT_DAYS)
    made = Booking.objects.exclude(status=Booking.Status.EXPIRED)
    return _scalars(
        resources=_count(Resource.objects.filter(is_active=True)),
        bookings_month=_count(made.filter(created_at__gte=month)),
        sms_month=_count(
            Notification.objects.filter(
                channel=Notification.Channel.SMS,
                status=Notification.Status.SENT,
                sent_at__gte=month,
            )
        ),
        bookings_recent=_count(made.filter(created_at__gte=recent)),
        failed_recent=_count(
            Notification.objects.filter(status=Notification.Status.FAILED, updated_at__gte=recent)
        ),
        last_access=_first(SupportAccess.objects.order_by("-created_at").values("created_at")),
    )


def _count(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    # Django's own compiled SQL, its values still parameters.
    return f"SELECT COUNT(*) FROM ({sql}) AS counted", tuple(params)  # noqa: S608


def _first(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset[:1].query.sql_with_params()
    return sql, tuple(params)


def _scalars(**reads: tuple[str, tuple[Any, ...]]) -> dict[str, Any]:
    """Several single-value reads of the current schema in one statement."""
    columns: list[str] = []
    params: list[Any] = []
    for name, (sql, values) in reads.items():
        columns.append(f"({sql}) AS {connection.ops.quote_name(name)}")
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return dict(zip(reads, row, strict=True))


# --- One business --------------------------------------------------------------------


@dataclass(frozen=True)
class RecentBooking:
    id: uuid.UUID
    service: str
    starts_at: datetime
    status: str
    status_label: str
    admin_url: str


@dataclass(frozen=True)
class TenantDetail:
    row: TenantRow
    domains: list[str]
    suspends_on: datetime | None
    bookings: list[RecentBooking]
    accesses: list[SupportAccess]
    plan_history: list[PlanChange]
    admin_url: str


def tenant_for_support(*, tenant_id: uuid.UUID | str) -> Tenant:
    try:
        return tenants_search().get(pk=tenant_id)
    except (Tenant.DoesNotExist, ValueError) as exc:
        raise NotFound(gettext("No such business.")) from exc


def tenant_detail(*, tenant: Tenant, bookings: int = 20, accesses: int = 20) -> TenantDetail:
    """What the overview shows of one business, and its last bookings (service, start
    and status: no customer), the last support accesses to its admin and its plan
    history."""
    (row,) = tenant_rows([tenant])
    base = tenant_base_url(tenant)
    recent: list[RecentBooking] = []
    trail: list[SupportAccess] = []
    if tenant.is_ready:
        with schema_context(tenant.schema_name):
            made = Booking.objects.order_by("-created_at").values(
                "id", "service__name", "starts_at", "status"
            )[:bookings]
            labels = dict(Booking.Status.choices)
            recent = [
                RecentBooking(
                    id=booking["id"],
                    service=booking["service__name"],
                    starts_at=booking["starts_at"],
                    status=booking["status"],
                    status_label=str(labels.get(booking["status"], booking["status"])),
                    admin_url=base + _tenant_admin_path("bookings_booking_change", booking["id"]),
                )
                for booking in made
            ]
            trail = list(SupportAccess.objects.order_by("-created_at")[:accesses])
    return TenantDetail(
        row=row,
        domains=[domain.domain for domain in tenant.domains.all()],
        suspends_on=suspends_on(tenant) if tenant.status == Tenant.Status.PAST_DUE else None,
        bookings=recent,
        accesses=trail,
        plan_history=list(PlanChange.objects.filter(tenant=tenant).order_by("-created_at")[:10]),
        admin_url=base + _tenant_admin_path("index"),
    )


def _tenant_admin_path(name: str, *args: Any) -> str:
    return reverse(f"tenant_admin:{name}", args=args, urlconf=settings.ROOT_URLCONF)


# --- Look-ups across businesses ------------------------------------------------------


@dataclass(frozen=True)
class LookupMatch:
    tenant: Tenant
    kind: str  # "booking" or "customer"
    object_id: uuid.UUID
    # A booking's status; for a customer, how many bookings they have.
    status: str
    bookings: int | None
    admin_url: str


def booking_lookup(*, booking_id: uuid.UUID) -> list[LookupMatch]:
    """Every business holding a booking with this id (ids are UUIDs: one at most)."""
    sql = (
        "SELECT id AS object_id, status::text AS status, NULL::bigint AS bookings "
        "FROM {schema}.{booking} WHERE id = %s"
    )
    found = _across_schemas(sql, [booking_id])
    return [
        LookupMatch(
            tenant=tenant,
            kind="booking",
            object_id=object_id,
            status=status,
            bookings=None,
            admin_url=tenant_base_url(tenant)
            + _tenant_admin_path("bookings_booking_change", object_id),
        )
        for tenant, object_id, status, _ in found
    ]


def customer_lookup(*, email: str) -> list[LookupMatch]:
    """Every business with a customer of this exact address, found by the address's
    lookup hash in each schema (never by decrypting); ValidationFailed for an address
    that is not one."""
    email_hash = pii.lookup_hash(pii.email_normalize(email))
    sql = (
        "SELECT c.id AS object_id, ''::text AS status, (SELECT COUNT(*) FROM "
        "{schema}.{booking} AS b WHERE b.customer_id = c.id) AS bookings "
        "FROM {schema}.{customer} AS c WHERE c.email_hash = %s"
    )
    found = _across_schemas(sql, [email_hash])
    return [
        LookupMatch(
            tenant=tenant,
            kind="customer",
            object_id=object_id,
            status=status,
            bookings=bookings,
            admin_url=tenant_base_url(tenant)
            + _tenant_admin_path("bookings_customer_change", object_id),
        )
        for tenant, object_id, status, bookings in found
    ]


def _across_schemas(sql: str, params: Sequence[Any]) -> list[tuple[Tenant, Any, Any, Any]]:
    """Runs `sql` (three columns; `{schema}`, `{booking}` and `{customer}` to fill) in
    every ready business's schema, a few hundred schemas per statement; returns each
    row with its business, in slug order."""
    quote = connection.ops.quote_name
    tenants = {
        tenant.schema_name: tenant
        for tenant in Tenant.objects.filter(is_ready=True)
        .exclude(schema_name=get_public_schema_name())
        .order_by("slug")
    }
    schemas = list(tenants)
    found: list[tuple[Tenant, Any, Any, Any]] = []
    for start in range(0, len(schemas), LOOKUP_SCHEMAS_PER_STATEMENT):
        chunk = schemas[start : start + LOOKUP_SCHEMAS_PER_STATEMENT]
        selects: list[str] = []
        values: list[Any] = []
        for schema in chunk:
            filled = sql.format(
                schema=quote(schema),
                booking=quote(Booking._meta.db_table),
                customer=quote(Customer._meta.db_table),
            )
            # Identifiers quoted by the backend, every value a parameter.
            selects.append(f"SELECT %s::text AS schema_name, found.* FROM ({filled}) AS found")  # noqa: S608
            values.extend([schema, *params])
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), values)
            found.extend((tenants[row[0]], *row[1:]) for row in cursor.fetchall())
    return found


def lookup_query_masked(email: str) -> str:
    """How the audit trail names an address that was looked up."""
    return pii.mask_email(pii.email_normalize(email))


def lookup_query_hash(email: str) -> str:
    return pii.lookup_hash(pii.email_normalize(email))
