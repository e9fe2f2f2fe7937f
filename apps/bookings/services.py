"""Writes for customers and bookings: hold → confirm → cancel | reschedule | complete |
no-show, and hold expiry.

Concurrency. Every function that changes a booking's place on the grid follows the slot
contract's locking order: the Resource row first (`select_for_update`), then the slot
rows it covers in `starts_at` order. Writers of one resource therefore run one at a time,
and PostgreSQL keeps the last word: a CHECK constraint caps the slot counters and an
exclusion constraint forbids overlapping one-to-one bookings; their violations surface as
`SlotFull`, never as a server error. Callers must not hold a lock on a Booking row when
they call in (the resource lock comes first).

Every change appends a BookingEvent with its actor and sends the matching signal from
`apps.bookings.signals` inside the transaction, so listeners' outbox rows commit (or
roll back) with it. Services return the fresh, locked copy of the booking; the instance
passed in is not updated.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import OuterRef, QuerySet
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.bookings import intake, pii, signals
from apps.bookings.actors import ActorRef
from apps.bookings.audit import audit_content_types_load
from apps.bookings.errors import (
    BusinessNotLive,
    HoldExpired,
    InvalidTransition,
    OutsideBookingWindow,
    SlotFull,
    TooLateToCancel,
)
from apps.bookings.models import Actor, Booking, BookingEvent, Customer
from apps.bookings.slot_sessions import (
    resources_lock,
    session_hold_extend,
    session_hold_to_booked,
    session_join,
    session_leave,
    slots_covering,
    slots_lock,
)
from apps.core import metrics, raw_rows
from apps.core.entitlements import Limit, entitlement_require, tenant_active_require
from apps.core.errors import FieldError, ValidationFailed
from apps.core.ids import uuid7
from apps.core.languages import language_active, language_check
from apps.core.tenancy import current_schema
from apps.resources.models import Resource, Service

logger = logging.getLogger(__name__)

NOTES_MAX_LENGTH = 2000
NAME_MAX_LENGTH = 150
SWEEPER = ActorRef.system("hold expiry")

# Constraint violations that mean "someone else got the place first".
_CAPACITY_CONSTRAINTS = {
    "23P01": {"booking_exclusive_no_overlap"},
    "23514": {"slot_counters_within_capacity"},
}


@dataclass(frozen=True)
class CustomerInput:
    """Contact details as typed by the person booking (validated by the services)."""

    name: str
    email: str
    phone: str = ""

    def __repr__(self) -> str:  # keeps clear-text contact data out of tracebacks and logs
        return (
            f"CustomerInput(name=…, email={pii.mask_email(self.email)!r}, "
            f"phone={pii.mask_text(self.phone)!r})"
        )


# --- Customers -------------------------------------------------------------------------


def customer_get_or_create(
    *, name: str, email: str, phone: str = "", phone_region: str | None = None
) -> Customer:
    """The tenant's customer with this email (matched by keyed hash), created if new.

    An existing customer is returned as it is: no name, email or phone typed here is
    written to it (not even a phone it lacks), since anyone can type anyone's address
    into a public booking form. What a booking says goes on the booking
    (`Booking.contact`).
    """
    cleaned = _customer_input_clean(
        CustomerInput(name=name, email=email, phone=phone), phone_region=phone_region
    )
    return _customer_get_or_create(cleaned)


def _customer_input_clean(data: CustomerInput, *, phone_region: str | None) -> CustomerInput:
    errors: list[FieldError] = []
    name = " ".join((data.name or "").split())
    if not name:
        errors.append(FieldError("name", gettext("Enter your name.")))
    elif len(name) > NAME_MAX_LENGTH:
        errors.append(
            FieldError(
                "name",
                gettext("Keep the name under %(length)s characters.") % {"length": NAME_MAX_LENGTH},
            )
        )
    email = phone = ""
    try:
        email = pii.email_normalize(data.email)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    try:
        phone = pii.phone_normalize(data.phone, region=phone_region)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    if errors:
        raise ValidationFailed(gettext("Check the contact details."), errors)
    return CustomerInput(name=name, email=email, phone=phone)


def _customer_get_or_create(data: CustomerInput) -> Customer:
    """The customer with this email, made now when there is none, in one statement
    either way (no savepoint: a concurrent first booking with the address makes the
    INSERT do nothing, and the row it made is read)."""
    email_hash = pii.lookup_hash(data.email)
    customer = Customer(
        name=data.name,
        email_encrypted=pii.pii_encrypt(data.email),
        email_hash=email_hash,
        phone_encrypted=pii.pii_encrypt(data.phone),
        phone_hash=pii.lookup_hash(data.phone),
    )
    made, row = _customer_find_or_insert(customer)
    if row is None:
        # A concurrent first booking with this address committed first.
        return Customer.objects.get(email_hash=email_hash)
    if not made:
        return raw_rows.model_from_values(Customer, row)
    customer._state.adding = False
    customer._state.db = DEFAULT_DB_ALIAS
    post_save.send(
        sender=Customer,
        instance=customer,
        created=True,
        update_fields=None,
        raw=False,
        using=DEFAULT_DB_ALIAS,
    )
    logger.info("customer.created", extra={"customer_id": str(customer.pk)})
    return customer


def _customer_find_or_insert(customer: Customer) -> tuple[bool, tuple[Any, ...] | None]:
    """The row of the customer with `customer`'s email, or `customer` inserted as
    `save()` would insert it (pre_save is sent first, as save() sends it, whichever
    happens; the caller sends post_save when it was made). (made, the row's values in
    `raw_rows.columns` order); None for the row when a concurrent transaction inserted
    the email meanwhile (the INSERT then did nothing)."""
    pre_save.send(
        sender=Customer, instance=customer, raw=False, using=DEFAULT_DB_ALIAS, update_fields=None
    )
    names, values = raw_rows.insert_values(customer)
    table = raw_rows.table(Customer)
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH found AS (
                SELECT {raw_rows.columns(Customer, "c")} FROM {table} c
                WHERE c.email_hash = %s LIMIT 1
            ), made AS (
                INSERT INTO {table} ({names}) SELECT {placeholders}
                WHERE NOT EXISTS (SELECT 1 FROM found)
                ON CONFLICT (email_hash) WHERE NOT (email_hash = '') DO NOTHING
                RETURNING {names}
            )
            SELECT false, * FROM found UNION ALL SELECT true, * FROM made""",  # noqa: S608
            [customer.email_hash, *values],
        )
        row = cursor.fetchone()
    if row is None:
        return False, None
    return bool(row[0]), tuple(row[1:])


# --- Bookings --------------------------------------------------------------------------


def booking_hold(
    *,
    service: Service,
    resource: Resource,
    starts_at: datetime,
    customer: CustomerInput,
    notes: str = "",
    answers: Mapping[str, Any] | None = None,
    source: str = Booking.Source.PAGE,
    actor: ActorRef,
    idempotency_key: str = "",
    window_override_reason: str = "",
    pay_at_venue: bool = False,
    series_occurrence: bool = False,
    language: str = "",
    hold_minutes: int | None = None,
    savepoint: bool = True,
) -> Booking:
    """Holds one place for `service` at `starts_at` on `resource` for the tenant's hold
    TTL. Raises ValidationFailed, SlotNotFound, SlotFull or OutsideBookingWindow.

    Staff only: `window_override_reason` books outside the minimum notice and the
    horizon (never in the past, never over capacity; the held event and the booking
    keep the reason); `pay_at_venue` marks a paid service as paid on the day.
    `series_occurrence`: a later occurrence of a recurring series (apps/bookings/
    series.py), which may lie beyond the horizon (the past and the notice still apply).
    `hold_minutes`: how long the hold lasts, when not the tenant's hold TTL (a waitlist
    offer's window, apps/waitlist).
    `savepoint=False`: the caller's transaction ends with any error raised here (the API
    and the booking pages, inside their idempotency record's transaction), so nothing
    needs rolling back to a point inside it; callers that go on after an error (a
    series listing its conflicts, a waitlist offer trying the next start) keep it."""
    window_override_reason = window_override_reason.strip()
    tenant = tenant_current()
    now = timezone.now()
    errors: list[FieldError] = []
    if timezone.is_naive(starts_at):
        errors.append(FieldError("start", gettext("Give the time with its UTC offset.")))
    if len(notes) > NOTES_MAX_LENGTH:
        errors.append(
            FieldError(
                "notes",
                gettext("Keep notes under %(length)s characters.") % {"length": NOTES_MAX_LENGTH},
            )
        )
    if source not in Booking.Source.values:
        errors.append(FieldError("source", gettext("Unknown booking source.")))
    # The booking's messages speak the language it was made in: the one given, else the
    # request's (the page's, the API's Accept-Language). Staff booking for a customer on
    # the dashboard: the screen speaks the staff member's own language, which says nothing
    # of the customer's, so the business's speaks ("").
    if language:
        try:
            language_check(language)
        except ValidationFailed as exc:
            errors.extend(exc.details)
    elif source != Booking.Source.ADMIN:
        language = language_active()
    errors.extend(_staff_options_check(actor, window_override_reason, pay_at_venue=pay_at_venue))
    try:
        # A phone typed without its country code is read as the location's country's
        # (the location is read for the booking window below anyway).
        cleaned = _customer_input_clean(customer, phone_region=resource.location.country or None)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    # The service's intake questions (`answers` keyed by question id), checked with the
    # rest so a bad answer writes nothing. None means "not asked" (nothing checked or
    # kept) only for staff booking a phone-in customer; from anyone else it answered
    # nothing, so required questions are refused.
    if answers is None and actor.type != Actor.STAFF:
        answers = {}
    try:
        intake_answers = intake.answers_clean(service=service, answers=answers)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    if errors:
        raise ValidationFailed(gettext("The booking request is not valid."), errors)

    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    tenant_active_require()
    if tenant.live_at is None and actor.type == Actor.CUSTOMER:
        raise BusinessNotLive()
    entitlement_require(Limit.BOOKINGS_PER_MONTH)
    _require_bookable(service=service, resource=resource, offered=False)
    _require_in_window(
        service=service,
        resource=resource,
        starts_at=starts_at,
        now=now,
        tenant=tenant,
        actor=actor,
        override_reason=window_override_reason,
        beyond_horizon=series_occurrence,
    )
    # A waitlist offer holds for the business's offer window instead (apps/waitlist).
    hold_expires_at = now + timedelta(minutes=hold_minutes or tenant.hold_ttl_minutes)

    with _capacity_errors_as_slot_full(), transaction.atomic(savepoint=savepoint):
        # One statement: the lock, whether the resource offers the service, and whether
        # an elapsed hold nearby needs releasing first (seldom: read only then).
        active, offered, holds_elapsed_near = _resource_lock_for_hold(
            resource_id=resource.pk, service_id=service.pk, now=now, near=(starts_at, ends_at)
        )
        if not active:
            _require_active(resource=None)
        if not offered:
            _not_offered()
        if holds_elapsed_near:
            _expired_holds_release(resource_id=resource.pk, now=now, near=(starts_at, ends_at))
        slots = slots_lock(
            resource_id=resource.pk,
            intervals=[(starts_at, ends_at)],
            busy_near=(service, starts_at, ends_at),
        )
        booking = Booking(
            id=uuid7(),
            service=service,
            resource=resource,
            starts_at=starts_at,
            ends_at=ends_at,
            status=Booking.Status.HELD,
            hold_expires_at=hold_expires_at,
            source=source,
            notes=notes,
            payment_status=_payment_status_initial(service, pay_at_venue=pay_at_venue),
            window_override_reason=window_override_reason,
            idempotency_key=idempotency_key,
            language=language,
            created_by_type=actor.type,
            created_by_id=actor.id,
        )
        capacity = session_join(
            covered=slots,
            service=service,
            starts_at=starts_at,
            ends_at=ends_at,
            booking_id=booking.id,
            hold_expires_at=hold_expires_at,
        )
        booking.exclusive = capacity == 1
        # Only once the place is ours: in a storm the many who lose never write.
        audit_content_types_load(Customer, Booking)
        booking.customer = _customer_get_or_create(cleaned)
        # Messages about this booking go to the details typed with it, not to whatever
        # the customer record found by this email holds.
        booking.contact_name = cleaned.name
        booking.contact_email_encrypted = pii.pii_encrypt(cleaned.email)
        booking.contact_phone_encrypted = pii.pii_encrypt(cleaned.phone)
        booking.answers_encrypted = intake.answers_seal(intake_answers)
        booking.save(force_insert=True)
        _announce(
            booking,
            BookingEvent.Kind.HELD,
            actor,
            signals.booking_held,
            event_fields={"reason": window_override_reason} if window_override_reason else None,
        )
    _log("booking.held", booking)
    return booking


def booking_confirm(
    *, booking: Booking, actor: ActorRef, notify: bool = True, hold_timed: bool = True
) -> Booking:
    """Turns a live hold into a booking. Confirming a confirmed booking changes nothing.
    An elapsed hold is released (and committed as expired) before HoldExpired is raised.
    `notify=False` (staff who chose not to send a confirmation) travels with
    `booking_confirmed`: the customer gets no confirmation, reminders still go.
    `hold_timed=False` (staff confirming in the hold's own transaction): nobody waited
    on that hold, so it stays out of the hold-to-confirm time (still counted)."""
    now = timezone.now()
    with transaction.atomic():
        locked = _booking_lock(booking_id=booking.pk)
        if locked.status == Booking.Status.CONFIRMED:
            return locked
        if locked.status == Booking.Status.EXPIRED:
            raise HoldExpired()
        if locked.status != Booking.Status.HELD:
            raise InvalidTransition(
                gettext("A %(status)s booking cannot be confirmed.")
                % {"status": locked.get_status_display().lower()}
            )
        hold_elapsed = locked.hold_expires_at is not None and locked.hold_expires_at <= now
        if hold_elapsed:
            _booking_expire(locked)
        else:
            if (
                actor.type == Actor.CUSTOMER
                and locked.payment_status == Booking.PaymentStatus.PENDING
            ):
                raise InvalidTransition(gettext("This booking is confirmed once it is paid."))
            covered = slots_lock(
                resource_id=locked.resource_id, intervals=[(locked.starts_at, locked.ends_at)]
            )
            session_hold_to_booked(covered=covered, booking_id=locked.pk)
            locked.status = Booking.Status.CONFIRMED
            locked.hold_expires_at = None
            locked.save(update_fields=["status", "hold_expires_at", "updated_at"])
            _announce(
                locked,
                BookingEvent.Kind.CONFIRMED,
                actor,
                signals.booking_confirmed,
                # Only a confirmation staff chose not to send says so.
                signal_kwargs=None if notify else {"notify": False},
            )
            _hold_confirmed_count(held_for=now - locked.created_at, timed=hold_timed)
    if hold_elapsed:
        raise HoldExpired()
    _log("booking.confirmed", locked)
    return locked


def booking_hold_extend(*, booking: Booking, until: datetime) -> Booking:
    """Keeps a live hold until `until` (never shortens it). The hold's place rows move
    with it, through the slot lock, so cached availability sees the change."""
    with transaction.atomic():
        locked = _booking_lock(booking_id=booking.pk)
        now = timezone.now()
        live = (
            locked.status == Booking.Status.HELD
            and locked.hold_expires_at is not None
            and locked.hold_expires_at > now
        )
        if not live:
            raise HoldExpired()
        assert locked.hold_expires_at is not None
        if until <= locked.hold_expires_at:
            return locked
        covered = slots_lock(
            resource_id=locked.resource_id, intervals=[(locked.starts_at, locked.ends_at)]
        )
        session_hold_extend(covered=covered, booking_id=locked.pk, until=until)
        locked.hold_expires_at = until
        locked.save(update_fields=["hold_expires_at", "updated_at"])
    logger.info("booking.hold_extended", extra={"booking_id": str(locked.pk)})
    return locked


def booking_reinstate(*, booking: Booking, actor: ActorRef) -> Booking:
    """An expired hold whose payment still came takes its place again, booked at once,
    when that place is still free. Raises SlotFull or SlotNotFound when it is not, and
    InvalidTransition for a booking that did not expire or whose time has passed."""
    now = timezone.now()
    with _capacity_errors_as_slot_full(), transaction.atomic():
        locked = _booking_lock(booking_id=booking.pk)
        if locked.status != Booking.Status.EXPIRED or locked.starts_at <= now:
            raise InvalidTransition(
                gettext("Only a hold that expired, for a time to come, comes back.")
            )
        _expired_holds_release(
            resource_id=locked.resource_id, now=now, near=(locked.starts_at, locked.ends_at)
        )
        covered = slots_lock(
            resource_id=locked.resource_id, intervals=[(locked.starts_at, locked.ends_at)]
        )
        session_join(
            covered=covered,
            service=locked.service,
            starts_at=locked.starts_at,
            ends_at=locked.ends_at,
            booking_id=locked.pk,
            hold_expires_at=None,
        )
        locked.status = Booking.Status.CONFIRMED
        locked.hold_expires_at = None
        locked.save(update_fields=["status", "hold_expires_at", "updated_at"])
        _announce(locked, BookingEvent.Kind.CONFIRMED, actor, signals.booking_confirmed)
    _log("booking.reinstated", locked)
    return locked


def booking_cancel(
    *, booking: Booking, actor: ActorRef, reason: str = "", override_window: bool = False
) -> Booking:
    """Cancels a held or confirmed booking and frees its place. A confirmed booking can
    be cancelled until `tenant.cancellation_window_minutes` before it starts; staff (and
    the system, for a customer's erasure) may override the window, giving a reason.
    Cancelling a cancelled booking changes nothing."""
    reason = reason.strip()
    if override_window:
        errors = []
        if actor.type not in (Actor.STAFF, Actor.SYSTEM):
            errors.append(
                FieldError("override_window", gettext("Only staff can override the window."))
            )
        if not reason:
            errors.append(FieldError("reason", gettext("Give a reason for cancelling late.")))
        if errors:
            raise ValidationFailed(gettext("The cancellation is not valid."), errors)
    tenant = tenant_current()
    now = timezone.now()
    with transaction.atomic():
        locked = _booking_lock(booking_id=booking.pk)
        if locked.status == Booking.Status.CANCELLED:
            return locked
        if locked.status not in Booking.ACTIVE_STATUSES:
            raise InvalidTransition(
                gettext("A %(status)s booking cannot be cancelled.")
                % {"status": locked.get_status_display().lower()}
            )
        if locked.status == Booking.Status.CONFIRMED and not override_window:
            _require_before_cancellation_window(booking=locked, tenant=tenant, now=now)
        covered = slots_lock(
            resource_id=locked.resource_id, intervals=[(locked.starts_at, locked.ends_at)]
        )
        session_leave(
            covered=covered, booking_id=locked.pk, was_held=locked.status == Booking.Status.HELD
        )
        locked.status = Booking.Status.CANCELLED
        locked.cancellation_reason = reason
        locked.save(update_fields=["status", "cancellation_reason", "updated_at"])
        _announce(
            locked,
            BookingEvent.Kind.CANCELLED,
            actor,
            signals.booking_cancelled,
            event_fields={"reason": reason},
            signal_kwargs={"reason": reason},
        )
    _log("booking.cancelled", locked)
    return locked


def booking_reschedule(
    *,
    booking: Booking,
    starts_at: datetime,
    resource: Resource | None = None,
    actor: ActorRef,
) -> Booking:
    """Moves a held or confirmed booking to `starts_at` (on `resource`, default: the same
    one) in one transaction: the old place is released and the new one taken, or nothing
    changes. The booking keeps its id and status (a hold keeps its expiry); `sequence`
    goes up and a `rescheduled` event records from → to.

    The same booking checks as a new hold apply to the new time. Moving a confirmed
    booking is also a cancellation of its old time, so the cancellation window applies
    to it, except for staff."""
    if timezone.is_naive(starts_at):
        raise ValidationFailed(
            gettext("The new time is not valid."),
            [FieldError("start", gettext("Give the time with its UTC offset."))],
        )
    tenant = tenant_current()
    now = timezone.now()
    target_id = resource.pk if resource is not None else None
    hold_elapsed = False
    with _capacity_errors_as_slot_full(), transaction.atomic():
        locked, resources = _booking_lock_with(booking_id=booking.pk, also_resource_id=target_id)
        new_resource = resources[target_id or locked.resource_id]
        service = locked.service
        if locked.status not in Booking.ACTIVE_STATUSES:
            if locked.status == Booking.Status.EXPIRED:
                raise HoldExpired()
            raise InvalidTransition(
                gettext("A %(status)s booking cannot be rescheduled.")
                % {"status": locked.get_status_display().lower()}
            )
        hold_elapsed = (
            locked.status == Booking.Status.HELD
            and locked.hold_expires_at is not None
            and locked.hold_expires_at <= now
        )
        if hold_elapsed:
            _booking_expire(locked)
        elif starts_at != locked.starts_at or new_resource.pk != locked.resource_id:
            _require_bookable(service=service, resource=new_resource)
            _require_active(resource=new_resource)
            _require_in_window(
                service=service,
                resource=new_resource,
                starts_at=starts_at,
                now=now,
                tenant=tenant,
                actor=actor,
                moving=True,
            )
            if locked.status == Booking.Status.CONFIRMED and actor.type != Actor.STAFF:
                _require_before_cancellation_window(booking=locked, tenant=tenant, now=now)
            previous_starts_at, previous_ends_at = locked.starts_at, locked.ends_at
            _booking_move(booking=locked, resource=new_resource, starts_at=starts_at, now=now)
            _announce(
                locked,
                BookingEvent.Kind.RESCHEDULED,
                actor,
                signals.booking_rescheduled,
                event_fields={"from_starts_at": previous_starts_at, "to_starts_at": starts_at},
                signal_kwargs={
                    "previous_starts_at": previous_starts_at,
                    "previous_ends_at": previous_ends_at,
                },
            )
            _log("booking.rescheduled", locked)
    if hold_elapsed:
        raise HoldExpired()
    return locked


def booking_mark_completed(*, booking: Booking, actor: ActorRef) -> Booking:
    """A confirmed booking whose start has passed took place."""
    return _booking_finish(
        booking=booking,
        actor=actor,
        status=Booking.Status.COMPLETED,
        kind=BookingEvent.Kind.COMPLETED,
        signal=signals.booking_completed,
    )


def booking_mark_no_show(*, booking: Booking, actor: ActorRef) -> Booking:
    """A confirmed booking whose start has passed, and the customer did not come."""
    return _booking_finish(
        booking=booking,
        actor=actor,
        status=Booking.Status.NO_SHOW,
        kind=BookingEvent.Kind.NO_SHOW,
        signal=signals.booking_no_show,
    )


def holds_expire(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Marks elapsed holds `expired` and gives their places back; returns how many.

    Work is taken per resource, in the contract's locking order: the resource row with
    SKIP LOCKED (a resource another sweeper or a booking is writing is left for the next
    run; a booking releases elapsed holds of its resource itself), then up to
    `batch_size` elapsed holds with SKIP LOCKED, each batch in its own transaction. Two
    sweepers running together therefore never process the same hold."""
    now = now or timezone.now()
    expired = 0
    skipped: set[uuid.UUID] = set()
    while True:
        resource_ids = list(
            Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now)
            .exclude(resource_id__in=skipped)
            .order_by()
            .values_list("resource_id", flat=True)
            .distinct()[:batch_size]
        )
        if not resource_ids:
            break
        for resource_id in resource_ids:
            with transaction.atomic():
                got_lock = (
                    Resource.objects.select_for_update(skip_locked=True)
                    .filter(pk=resource_id)
                    .values_list("pk", flat=True)
                )
                if not list(got_lock):
                    skipped.add(resource_id)
                    continue
                batch = list(
                    Booking.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("service", "resource", "customer")
                    .filter(
                        resource_id=resource_id,
                        status=Booking.Status.HELD,
                        hold_expires_at__lte=now,
                    )
                    .order_by("hold_expires_at", "pk")[:batch_size]
                )
                for booking in batch:
                    _booking_expire(booking)
                expired += len(batch)
                if not batch:
                    skipped.add(resource_id)
    if expired:
        logger.info("bookings.holds_expired", extra={"count": expired, "schema": current_schema()})
    return expired


# --- Internals -------------------------------------------------------------------------


def _require_bookable(*, service: Service, resource: Resource, offered: bool = True) -> None:
    """`offered=False`: whether the resource offers the service is left to the caller,
    which reads it with the resource's lock (`_resource_lock_for_hold`)."""
    if not service.is_active:
        raise ValidationFailed(
            gettext("This service is not offered."),
            [FieldError("service", gettext("This service is not offered."))],
        )
    if not resource.is_active:
        raise ValidationFailed(
            gettext("This resource cannot be booked."),
            [FieldError("resource", gettext("This resource cannot be booked."))],
        )
    if offered and not service.resources.filter(pk=resource.pk).exists():
        _not_offered()


def _not_offered() -> NoReturn:
    raise ValidationFailed(
        gettext("This service is not offered by that resource."),
        [FieldError("resource", gettext("This service is not offered by that resource."))],
    )


def _require_active(*, resource: Resource | None) -> None:
    """Re-checked on the locked row: a resource deactivated meanwhile takes no booking."""
    if resource is None or not resource.is_active:
        raise ValidationFailed(
            gettext("This resource cannot be booked."),
            [FieldError("resource", gettext("This resource cannot be booked."))],
        )


def _require_in_window(
    *,
    service: Service,
    resource: Resource,
    starts_at: datetime,
    now: datetime,
    tenant: Tenant,
    actor: ActorRef,
    override_reason: str = "",
    moving: bool = False,
    beyond_horizon: bool = False,
) -> None:
    """The one place the booking window is decided. Minimum notice counts from now; the
    horizon ends at the end of the location's local day `horizon_days` after today; the
    past is refused to everyone. Staff pass the notice and the horizon only with an
    `override_reason` (the caller checked it), so every exception is on record. Staff
    moving a booking that exists (`moving`) pass the notice without one: the booking
    was already let in, and the reschedule screens have no reason to give. A series'
    later occurrences pass the horizon (`beyond_horizon`): the series was let in."""
    if starts_at <= now:
        raise OutsideBookingWindow(
            gettext("That time has already passed."),
            [FieldError("start", gettext("That time has passed."))],
        )
    staff = actor.type == Actor.STAFF
    if override_reason and staff:
        return
    min_notice = (
        service.min_notice_minutes
        if service.min_notice_minutes is not None
        else tenant.min_notice_minutes
    )
    if not (moving and staff) and starts_at < now + timedelta(minutes=min_notice):
        raise OutsideBookingWindow(
            gettext("That time is too soon to book."),
            [
                FieldError(
                    "start",
                    gettext("Book at least %(minutes)s minutes ahead.") % {"minutes": min_notice},
                )
            ],
        )
    if beyond_horizon:
        return
    horizon_days = service.horizon_days if service.horizon_days is not None else tenant.horizon_days
    zone = zoneinfo.ZoneInfo(resource.location.timezone)
    last_day = now.astimezone(zone).date() + timedelta(days=horizon_days)
    if starts_at.astimezone(zone).date() > last_day:
        raise OutsideBookingWindow(
            gettext("That time is too far ahead to book."),
            [
                FieldError(
                    "start", gettext("Book at most %(days)s days ahead.") % {"days": horizon_days}
                )
            ],
        )


WINDOW_OVERRIDE_REASON_MAX_LENGTH = 500


def _staff_options_check(
    actor: ActorRef, window_override_reason: str, *, pay_at_venue: bool
) -> list[FieldError]:
    """What only staff may ask of a hold, and the reason's shape."""
    errors = []
    staff = actor.type == Actor.STAFF
    if window_override_reason and not staff:
        errors.append(
            FieldError(
                "override_reason", gettext("Only staff can book outside the booking window.")
            )
        )
    elif len(window_override_reason) > WINDOW_OVERRIDE_REASON_MAX_LENGTH:
        errors.append(
            FieldError(
                "override_reason",
                gettext("Keep the reason under %(length)s characters.")
                % {"length": WINDOW_OVERRIDE_REASON_MAX_LENGTH},
            )
        )
    if pay_at_venue and not staff:
        errors.append(
            FieldError("payment", gettext("Only staff can let a customer pay at the venue."))
        )
    return errors


def _payment_status_initial(service: Service, *, pay_at_venue: bool) -> str:
    if not service.is_paid:
        return Booking.PaymentStatus.NOT_REQUIRED
    return Booking.PaymentStatus.AT_VENUE if pay_at_venue else Booking.PaymentStatus.PENDING


def _require_before_cancellation_window(*, booking: Booking, tenant: Tenant, now: datetime) -> None:
    window = timedelta(minutes=tenant.cancellation_window_minutes)
    if booking.starts_at - now < window:
        raise TooLateToCancel(
            gettext("Bookings can be changed until %(minutes)s minutes before they start.")
            % {"minutes": tenant.cancellation_window_minutes}
        )


@contextlib.contextmanager
def _capacity_errors_as_slot_full() -> Iterator[None]:
    """Maps the capacity constraints' violations (SQLSTATE 23P01 on the exclusion
    constraint, 23514 on the counters' CHECK) to SlotFull. Wraps the atomic block, so the
    broken transaction (or savepoint) is rolled back before SlotFull propagates."""
    try:
        yield
    except IntegrityError as exc:
        cause = exc.__cause__
        sqlstate = getattr(cause, "sqlstate", None) or ""
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
        if constraint in _CAPACITY_CONSTRAINTS.get(sqlstate, set()):
            logger.info("booking.capacity_constraint", extra={"constraint": constraint})
            raise SlotFull() from exc
        raise


def _booking_lock(*, booking_id: uuid.UUID) -> Booking:
    locked, _ = _booking_lock_with(booking_id=booking_id, also_resource_id=None)
    return locked


def _booking_lock_with(
    *, booking_id: uuid.UUID, also_resource_id: uuid.UUID | None
) -> tuple[Booking, dict[uuid.UUID, Resource]]:
    """Locks the booking's resource (and another one, for a move) in pk order, then the
    booking row. A concurrent move to another resource is noticed and the locks are
    taken again for the new one."""
    while True:
        current = Booking.objects.filter(pk=booking_id).values_list("resource_id", flat=True)
        resource_id = current.first()
        if resource_id is None:
            raise Booking.DoesNotExist(f"No booking {booking_id}.")
        wanted = {resource_id} | ({also_resource_id} if also_resource_id else set())
        resources = resources_lock(resource_ids=wanted)
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("service", "resource__location", "customer")
            .get(pk=booking_id)
        )
        if locked.resource_id == resource_id:
            return locked, resources


# A session with its buffers fits in one day (Service's `service_fits_in_a_day`), so a
# session whose buffers could touch [start, end) of another starts less than two days
# after that end and ends less than two days before that start.
NEIGHBOURHOOD = timedelta(days=2)


def _expired_holds_release(
    *, resource_id: uuid.UUID, now: datetime, near: tuple[datetime, datetime]
) -> None:
    """Elapsed holds on a resource we hold the lock of are released for real before any
    capacity decision, so a place whose hold ran out is bookable before the sweeper ran.
    Only holds that could stand in the way of [start, end) are: the rest of the
    resource's elapsed holds are the sweeper's, not a cost on this request."""
    elapsed = (
        _elapsed_holds_near(resource_id=resource_id, now=now, near=near)
        .select_for_update(of=("self",))
        .select_related("service", "resource", "customer")
        .order_by("starts_at", "pk")
    )
    for booking in elapsed:
        _booking_expire(booking)


def _resource_lock_for_hold(
    *, resource_id: uuid.UUID, service_id: uuid.UUID, now: datetime, near: tuple[datetime, datetime]
) -> tuple[bool, bool, bool]:
    """`resources_lock` of one resource for a hold, with what the hold asks of it read
    in the same statement: (active, offers the service, an elapsed hold nearby as
    `_elapsed_holds_near` finds it). (False, False, False) when the row is gone.
    Hand-written: compiling the ORM's version cost more than running it."""
    starts_at, ends_at = near
    offers = raw_rows.table(Service.resources.through)
    bookings = raw_rows.table(Booking)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT r.is_active,
                EXISTS (SELECT 1 FROM {offers} o WHERE o.service_id = %s AND o.resource_id = r.id),
                EXISTS (SELECT 1 FROM {bookings} b WHERE b.resource_id = r.id
                        AND b.status = %s AND b.hold_expires_at <= %s
                        AND b.starts_at < %s AND b.ends_at > %s)
            FROM {raw_rows.table(Resource)} r WHERE r.id = %s FOR UPDATE OF r""",  # noqa: S608
            [
                service_id,
                Booking.Status.HELD.value,
                now,
                ends_at + NEIGHBOURHOOD,
                starts_at - NEIGHBOURHOOD,
                resource_id,
            ],
        )
        row = cursor.fetchone()
    return (False, False, False) if row is None else (bool(row[0]), bool(row[1]), bool(row[2]))


def _elapsed_holds_near(
    *, resource_id: uuid.UUID | OuterRef, now: datetime, near: tuple[datetime, datetime]
) -> QuerySet[Booking]:
    starts_at, ends_at = near
    return Booking.objects.filter(
        resource_id=resource_id,
        status=Booking.Status.HELD,
        hold_expires_at__lte=now,
        starts_at__lt=ends_at + NEIGHBOURHOOD,
        ends_at__gt=starts_at - NEIGHBOURHOOD,
    )


def _booking_expire(booking: Booking) -> None:
    covered = slots_lock(
        resource_id=booking.resource_id, intervals=[(booking.starts_at, booking.ends_at)]
    )
    session_leave(covered=covered, booking_id=booking.pk, was_held=True)
    booking.status = Booking.Status.EXPIRED
    booking.save(update_fields=["status", "updated_at"])
    _announce(booking, BookingEvent.Kind.EXPIRED, SWEEPER, signals.booking_expired)
    _log("booking.expired", booking)


def _booking_move(
    *, booking: Booking, resource: Resource, starts_at: datetime, now: datetime
) -> Booking:
    """Leaves the old session and joins the new one, on resources already locked."""
    service = booking.service
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    # Only the new place is a capacity decision; leaving the old one needs no room.
    _expired_holds_release(resource_id=resource.pk, now=now, near=(starts_at, ends_at))
    was_held = booking.status == Booking.Status.HELD
    intervals: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    intervals.setdefault(booking.resource_id, []).append((booking.starts_at, booking.ends_at))
    intervals.setdefault(resource.pk, []).append((starts_at, ends_at))
    # One query per resource, so that when old and new times share slots the same
    # in-memory rows see the release before the join.
    slots = {
        resource_id: slots_lock(resource_id=resource_id, intervals=spans)
        for resource_id, spans in sorted(intervals.items())
    }
    old_covered = slots_covering(
        slots[booking.resource_id], starts_at=booking.starts_at, ends_at=booking.ends_at
    )
    session_leave(covered=old_covered, booking_id=booking.pk, was_held=was_held)
    new_covered = slots_covering(slots[resource.pk], starts_at=starts_at, ends_at=ends_at)
    capacity = session_join(
        covered=new_covered,
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        booking_id=booking.pk,
        hold_expires_at=booking.hold_expires_at if was_held else None,
    )
    booking.resource = resource
    booking.starts_at = starts_at
    booking.ends_at = ends_at
    booking.exclusive = capacity == 1
    booking.sequence += 1
    booking.save(
        update_fields=["resource", "starts_at", "ends_at", "exclusive", "sequence", "updated_at"]
    )
    return booking


def _booking_finish(
    *, booking: Booking, actor: ActorRef, status: str, kind: str, signal: Signal
) -> Booking:
    now = timezone.now()
    with transaction.atomic():
        locked = _booking_lock(booking_id=booking.pk)
        if locked.status == status:
            return locked
        if locked.status != Booking.Status.CONFIRMED:
            raise InvalidTransition(
                gettext("A %(status)s booking cannot be marked that way.")
                % {"status": locked.get_status_display().lower()}
            )
        if locked.starts_at > now:
            raise InvalidTransition(
                gettext("A booking can be marked like this once it has started.")
            )
        # The place stays taken: the session happened (or was held for the customer).
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        _announce(locked, kind, actor, signal)
    _log(f"booking.{status}", locked)
    return locked


def _announce(
    booking: Booking,
    kind: str,
    actor: ActorRef,
    signal: Signal,
    *,
    event_fields: dict[str, Any] | None = None,
    signal_kwargs: dict[str, Any] | None = None,
) -> None:
    BookingEvent.objects.create(
        booking=booking,
        kind=kind,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=pii.mask_text(actor.label)[:255],
        **(event_fields or {}),
    )
    signal.send(sender=Booking, booking=booking, actor=actor, **(signal_kwargs or {}))
    _transition_count(kind=kind, status=booking.status, source=booking.source)


# Kinds of event that move a booking into a new status (a reschedule keeps it).
_STATUS_KINDS = frozenset(
    {
        BookingEvent.Kind.HELD,
        BookingEvent.Kind.CONFIRMED,
        BookingEvent.Kind.CANCELLED,
        BookingEvent.Kind.EXPIRED,
        BookingEvent.Kind.COMPLETED,
        BookingEvent.Kind.NO_SHOW,
    }
)


def _transition_count(*, kind: str, status: str, source: str) -> None:
    """Counts a transition once its transaction commits (apps/core/metrics.py)."""
    if kind not in _STATUS_KINDS:
        return

    def record() -> None:
        metrics.bookings_total.labels(status=status, source=source).inc()
        if kind == BookingEvent.Kind.HELD:
            metrics.holds_placed_total.inc()
        elif kind == BookingEvent.Kind.EXPIRED:
            metrics.holds_expired_total.inc()

    metrics.count_after_commit(record)


def _hold_confirmed_count(*, held_for: timedelta, timed: bool = True) -> None:
    """A live hold became a booking (a reinstated expired hold is not counted here);
    `timed`: how long it was held joins the hold-to-confirm time."""
    milliseconds = max(held_for.total_seconds() * 1000, 0.0)

    def record() -> None:
        metrics.holds_confirmed_total.inc()
        if timed:
            metrics.hold_to_confirm_ms.observe(milliseconds)

    metrics.count_after_commit(record)


def _log(event: str, booking: Booking) -> None:
    logger.info(
        event,
        extra={
            "booking_id": str(booking.pk),
            "resource_id": str(booking.resource_id),
            "service_id": str(booking.service_id),
            "status": booking.status,
        },
    )
