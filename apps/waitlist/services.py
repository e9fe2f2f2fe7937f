"""Writes of the waitlist: joining, the staff's reordering and removal, the offer
window, and the offer maker.

The offer maker (`waitlist_offers_make`) runs when capacity may have freed (a
`WaitlistWake` row, written by the receivers in the freeing transaction) and when a
live offer lapses. Makers of one business take turns (an advisory lock). It walks the
waiting entries in line order; each entry is locked (`FOR UPDATE SKIP LOCKED`: one a
staff change holds ends the run rather than being passed over) and, in the same
transaction, given a hold of the booking core (`booking_hold`, for the offer window cut
to the time left before the start) on the first free start it accepts, with the offer
row linking the two. The
database keeps the rest: the slot counters and the exclusion constraint (one place is
one hold), `waitlist_offer_one_live_per_entry` and `waitlist_offer_unique_booking`.

Lock order: an entry row, then (inside `booking_hold`) the resource and its slots. The
booking receivers (apps/waitlist/receivers.py) run inside a booking change, which holds
the resource first, and touch only an *offered* entry, which the maker never locks
(it locks waiting entries only), so the two orders never meet on one row.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.selectors import tenant_current
from apps.bookings import pii
from apps.bookings.actors import Actor, ActorRef
from apps.bookings.errors import BookingError, HoldExpired, InvalidTransition
from apps.bookings.intake import answers_clean, answers_seal
from apps.bookings.models import Booking, Customer
from apps.bookings.services import (
    CustomerInput,
    booking_confirm,
    booking_hold,
    customer_get_or_create,
    holds_expire,
)
from apps.core.errors import DomainError, FieldError, ValidationFailed
from apps.core.languages import is_language, language_active
from apps.core.task_queue import task_enqueue
from apps.core.tenancy import current_schema
from apps.notifications.messages.services import notifications_plan_waitlist_offer
from apps.resources.intake import questions_of
from apps.resources.models import Resource, Service
from apps.waitlist.errors import OfferGone, WaitlistAlreadyWaiting, WaitlistTimeFree
from apps.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistSettings, WaitlistWake
from apps.waitlist.offer_links import offer_confirm_url
from apps.waitlist.selectors import FreeStart, free_starts, waitlist_settings_get

logger = logging.getLogger(__name__)

# The kind of due work (apps/accounts/due_work.py) the offer maker does.
WAITLIST_WORK = "waitlist"
OFFERS_TASK = "waitlist.offers_make"
OFFER_ACTOR = ActorRef.system("waitlist offer")
MAX_RANGE = timedelta(days=14)
# Free starts tried per entry before the maker moves on (each a hold attempt).
STARTS_PER_ENTRY = 5
# The shortest offer: a place starting sooner than this is not offered (the window is cut
# to the time left before the start). The same as the offer window's least setting.
OFFER_MIN_MINUTES = 5
# When a person first in line for a free place was locked by a staff change.
BUSY_RETRY = timedelta(seconds=30)

Status = WaitlistEntry.Status
# The constraints that keep one live entry per person and time (apps/waitlist/models.py).
PERSON_CONSTRAINTS = {
    "waitlist_entry_one_live_per_person",
    "waitlist_entry_one_live_per_person_anyone",
}


# --- Joining ---------------------------------------------------------------------------


def waitlist_join(
    *,
    service: Service,
    resource: Resource | None,
    earliest_at: datetime,
    latest_at: datetime,
    customer: CustomerInput,
    actor: ActorRef,
    answers: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Puts a person at the end of the line for a place of `service` (with `resource`,
    or anyone offering it) starting from `earliest_at` to `latest_at`, with their
    `answers` to the service's intake questions (checked as a booking's; the offer's
    hold is made with them). Raises ValidationFailed for bad input, WaitlistTimeFree
    when one of those times is free (the customer books it instead) and
    WaitlistAlreadyWaiting when the person already waits for some of those times;
    nothing is written then. A person already waiting for the very same times (a form
    sent twice, or two sent at once) is given their entry back."""
    now = now or timezone.now()
    errors: list[FieldError] = []
    if timezone.is_naive(earliest_at) or timezone.is_naive(latest_at):
        errors.append(FieldError("earliest", _("Give the times with their UTC offset.")))
    elif latest_at < earliest_at:
        errors.append(FieldError("latest", _("The last time must not be before the first.")))
    elif latest_at <= now:
        errors.append(FieldError("latest", _("Those times have passed.")))
    elif latest_at - earliest_at > MAX_RANGE:
        errors.append(
            FieldError("latest", _("Wait for at most %(days)s days.") % {"days": MAX_RANGE.days})
        )
    sealed = ""
    if not service.is_active:
        errors.append(FieldError("service", _("This service is not offered.")))
    elif resource is not None and (
        not resource.is_active or not service.resources.filter(pk=resource.pk).exists()
    ):
        errors.append(FieldError("resource", _("This service is not offered by that resource.")))
    else:
        try:
            # Asked now, as a booking asks them: the offer's hold is made with them.
            sealed = answers_seal(answers_clean(service=service, answers=answers or {}))
        except ValidationFailed as exc:
            errors.extend(exc.details)
    region = resource.location.country if resource is not None else None
    email = phone = ""
    name = " ".join((customer.name or "").split())
    if not name:
        errors.append(FieldError("name", _("Enter your name.")))
    try:
        email = pii.email_normalize(customer.email)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    try:
        phone = pii.phone_normalize(customer.phone, region=region or None)
    except ValidationFailed as exc:
        errors.extend(exc.details)
    if errors:
        raise ValidationFailed(_("The waitlist request is not valid."), errors)
    asked_from, earliest_at = earliest_at, max(earliest_at, now)
    if free_starts(
        service=service,
        resource=resource,
        earliest_at=earliest_at,
        latest_at=latest_at,
        now=now,
        limit=1,
    ):
        raise WaitlistTimeFree()

    email_hash = pii.lookup_hash(email)

    def waiting_already() -> WaitlistEntry | None:
        """The person's live entry for some of these times: the very same ask (given
        back), or else WaitlistAlreadyWaiting."""
        overlapping = list(
            WaitlistEntry.objects.filter(
                email_hash=email_hash,
                service=service,
                resource=resource,
                earliest_at__lte=latest_at,
                latest_at__gte=earliest_at,
                status__in=WaitlistEntry.OPEN_STATUSES,
            ).order_by("created_at")
        )
        for entry in overlapping:
            # The same times asked again: the start kept is the asked one or, once that
            # had passed, the moment of that join. Two joins sent together take their
            # moments in either order: once ours had passed too, an entry that waits
            # from the moment it joined (a start no later than its creation) is the same.
            from_its_join = asked_from < now and entry.earliest_at <= entry.created_at
            if (
                entry.latest_at == latest_at
                and asked_from <= entry.earliest_at
                and (entry.earliest_at <= earliest_at or from_its_join)
            ):
                return entry
        if overlapping:
            raise WaitlistAlreadyWaiting()
        return None

    same = waiting_already()
    if same is not None:
        return same
    try:
        with transaction.atomic():
            person = customer_get_or_create(
                name=name, email=email, phone=phone, phone_region=region
            )
            last = WaitlistEntry.objects.aggregate(last=Max("position"))["last"] or 0
            entry = WaitlistEntry.objects.create(
                service=service,
                resource=resource,
                customer=person,
                earliest_at=earliest_at,
                latest_at=latest_at,
                position=last + 1,
                contact_name=name,
                email_encrypted=pii.pii_encrypt(email),
                phone_encrypted=pii.pii_encrypt(phone),
                email_hash=email_hash,
                answers_encrypted=sealed,
                language=language_active() if actor.type != Actor.STAFF else "",
                created_by_type=actor.type,
                created_by_id=actor.id,
            )
    except IntegrityError as exc:
        # Another join of the person's committed first (the exclusion constraints):
        # theirs is the one, whether the same ask or an overlapping one.
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint not in PERSON_CONSTRAINTS:
            raise
        same = waiting_already()
        if same is None:
            raise WaitlistAlreadyWaiting() from exc
        return same
    logger.info(
        "waitlist.joined",
        extra={"entry_id": str(entry.pk), "actor_type": actor.type, "actor_id": actor.id},
    )
    return entry


def _business_language() -> str:
    """The business's default language, for an entry that has none of its own."""
    locale = getattr(tenant_current(), "locale", "")
    return locale if is_language(locale) else settings.LANGUAGE_CODE


# --- Staff -----------------------------------------------------------------------------


def waitlist_entry_move(*, entry: WaitlistEntry, direction: str) -> WaitlistEntry:
    """Swaps a waiting or offered entry with its neighbour in the line ("up": ahead,
    "down": behind). The open line is locked (primary-key order) and read under the lock,
    then numbered 1, 2, 3…: two people who joined at once (equal positions) are moved as
    surely as any, and two staff moving at once take turns on a line that stays in one
    order."""
    if direction not in ("up", "down"):
        raise ValidationFailed(
            _("Unknown direction."), [FieldError("direction", _("Move up or down."))]
        )
    with transaction.atomic():
        line = list(
            WaitlistEntry.objects.select_for_update()
            .filter(status__in=WaitlistEntry.OPEN_STATUSES)
            .order_by("pk")
        )
        line.sort(key=lambda row: (row.position, row.created_at, row.pk))
        index = next((i for i, row in enumerate(line) if row.pk == entry.pk), None)
        if index is None:
            return entry
        other_index = index - 1 if direction == "up" else index + 1
        if not 0 <= other_index < len(line):
            return line[index]
        line[index], line[other_index] = line[other_index], line[index]
        # Only rows whose number changes are written (each save is in the history).
        for number, row in enumerate(line, start=1):
            if row.position != number:
                row.position = number
                row.save(update_fields=["position", "updated_at"])
        mine = line[other_index]
    logger.info("waitlist.moved", extra={"entry_id": str(entry.pk), "direction": direction})
    return mine


def waitlist_entry_remove(*, entry: WaitlistEntry, actor: ActorRef) -> WaitlistEntry:
    """Takes an entry out of the line. A live offer stays the customer's until it lapses
    or is confirmed (the hold is theirs already)."""
    with transaction.atomic():
        locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.status in (Status.WAITING, Status.OFFERED):
            locked.status = Status.REMOVED
            locked.save(update_fields=["status", "updated_at"])
    logger.info("waitlist.removed", extra={"entry_id": str(entry.pk), "actor_type": actor.type})
    return locked


def waitlist_settings_update(*, offer_window_minutes: int) -> WaitlistSettings:
    if not 5 <= offer_window_minutes <= 1440:
        raise ValidationFailed(
            _("The offer window is not valid."),
            [
                FieldError(
                    "offer_window_minutes",
                    _("Give between 5 minutes and 1440 minutes (a day)."),
                )
            ],
        )
    settings, _created = WaitlistSettings.objects.update_or_create(
        singleton=1, defaults={"offer_window_minutes": offer_window_minutes}
    )
    return settings


# --- Waking the offer maker ------------------------------------------------------------


def waitlist_wake(*, reason: str, now: datetime | None = None) -> bool:
    """Capacity may have freed: a wake row in the caller's transaction (only while
    someone waits); once that commits, the business's waitlist work is noted due and the
    offer maker queued. Beat's due-work run picks it up if the task is lost, and the
    hourly backstop (apps/waitlist/due_work.py) if the note is. Returns whether anything
    was written.

    The note is made after the commit, not inside the change: a change that frees places
    on two resources (an erasure) would otherwise hold the business's due-work row while
    it waits for the second resource, which an offer maker holding that resource and
    noting a lapse could be waiting for."""
    if not WaitlistEntry.objects.filter(status=Status.WAITING).exists():
        return False
    now = now or timezone.now()
    WaitlistWake.objects.create(reason=reason[:32], due_at=now)
    schema = current_schema()

    def after_commit() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT public.tenant_work_due_note(%s, %s, %s)", [schema, WAITLIST_WORK, now]
                )
            task_enqueue(OFFERS_TASK)
        except Exception:  # the change has committed; the backstop and beat catch up
            logger.warning("waitlist.enqueue_failed", extra={"schema": schema})

    transaction.on_commit(after_commit)
    return True


# --- Offers following their hold -------------------------------------------------------


def waitlist_offer_follow(*, booking: Booking) -> WaitlistOffer | None:
    """A booking changed (inside its transaction): the live offer it is the hold of, if
    any, follows it: confirmed → accepted (the entry is booked); expired or cancelled →
    lapsed (the entry leaves the line; the next person is offered)."""
    if booking.status == Booking.Status.HELD:
        return None
    offer = (
        WaitlistOffer.objects.select_for_update()
        .filter(booking_id=booking.pk, status=WaitlistOffer.Status.LIVE)
        .first()
    )
    if offer is None:
        return None
    accepted = booking.status in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED)
    offer.status = WaitlistOffer.Status.ACCEPTED if accepted else WaitlistOffer.Status.LAPSED
    offer.save(update_fields=["status", "updated_at"])
    WaitlistEntry.objects.filter(pk=offer.entry_id, status=Status.OFFERED).update(
        status=Status.BOOKED if accepted else Status.LAPSED, updated_at=timezone.now()
    )
    logger.info("waitlist.offer_settled", extra={"offer_id": str(offer.pk), "status": offer.status})
    return offer


def waitlist_offer_accept(*, offer: WaitlistOffer) -> Booking:
    """The customer confirmed the offer from its link: its hold becomes a booking (the
    offer follows through `booking_confirmed`). A paid service is confirmed by its
    payment instead (the booking pages' checkout). Raises OfferGone when the hold lapsed
    or was released."""
    booking = offer.booking
    try:
        return booking_confirm(booking=booking, actor=ActorRef.customer(str(booking.customer_id)))
    except HoldExpired as exc:
        raise OfferGone() from exc
    except InvalidTransition as exc:
        fresh = Booking.objects.get(pk=booking.pk)
        if fresh.status == Booking.Status.CONFIRMED:
            return fresh
        if fresh.status in (Booking.Status.CANCELLED, Booking.Status.EXPIRED):
            raise OfferGone() from exc
        raise


# --- The offer maker -------------------------------------------------------------------


def waitlist_offers_make(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Offers freed places to the people waiting, first in line first; returns how many
    offers it made. Safe to run concurrently and again: makers of one business take
    turns (a session advisory lock), so a person skipped because another maker had
    them locked is never passed over for someone behind them; the entry locks and the
    constraints stay the safety."""
    with _one_maker_at_a_time():
        return _offers_make(now=now or timezone.now(), batch_size=batch_size)


# The advisory lock's class (the two-key form, a key space of its own); the second key
# is the business's schema, hashed.
_MAKER_LOCK_CLASS = 1616


@contextlib.contextmanager
def _one_maker_at_a_time() -> Iterator[None]:
    schema = current_schema()
    if connection.in_atomic_block:
        # Run inside a caller's transaction, the offers it makes commit only with that
        # transaction: the turn is held until then (released by the commit or rollback),
        # not handed to the next maker while its offers are still invisible to it.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_MAKER_LOCK_CLASS, schema]
            )
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [_MAKER_LOCK_CLASS, schema])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", [_MAKER_LOCK_CLASS, schema]
            )


def _offers_make(*, now: datetime, batch_size: int) -> int:
    # The wakes this run answers: only those it can see now (one committed later stays
    # for the next run).
    wakes = list(WaitlistWake.objects.filter(due_at__lte=now).values_list("pk", flat=True)[:5000])
    # A paid offer's checkout keeps its hold longer (apps/billing): the offer lasts as
    # long as its hold.
    WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.LIVE,
        booking__status=Booking.Status.HELD,
        booking__hold_expires_at__gt=F("expires_at"),
    ).update(
        expires_at=Subquery(
            Booking.objects.filter(pk=OuterRef("booking_id")).values("hold_expires_at")[:1]
        ),
        updated_at=now,
    )
    if WaitlistOffer.objects.filter(status=WaitlistOffer.Status.LIVE, expires_at__lte=now).exists():
        # Lapsed offers' holds give their places back now (the sweeper's work, done here
        # so the next in line does not wait for it); their offers follow (receivers).
        holds_expire(now=now)
    WaitlistEntry.objects.filter(status=Status.WAITING, latest_at__lt=now).update(
        status=Status.PASSED, updated_at=now
    )
    made = 0
    window = waitlist_settings_get().offer_window_minutes
    # The whole line, read in batches: someone far back may be the only one a freed
    # place suits.
    waiting_ids = list(
        WaitlistEntry.objects.filter(status=Status.WAITING)
        .order_by("position", "created_at", "id")
        .values_list("pk", flat=True)
    )
    busy = False
    for first in range(0, len(waiting_ids), batch_size):
        chunk = waiting_ids[first : first + batch_size]
        rows = WaitlistEntry.objects.select_related("service", "resource__location").in_bulk(chunk)
        for entry_id in chunk:
            entry = rows.get(entry_id)
            if entry is None or entry.status != Status.WAITING:
                continue
            # Read without a lock first: most people waiting have nothing free, and then
            # cost one (usually cached) availability read each.
            starts = free_starts(
                service=entry.service,
                resource=entry.resource,
                earliest_at=max(entry.earliest_at, now),
                latest_at=entry.latest_at,
                now=now,
                limit=STARTS_PER_ENTRY,
            )
            if not starts:
                continue
            outcome = _offer_try(entry_id=entry.pk, starts=starts, window=window)
            if outcome is _Outcome.BUSY:
                busy = True
                break
            if outcome is _Outcome.OFFERED:
                made += 1
        if busy:
            break
    if busy:
        # Someone with a free place is being changed right now (staff moving or removing
        # them): nobody behind them is offered before they are. A later run looks again.
        WaitlistWake.objects.create(reason="entry_busy", due_at=now + BUSY_RETRY)
    if wakes:
        WaitlistWake.objects.filter(pk__in=wakes).delete()
    if made:
        logger.info("waitlist.offers_made", extra={"count": made, "schema": current_schema()})
    return made


class _Outcome(enum.Enum):
    OFFERED = "offered"
    NOT_OFFERED = "not_offered"
    # The entry's row is locked by another change: it may still be first in line.
    BUSY = "busy"


def _offer_try(*, entry_id: uuid.UUID, starts: list[FreeStart], window: int) -> _Outcome:
    """Offers the entry the first of `starts` it can hold, under the entry's lock."""
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service", "resource__location", "customer")
            .filter(pk=entry_id, status=Status.WAITING)
            .first()
        )
        if entry is None:
            # Still waiting but locked by a staff change (makers take turns, so not by
            # another maker): not passed over for the people behind. Otherwise they
            # moved on.
            if WaitlistEntry.objects.filter(pk=entry_id, status=Status.WAITING).exists():
                return _Outcome.BUSY
            return _Outcome.NOT_OFFERED
        elsewhere = _booked_elsewhere(entry)
        if elsewhere == Booking.Status.HELD:
            # Holding another time right now (choosing, paying): not offered a second
            # place meanwhile, but kept in line in case that hold lapses.
            return _Outcome.NOT_OFFERED
        if elsewhere is not None:
            entry.status = Status.BOOKED_ELSEWHERE
            entry.save(update_fields=["status", "updated_at"])
            logger.info("waitlist.booked_elsewhere", extra={"entry_id": str(entry.pk)})
            return _Outcome.NOT_OFFERED
        resources = {
            resource.pk: resource
            for resource in Resource.objects.select_related("location").filter(
                pk__in={start.resource_id for start in starts}
            )
        }
        for start in starts:
            # A place is held no later than it starts: an offer taken after its start
            # (or one that keeps a place from everyone until then) is no offer.
            minutes_left = int((start.starts_at - timezone.now()).total_seconds() // 60)
            hold_minutes = min(window, minutes_left)
            if hold_minutes < OFFER_MIN_MINUTES:
                continue
            try:
                booking = booking_hold(
                    service=entry.service,
                    resource=resources[start.resource_id],
                    starts_at=start.starts_at,
                    customer=CustomerInput(
                        name=entry.contact_name, email=entry.email, phone=entry.phone
                    ),
                    answers=_offer_answers(entry),
                    actor=OFFER_ACTOR,
                    hold_minutes=hold_minutes,
                    # The customer's language, not whatever the worker or the staff
                    # member who freed the place happens to speak ("" = the business's).
                    language=entry.language or _business_language(),
                )
            except BookingError:
                continue  # taken meanwhile (SLOT_FULL) or no longer bookable: the next start
            except DomainError as exc:
                logger.warning(
                    "waitlist.offer_refused", extra={"entry_id": str(entry.pk), "code": exc.code}
                )
                return _Outcome.NOT_OFFERED
            assert booking.hold_expires_at is not None
            offer = WaitlistOffer.objects.create(
                entry=entry, booking=booking, expires_at=booking.hold_expires_at
            )
            entry.status = Status.OFFERED
            entry.save(update_fields=["status", "updated_at"])
            tenant = tenant_current()
            notifications_plan_waitlist_offer(
                booking=booking, url=offer_confirm_url(offer, tenant=tenant)
            )
            logger.info(
                "waitlist.offered",
                extra={"entry_id": str(entry.pk), "offer_id": str(offer.pk)},
            )
            return _Outcome.OFFERED
    return _Outcome.NOT_OFFERED


def _offer_answers(entry: WaitlistEntry) -> dict[str, Any]:
    """The answers given at the join, for the offer's hold (checked again there): those
    to questions the service still asks (a question removed since is not answered; one
    added since as required refuses the offer until the person answers it by booking)."""
    asked = {str(question.pk) for question in questions_of(service=entry.service)}
    return {
        answer.question_id: answer.value for answer in entry.answers if answer.question_id in asked
    }


def _booked_elsewhere(entry: WaitlistEntry) -> str | None:
    """Whether the person has a booking (`confirmed`) or, failing that, a hold (`held`)
    of the service at a time they asked for; None when neither. The person is the
    customer found by the entry's email's lookup hash, as every booking's is."""
    customer: Customer = entry.customer
    statuses = set(
        Booking.objects.filter(
            customer=customer,
            service_id=entry.service_id,
            status__in=Booking.ACTIVE_STATUSES,
            starts_at__gte=entry.earliest_at,
            starts_at__lte=entry.latest_at,
        ).values_list("status", flat=True)
    )
    if Booking.Status.CONFIRMED in statuses:
        return Booking.Status.CONFIRMED
    return Booking.Status.HELD if statuses else None
