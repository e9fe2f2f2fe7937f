"""Bookings and customers as CSV files for spreadsheets and accounting, streamed: rows
are read from a server-side cursor in chunks and written one at a time, so 100,000
bookings take the memory of a few thousand (tests/bookings/test_exports.py measures it).

Bookings: times in the location's zone (what the front desk sees, with the zone's name)
and in UTC (what another system can compare); the contact given with each booking, else
the customer's; then, for admins only (answers may be health data), one column per
intake question of the bookings' services (headed by its label; a removed question while
bookings here answered it), its answer decrypted row by row. Customers: contact details
in clear, so only admins may export them.
Every export is recorded in the business's model history (who, which filters), like a
customer's own data export. Cells that a spreadsheet would run as a formula are quoted
(CSV injection)."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from auditlog.models import LogEntry
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from apps.accounts.selectors import tenant_current
from apps.bookings import intake, pii
from apps.bookings.actors import ActorRef
from apps.bookings.audit import audit_actor
from apps.bookings.models import Booking, Customer
from apps.calendars.timezones import local_date, zone
from apps.resources.models import IntakeQuestion

logger = logging.getLogger(__name__)

# A spreadsheet runs a cell that starts like a formula (CSV injection): such a cell is
# given a leading apostrophe, which spreadsheets show as text and do not run.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... except a signed number or an E.164 phone number, which no spreadsheet runs.
_SIGNED_NUMBER = re.compile(r"[+-][0-9][0-9 .]*")
CHUNK_ROWS = 2000

BOOKING_COLUMNS = (
    "id",
    "status",
    "source",
    "service",
    "resource",
    "location",
    "time_zone",
    "starts_local",
    "ends_local",
    "starts_utc",
    "ends_utc",
    "customer_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "price",
    "currency",
    "payment_status",
    "notes",
    "cancellation_reason",
    "made_by",
    "created_utc",
)
_BOOKING_FIELDS = (
    "id",
    "status",
    "source",
    "service__name",
    "resource__name",
    "resource__location__name",
    "resource__location__timezone",
    "starts_at",
    "ends_at",
    "customer_id",
    "contact_name",
    "contact_email_encrypted",
    "contact_phone_encrypted",
    "customer__name",
    "customer__email_encrypted",
    "customer__phone_encrypted",
    "service__price",
    "service__currency",
    "payment_status",
    "notes",
    "cancellation_reason",
    "created_by_type",
    "created_at",
    "service_id",
    "answers_encrypted",
)
CUSTOMER_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "bookings",
    "last_booking_utc",
    "created_utc",
    "erased_utc",
)


def csv_cell(value: Any) -> str:
    """One cell's text: empty for None, true/false, ISO 8601 times, and a formula-like
    start quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text.startswith(CSV_FORMULA_STARTS) and not _SIGNED_NUMBER.fullmatch(text):
        return f"'{text}"
    return text


class _Line:
    """csv.writer's file: hands back each line it writes instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _clear(token: str) -> str:
    """A stored contact detail in clear; one no configured key reads is left empty
    rather than stopping the whole file."""
    try:
        return pii.pii_decrypt(token)
    except pii.InvalidToken:
        return ""


def _export_recorded(
    kind: str,
    *,
    actor: ActorRef,
    filters: Mapping[str, str],
    details: Mapping[str, Any] | None = None,
) -> None:
    """An entry in the business's model history: who exported what, with which filters
    (and `details`, such as whether intake answers went with it)."""
    by = {"type": actor.type, "id": actor.id, "label": pii.mask_text(actor.label)[:255]}
    with audit_actor(actor):
        LogEntry.objects.log_create(
            tenant_current(),
            force_log=True,
            action=LogEntry.Action.ACCESS,
            changes=None,
            additional_data={
                "action": f"{kind}.exported",
                "filters": dict(filters),
                "by": by,
                **(details or {}),
            },
        )
    logger.info(f"{kind}.exported", extra={"filters": sorted(filters)})


def _question_columns(bookings: QuerySet[Booking]) -> list[tuple[str, str]]:
    """(question id, header) of the answer columns: every question the services of
    these bookings ask, and each removed one that some of these bookings were asked; by
    service name, then in the order asked. A label that several services use names its
    service; one that is still taken gets a number."""
    services = bookings.order_by().values("service_id")
    candidates = list(
        IntakeQuestion.objects.filter(service_id__in=services)
        .select_related("service")
        .order_by("service__name", "service_id", "position", "id")
    )
    questions = [
        question
        for question in candidates
        if question.removed_at is None
        or bookings.filter(
            service_id=question.service_id,
            created_at__gte=question.created_at,
            created_at__lt=question.removed_at,
        ).exists()
    ]
    services_of: dict[str, set[Any]] = {}
    for question in questions:
        services_of.setdefault(question.label, set()).add(question.service_id)
    taken = set(BOOKING_COLUMNS)
    columns = []
    for question in questions:
        header = question.label
        if len(services_of[header]) > 1:
            header = f"{header} ({question.service.name})"
        unique, number = header, 2
        while unique in taken:
            unique, number = f"{header} ({number})", number + 1
        taken.add(unique)
        columns.append((str(question.pk), unique))
    return columns


def _answer_cell(answer: intake.Answer | None) -> Any:
    if answer is None:
        return None
    if isinstance(answer.value, list):
        return "; ".join(answer.value)
    return answer.value


def _booking_rows(
    bookings: QuerySet[Booking], question_ids: list[str] | None = None
) -> Iterator[list[Any]]:
    zones: dict[str, Any] = {}
    question_ids = question_ids or []
    rows = bookings.order_by("starts_at", "pk").values_list(*_BOOKING_FIELDS)
    for values in rows.iterator(chunk_size=CHUNK_ROWS):
        row = dict(zip(_BOOKING_FIELDS, values, strict=True))
        tz_name = row["resource__location__timezone"]
        tz = zones.setdefault(tz_name, zone(tz_name))
        own_contact = bool(row["contact_email_encrypted"])
        yield [
            row["id"],
            row["status"],
            row["source"],
            row["service__name"],
            row["resource__name"],
            row["resource__location__name"],
            tz_name,
            row["starts_at"].astimezone(tz).replace(tzinfo=None).isoformat(),
            row["ends_at"].astimezone(tz).replace(tzinfo=None).isoformat(),
            _utc(row["starts_at"]),
            _utc(row["ends_at"]),
            row["customer_id"],
            row["contact_name"] if own_contact else row["customer__name"],
            _clear(row["contact_email_encrypted" if own_contact else "customer__email_encrypted"]),
            _clear(row["contact_phone_encrypted" if own_contact else "customer__phone_encrypted"]),
            row["service__price"],
            row["service__currency"],
            row["payment_status"],
            row["notes"],
            row["cancellation_reason"],
            row["created_by_type"],
            _utc(row["created_at"]),
            # Decrypted row by row, like the contact details.
            *_answers_cells(row["answers_encrypted"], question_ids),
        ]


def _answers_cells(token: str, question_ids: list[str]) -> list[Any]:
    if not question_ids:
        return []
    given = {answer.question_id: answer for answer in intake.answers_open(token)}
    return [_answer_cell(given.get(question_id)) for question_id in question_ids]


def bookings_csv(
    bookings: QuerySet[Booking],
    *,
    actor: ActorRef,
    filters: Mapping[str, str],
    answers: bool = False,
) -> Iterator[str]:
    """The bookings as CSV lines (header first), recorded as exported by `actor` with the
    `filters` that chose them. Nothing is read until the lines are iterated.

    `answers`: with the intake answers' columns. They may be health data, so the caller
    asks for them only for whom it may show customers' data (admins past the second
    factor, as for the customers export); the history says whether they went."""
    _export_recorded("bookings", actor=actor, filters=filters, details={"answers": answers})
    return _booking_lines(bookings, answers=answers)


def _booking_lines(bookings: QuerySet[Booking], *, answers: bool) -> Iterator[str]:
    questions = _question_columns(bookings) if answers else []
    # A label is typed by staff: quoted like any cell a spreadsheet could run.
    header = [*BOOKING_COLUMNS, *(csv_cell(label) for _, label in questions)]
    yield from _csv_lines(header, _booking_rows(bookings, [pk for pk, _ in questions]))


def _customer_rows() -> Iterator[list[Any]]:
    fields = ("id", "name", "email_encrypted", "phone_encrypted", "created_at", "erased_at")
    rows = (
        Customer.objects.order_by("name", "pk")
        .annotate(booking_count=Count("bookings"), last_booking=Max("bookings__starts_at"))
        .values_list(*fields, "booking_count", "last_booking")
    )
    for pk, name, email, phone, created, erased, count, last in rows.iterator(
        chunk_size=CHUNK_ROWS
    ):
        clear = [_clear(email), _clear(phone)]
        yield [pk, name, *clear, count, _utc(last), _utc(created), _utc(erased)]


def customers_csv(*, actor: ActorRef) -> Iterator[str]:
    """Every customer of the business as CSV lines, recorded as exported by `actor`."""
    _export_recorded("customers", actor=actor, filters={})
    return _csv_lines(CUSTOMER_COLUMNS, _customer_rows())


def export_filename(kind: str, *, now: datetime | None = None) -> str:
    """`<business>-<kind>-<date>.csv` (the business's calendar day), e.g.
    `demo-bookings-2026-12-07.csv`."""
    tenant = tenant_current()
    day = local_date(now or timezone.now(), zone(tenant.timezone)).isoformat()
    return f"{tenant.slug}-{kind}-{day}.csv"


__all__ = [
    "BOOKING_COLUMNS",
    "CUSTOMER_COLUMNS",
    "bookings_csv",
    "csv_cell",
    "customers_csv",
    "export_filename",
]
