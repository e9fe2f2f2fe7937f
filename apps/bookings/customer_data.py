"""A customer's personal data, for GDPR requests: everything the business holds about the
person (access, as one JSON document or a zip of CSV files) and its erasure.

Export. `customer_export` reads the customer record (decrypted), every booking made for
them (times, service, resource, status, the contact and the intake answers given with
it, its payments and its history), the model history about the customer, its bookings
and their payments, and the sections the apps above register through
`core.personal_data` (notifications: the messages sent about their bookings and the
webhook events that carried their details).
Messages are not stored as sent: they are rendered from the booking when they go out,
so a message's row says what kind it was, on which channel, when and how it went. The
CSV form (`customer_export_file(..., file_format="csv")`) is a zip with one CSV per
section (customer, bookings, payments, booking_history, audit_entries and one per
registered section); nested values are JSON in their cell, and a cell that a
spreadsheet would run as a formula (starting with = + - @) is prefixed with `'`.

Erasure. `customer_erase`, in one transaction:
1. the customer's bookings still to come (held or confirmed) are cancelled as usual
   (their places freed, their history and webhook events written, their cancellation
   notice planned), by the system on the requester's behalf, whatever the
   cancellation window;
2. `signals.customer_erased` is sent while the contact details are still readable: the
   notifications app keeps the address of each notice still to go out on that notice's
   row (until it is sent: the database then empties it), cancels the rest, and scrubs
   the stored webhook bodies and delivery logs;
3. stored idempotent answers that mention the person are scrubbed;
4. the contact details are shredded: the customer's name becomes a pseudonym ("Erased
   customer 7f3a"), its email and phone ciphertexts and lookup hashes are emptied (so a
   later booking with the same email creates a new customer), and every booking's own
   contact, notes and intake answers are emptied (bookings stay, anonymous, for the
   business's figures) and the reasons typed on the booking rows (its cancellation's,
   staff's for booking outside the window) and on its payments lose the person's name;
5. one model-history entry records the erasure with its actor and reason (the reason
   may not name the person: the history is append-only).
The history rows a booking already has (BookingEvent) hold no contact data (their actor
labels are masked and a customer's label is never their name), so they stay as they
are. Only a reason someone typed can name the person, and its copies in the history
stay as typed: the held event's `reason` (staff's reason to book outside the window),
the cancelled event's, and the model-history entries that recorded the booking's
`window_override_reason` and `cancellation_reason` (both tables are append-only).
Erasing an erased customer changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.selectors import tenant_current
from apps.bookings import intake, pii, signals
from apps.bookings.actors import ActorRef
from apps.bookings.audit import audit_actor, audit_content_types_load
from apps.bookings.exports import csv_cell
from apps.bookings.models import (
    Actor,
    Booking,
    BookingEvent,
    BookingSeries,
    Customer,
    IdempotencyRecord,
    Payment,
)
from apps.bookings.selectors import customer_bookings, customer_future_bookings
from apps.bookings.services import booking_cancel
from apps.core.errors import FieldError, ValidationFailed
from apps.core.personal_data import PersonalDataSubject, personal_data_sections

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1
EXPORT_FORMATS = ("json", "csv")
REASON_MAX_LENGTH = 500
# What a spreadsheet would run as a formula at the start of a cell (CSV injection).


# --- Export --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes


class _Reader:
    """Decrypts stored values; one that no configured key can read is None, and its
    place is listed in the document's `unreadable`."""

    def __init__(self) -> None:
        self.unreadable: list[str] = []

    def clear(self, token: str, *, where: str) -> str | None:
        try:
            return pii.pii_decrypt(token)
        except pii.InvalidToken:
            self.unreadable.append(where)
            return None


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Everything the business holds about the customer, as one JSON-ready document
    (see the module's docstring)."""
    reader = _Reader()
    bookings = list(customer_bookings(customer=customer).prefetch_related("payments"))
    booking_ids = [booking.pk for booking in bookings]
    events: dict[Any, list[BookingEvent]] = {}
    for event in BookingEvent.objects.filter(booking_id__in=booking_ids).order_by(
        "created_at", "id"
    ):
        events.setdefault(event.booking_id, []).append(event)
    payment_ids = [payment.pk for booking in bookings for payment in booking.payments.all()]
    subject = PersonalDataSubject(customer_id=customer.pk, booking_ids=tuple(booking_ids))
    document: dict[str, Any] = {
        "format": "timenest.customer_data",
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "business": tenant_current().name,
        "customer": {
            "id": str(customer.pk),
            "name": customer.name,
            "email": reader.clear(customer.email_encrypted, where="customer.email"),
            "phone": reader.clear(customer.phone_encrypted, where="customer.phone"),
            "created_at": _instant(customer.created_at),
            "updated_at": _instant(customer.updated_at),
            "erased_at": _instant(customer.erased_at),
        },
        "bookings": [
            _booking_export(booking, events.get(booking.pk, []), reader) for booking in bookings
        ],
        # The recurring series the customer booked (each date is a booking above).
        "series": [
            _series_export(series)
            for series in BookingSeries.objects.filter(customer=customer).order_by("created_at")
        ],
        **personal_data_sections(subject),
        "audit_entries": _audit_entries([customer.pk, *booking_ids, *payment_ids]),
    }
    document["unreadable"] = reader.unreadable
    return document


def _booking_export(booking: Booking, events: list[BookingEvent], reader: _Reader) -> dict:
    where = f"bookings.{booking.pk}"
    contact = None
    if booking.contact_email_encrypted or booking.contact_name:
        contact = {
            "name": booking.contact_name,
            "email": reader.clear(booking.contact_email_encrypted, where=f"{where}.email"),
            "phone": reader.clear(booking.contact_phone_encrypted, where=f"{where}.phone"),
        }
    return {
        "id": str(booking.pk),
        "status": booking.status,
        "start": _instant(booking.starts_at),
        "end": _instant(booking.ends_at),
        "timezone": booking.resource.location.timezone,
        "service": {"id": str(booking.service_id), "name": booking.service.name},
        "resource": {"id": str(booking.resource_id), "name": booking.resource.name},
        "location": {
            "id": str(booking.resource.location_id),
            "name": booking.resource.location.name,
        },
        "source": booking.source,
        # The language the booking was made in (its messages speak it).
        "language": booking.language,
        "series_id": str(booking.series_id) if booking.series_id else None,
        # The contact typed with this booking (none: older bookings used the customer's).
        "contact": contact,
        "notes": booking.notes,
        "answers": _answers_export(booking, reader, where=f"{where}.answers"),
        "cancellation_reason": booking.cancellation_reason,
        "window_override_reason": booking.window_override_reason,
        "payment_status": booking.payment_status,
        "created_at": _instant(booking.created_at),
        "updated_at": _instant(booking.updated_at),
        "payments": [_payment_export(payment) for payment in booking.payments.all()],
        "history": [
            {
                "at": _instant(event.created_at),
                "kind": event.kind,
                "from_start": _instant(event.from_starts_at),
                "to_start": _instant(event.to_starts_at),
                "reason": event.reason,
                "by": event.actor_type,
            }
            for event in events
        ],
    }


def _series_export(series: BookingSeries) -> dict[str, Any]:
    return {
        "id": str(series.pk),
        "service": {"id": str(series.service_id)},
        "resource": {"id": str(series.resource_id)},
        "every_weeks": series.every_weeks,
        "count": series.count,
        "until": series.until.isoformat() if series.until else None,
        "first_date": series.first_date.isoformat(),
        "local_time": series.local_time.strftime("%H:%M"),
        "timezone": series.timezone,
        "created_at": _instant(series.created_at),
    }


def _answers_export(booking: Booking, reader: _Reader, *, where: str) -> list[dict[str, Any]]:
    """The intake answers given with the booking, each with its question as asked."""
    try:
        return [answer.as_dict() for answer in intake.answers_read(booking.answers_encrypted)]
    except pii.InvalidToken:
        reader.unreadable.append(where)
        return []


def _payment_export(payment: Payment) -> dict[str, Any]:
    return {
        "id": str(payment.pk),
        "kind": payment.kind,
        "status": payment.status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "provider": payment.provider,
        "provider_payment": payment.payment_intent_id,
        "provider_refund": payment.refund_id,
        "reason": payment.reason,
        "created_at": _instant(payment.created_at),
        "updated_at": _instant(payment.updated_at),
    }


def _audit_entries(object_ids: Iterable[Any]) -> list[dict[str, Any]]:
    """The model history of these rows (ids are UUIDs: one lookup finds them whatever
    their model). Who on the staff made a change is not part of the customer's data."""
    entries = (
        LogEntry.objects.filter(object_pk__in=[str(object_id) for object_id in object_ids])
        .select_related("content_type")
        .order_by("timestamp", "id")
    )
    return [
        {
            "at": _instant(entry.timestamp),
            "action": str(dict(LogEntry.Action.choices).get(entry.action, "")),
            "model": entry.content_type.model,
            "object_id": entry.object_pk,
            "changes": entry.changes_dict,
            "by": "staff" if entry.actor_id else "",
            "note": (entry.additional_data or {}).get("action", "")
            if isinstance(entry.additional_data, dict)
            else "",
        }
        for entry in entries
    ]


def customer_export_file(*, customer: Customer, actor: ActorRef, file_format: str) -> ExportFile:
    """The export as a file to download (`json`: one document; `csv`: a zip of one CSV
    per section), recorded in the model history as an access by `actor`."""
    if file_format not in EXPORT_FORMATS:
        message = _("Choose json or csv.")
        raise ValidationFailed(message, [FieldError("format", message)])
    document = customer_export(customer=customer)
    stem = f"customer-{customer.pk}"
    if file_format == "json":
        export = ExportFile(
            filename=f"{stem}.json",
            content_type="application/json",
            content=json.dumps(document, ensure_ascii=False, indent=2).encode(),
        )
    else:
        export = ExportFile(
            filename=f"{stem}.zip", content_type="application/zip", content=_csv_zip(document)
        )
    _audit_entry(
        customer,
        actor=actor,
        action=LogEntry.Action.ACCESS,
        changes=None,
        details={"action": "customer.exported", "format": file_format},
    )
    logger.info("customer.exported", extra={"customer_id": str(customer.pk), "format": file_format})
    return export


def csv_sections(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The document as tables: one per CSV file of the zip, by file stem."""
    bookings, payments, history = [], [], []
    for booking in document["bookings"]:
        bookings.append({k: v for k, v in booking.items() if k not in ("payments", "history")})
        payments += [{"booking_id": booking["id"], **row} for row in booking["payments"]]
        history += [{"booking_id": booking["id"], **row} for row in booking["history"]]
    tables = {
        "customer": [document["customer"]],
        "bookings": bookings,
        "payments": payments,
        "booking_history": history,
    }
    fixed = {"format", "version", "exported_at", "business", "customer", "bookings"}
    for name, rows in document.items():
        if name not in fixed and name != "unreadable" and isinstance(rows, list):
            tables[name] = rows
    return tables


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return csv_cell(value)


def _flat(row: dict[str, Any]) -> dict[str, str]:
    """One level of nesting becomes `outer_inner` columns; deeper values stay JSON."""
    flat: dict[str, str] = {}
    for key, value in row.items():
        if isinstance(value, dict) and all(not isinstance(v, dict | list) for v in value.values()):
            for inner, inner_value in value.items():
                flat[f"{key}_{inner}"] = _cell(inner_value)
        else:
            flat[key] = _cell(value)
    return flat


def _csv_text(rows: list[dict[str, Any]]) -> str:
    flat_rows = [_flat(row) for row in rows]
    columns: list[str] = []
    for row in flat_rows:
        columns += [column for column in row if column not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="")
    if columns:
        writer.writeheader()
        writer.writerows(flat_rows)
    return out.getvalue()


def _csv_zip(document: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in csv_sections(document).items():
            archive.writestr(f"{name}.csv", _csv_text(rows))
    return out.getvalue()


# --- Erasure -------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What erasing one customer replaces: their names (by the pseudonym), emails and
    phone numbers (by nothing), wherever a stored text or JSON value mentions them."""

    customer_id: Any
    pseudonym: str
    names: tuple[str, ...]
    contacts: tuple[str, ...]
    _patterns: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_patterns", (_words_pattern(self.names), _words_pattern(self.contacts))
        )

    def __repr__(self) -> str:  # keeps the identifiers out of tracebacks and logs
        return f"Erasure(customer_id={self.customer_id!s})"

    def scrub_text(self, text: str) -> str:
        names, contacts = self._patterns
        if contacts is not None:
            text = contacts.sub("", text)
        if names is not None:
            text = names.sub(self.pseudonym.replace("\\", "\\\\"), text)
        return text

    def scrub(self, value: Any) -> Any:
        """A JSON-like value with every string scrubbed (keys kept)."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        return value

    def mentions(self, text: str) -> bool:
        return self.scrub_text(text) != text


def _words_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive matches of each value, also as it appears inside a
    JSON string (escaped, with or without ASCII escapes)."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        forms.add(value)
        forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        forms.add(json.dumps(value)[1:-1])
    if not forms:
        return None
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w+])(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class ErasureOutcome:
    customer: Customer
    bookings_cancelled: int
    bookings_anonymized: int
    already_erased: bool


def customer_pseudonym(customer: Customer) -> str:
    """The name an erased customer keeps, like "Erased customer 7f3a": the last hex
    digits of the customer's id (random in a UUIDv7), in the business's language."""
    with translation.override(tenant_current().locale or "en"):
        return _("Erased customer %(reference)s") % {"reference": customer.pk.hex[-4:]}


def customer_erasure_prepare(*, customer: Customer, bookings: Iterable[Booking]) -> Erasure:
    """The identifiers erasing the customer replaces: their record's and those typed
    with each of their bookings (someone may have typed their address with another name
    or phone: it is the customer's booking all the same)."""
    if customer.erased_at is not None:  # nothing left to find
        return Erasure(customer_id=customer.pk, pseudonym=customer.name, names=(), contacts=())
    reader = _Reader()
    names = {customer.name}
    contacts = {
        reader.clear(customer.email_encrypted, where=""),
        reader.clear(customer.phone_encrypted, where=""),
    }
    for booking in bookings:
        names.add(booking.contact_name)
        contacts.add(reader.clear(booking.contact_email_encrypted, where=""))
        contacts.add(reader.clear(booking.contact_phone_encrypted, where=""))
    phones = {value for value in contacts if value and value.startswith("+")}
    # A number also appears without its "+" (in digits-only fields, in provider logs).
    contacts |= {phone[1:] for phone in phones}
    return Erasure(
        customer_id=customer.pk,
        pseudonym=customer_pseudonym(customer),
        names=tuple(sorted(name for name in names if name)),
        contacts=tuple(sorted(value for value in contacts if value)),
    )


def customer_erase(
    *, customer: Customer, actor: ActorRef, reason: str, now: datetime | None = None
) -> ErasureOutcome:
    """Erases the customer's personal data (see the module's docstring). Raises
    ValidationFailed for a missing or too long reason, or one that names the person."""
    now = now or timezone.now()
    audit_content_types_load(Customer, Booking)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        bookings = list(customer_bookings(customer=locked))
        erasure = customer_erasure_prepare(customer=locked, bookings=bookings)
        reason = _reason_clean(reason, erasure=erasure)
        if locked.erased_at is not None:
            return ErasureOutcome(
                customer=locked, bookings_cancelled=0, bookings_anonymized=0, already_erased=True
            )
        cancelled = _future_bookings_cancel(customer=locked, actor=actor, now=now)
        signals.customer_erased.send(
            sender=Customer,
            customer=locked,
            booking_ids=[booking.pk for booking in bookings],
            erasure=erasure,
            actor=actor,
        )
        _idempotency_answers_scrub(erasure)
        _free_texts_scrub(erasure, booking_ids=[booking.pk for booking in bookings])
        anonymized = Booking.objects.filter(customer=locked).update(
            contact_name="",
            contact_email_encrypted="",
            contact_phone_encrypted="",
            notes="",
            answers_encrypted="",
            updated_at=now,
        )
        # Queryset updates: auditlog would otherwise write the old notes into the
        # append-only history; the one entry below says what happened.
        Customer.objects.filter(pk=locked.pk).update(
            name=erasure.pseudonym,
            email_encrypted="",
            phone_encrypted="",
            email_hash="",
            phone_hash="",
            erased_at=now,
            updated_at=now,
        )
        locked.refresh_from_db()
        _audit_entry(
            locked,
            actor=actor,
            action=LogEntry.Action.UPDATE,
            changes={"name": ["", ""], "erased_at": ["None", now.isoformat()]},
            details={
                "action": "customer.erased",
                "reason": reason,
                "bookings_cancelled": cancelled,
                "bookings_anonymized": anonymized,
            },
        )
    logger.info(
        "customer.erased",
        extra={
            "customer_id": str(locked.pk),
            "bookings_cancelled": cancelled,
            "bookings_anonymized": anonymized,
        },
    )
    return ErasureOutcome(
        customer=locked,
        bookings_cancelled=cancelled,
        bookings_anonymized=anonymized,
        already_erased=False,
    )


def customer_erasure_preview(*, customer: Customer, now: datetime | None = None) -> int:
    """How many bookings erasing the customer now would cancel."""
    return customer_future_bookings(customer=customer, now=now or timezone.now()).count()


def _reason_clean(reason: str, *, erasure: Erasure) -> str:
    text = " ".join((reason or "").split())
    message = ""
    if not text:
        message = _("Give the reason for erasing this customer (e.g. the request's reference).")
    elif len(text) > REASON_MAX_LENGTH:
        message = _("Keep the reason to %(limit)s characters at most.") % {
            "limit": REASON_MAX_LENGTH
        }
    elif erasure.mentions(text):
        message = _(
            "Leave the customer's name and contact details out of the reason: it is kept "
            "in the audit trail."
        )
    if message:
        raise ValidationFailed(message, [FieldError("reason", message)])
    return text


def _future_bookings_cancel(*, customer: Customer, actor: ActorRef, now: datetime) -> int:
    """Cancels them one by one through the booking service (resource lock, then slots,
    then the booking: the contract's order), by the system on `actor`'s behalf."""
    # Stored, and shown to staff: in the business's language.
    with translation.override(tenant_current().locale or "en"):
        label = _("customer data erasure")
        reason = _("The customer's personal data was erased.")
    # The requester's key (type:id) is the system actor's id: the history says who asked.
    system = ActorRef(Actor.SYSTEM, actor.key[:64], label)
    count = 0
    for booking in list(customer_future_bookings(customer=customer, now=now)):
        booking_cancel(booking=booking, actor=system, reason=reason, override_window=True)
        count += 1
    return count


def _idempotency_answers_scrub(erasure: Erasure) -> int:
    """Stored answers (kept 24 hours, encrypted) that mention the person are scrubbed:
    a replay answers the pseudonym. Answers are read one by one: nothing links one to
    a customer but what it says."""
    scrubbed = 0
    records = IdempotencyRecord.objects.exclude(response_body="").only("pk", "response_body")
    for record in records.iterator(chunk_size=500):
        try:
            body = pii.pii_decrypt(record.response_body)
        except pii.InvalidToken:
            continue
        clean = erasure.scrub_text(body)
        if clean != body:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                response_body=pii.pii_encrypt(clean)
            )
            scrubbed += 1
    return scrubbed


def _free_texts_scrub(erasure: Erasure, *, booking_ids: list[Any]) -> None:
    """Reasons typed by staff or the customer (a booking's cancellation, staff's for
    booking outside the window, a payment's) may name the person. The booking's history
    keeps its own copy of a cancellation's reason: it is append-only."""
    rows = Booking.objects.filter(pk__in=booking_ids).exclude(cancellation_reason="")
    for pk, text in rows.values_list("pk", "cancellation_reason"):
        if erasure.mentions(text):
            Booking.objects.filter(pk=pk).update(cancellation_reason=erasure.scrub_text(text))
    overridden = Booking.objects.filter(pk__in=booking_ids).exclude(window_override_reason="")
    for pk, text in overridden.values_list("pk", "window_override_reason"):
        if erasure.mentions(text):
            Booking.objects.filter(pk=pk).update(
                window_override_reason=erasure.scrub_text(text)[:500]
            )
    payments = Payment.objects.filter(booking_id__in=booking_ids).exclude(reason="")
    for pk, text in payments.values_list("pk", "reason"):
        if erasure.mentions(text):
            Payment.objects.filter(pk=pk).update(reason=erasure.scrub_text(text)[:255])


def _audit_entry(
    customer: Customer,
    *,
    actor: ActorRef,
    action: int,
    changes: dict[str, list[str]] | None,
    details: dict[str, Any],
) -> None:
    """One model-history entry about the customer, attributed to the staff user behind
    `actor` (an API key or the system has none: `details.by` says who)."""
    by = {"type": actor.type, "id": actor.id, "label": pii.mask_text(actor.label)[:255]}
    with audit_actor(actor):
        LogEntry.objects.log_create(
            customer,
            force_log=True,
            action=action,
            changes=changes,
            additional_data={**details, "by": by},
        )
