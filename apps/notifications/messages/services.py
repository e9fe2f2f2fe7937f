"""Writes of customer messages: the outbox rows planned for booking events, reminder
(re-)planning, retry and resend.

The `notifications_plan_*` services run inside the booking's transaction (they are
called by the receivers of the booking domain events), so the rows they write commit or
roll back with the booking change: that is the outbox.

Reminder times are elapsed time: "24 hours before" is exactly 24 * 3600 s before the
start instant, computed in UTC. Across a DST change that is not the same wall-clock time
the day before (a 10:00 appointment on the Sunday clocks go forward is reminded at 09:00
local time on Saturday). We chose elapsed time because the offset is a promise about how
much notice the customer gets, and it is what every offset-based scheduler computes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import Tenant
from apps.bookings.models import Booking, BookingEvent
from apps.bookings.payments import payment_refunds_made
from apps.notifications.messages.errors import NotificationNotRetryable
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.messages.recipients import booking_has_email, booking_has_phone
from apps.notifications.messages.relevance import notification_obsolete_reason
from apps.notifications.messages.selectors import (
    notification_get,
    reminder_offsets_clean,
    tenant_reminder_offsets,
)
from apps.notifications.models import Notification, NotificationPreference
from apps.notifications.outbox import outbox_enqueue_on_commit
from apps.notifications.selectors import notification_preference_get

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Channel = Notification.Channel
Status = Notification.Status

# Kinds that also go out as a text message when the customer gave a phone number.
SMS_KINDS = frozenset(
    {
        Kind.CONFIRMED,
        Kind.RESCHEDULED,
        Kind.CANCELLED,
        Kind.REMINDER,
        Kind.REVIEW_REQUEST,
        Kind.WAITLIST_OFFER,
    }
)

# Reasons a cancelled reminder may be brought back by a later (re-)planning of the same
# booking version: the row was cancelled by planning, not by the booking's fate.
REVIVABLE_REASONS = ("offsets_changed", "rescheduled", "past_due")


def _channels(*, booking: Booking, kind: str, preference: NotificationPreference) -> list[str]:
    channels: list[str] = []
    if booking_has_email(booking):
        channels.append(Channel.EMAIL)
    if kind in SMS_KINDS and preference.sms_enabled and booking_has_phone(booking):
        channels.append(Channel.SMS)
    return channels


def _immediate_rows(
    *,
    booking: Booking,
    kind: str,
    channels: Iterable[str],
    now: datetime,
    details: dict[str, Any] | None = None,
) -> list[Notification]:
    return [
        Notification(
            booking=booking,
            kind=kind,
            channel=channel,
            offset_minutes=0,
            booking_sequence=booking.sequence,
            scheduled_for=now,
            next_attempt_at=now,
            details=details or {},
            # Sent on commit (below); the dispatcher leaves it alone unless that is lost.
            dispatched_at=now,
        )
        for channel in channels
    ]


def _reminder_rows(
    *, booking: Booking, offsets: Sequence[int], channels: Iterable[str], now: datetime
) -> list[Notification]:
    rows = []
    for offset in offsets:
        due = booking.starts_at - timedelta(minutes=offset)
        past = due <= now
        for channel in channels:
            rows.append(
                Notification(
                    booking=booking,
                    kind=Kind.REMINDER,
                    channel=channel,
                    offset_minutes=offset,
                    booking_sequence=booking.sequence,
                    scheduled_for=due,
                    next_attempt_at=due,
                    # Its time has passed already: skipped, never sent late.
                    status=Status.CANCELLED if past else Status.PENDING,
                    status_reason="past_due" if past else "",
                )
            )
    return rows


_UPSERT_CHUNK = 500


def _notifications_write(rows: Sequence[Notification], *, now: datetime) -> list[tuple[Any, str]]:
    """INSERT the planned rows; a row that already exists for the same booking version
    is left alone (each message at most once), except a reminder that planning itself
    cancelled, which is brought back with its new time. Returns (id, status) of the rows
    inserted or brought back."""
    if not rows:
        return []
    fields = list(Notification._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(Notification._meta.db_table)
    written: list[tuple[Any, str]] = []
    for start in range(0, len(rows), _UPSERT_CHUNK):
        chunk = rows[start : start + _UPSERT_CHUNK]
        params: list[Any] = []
        for row in chunk:
            row.created_at = row.updated_at = now
            params.extend(f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields)
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(chunk))
        sql = f"""
            INSERT INTO {table} ({columns}) VALUES {placeholders}
            ON CONFLICT (booking_id, kind, channel, offset_minutes, booking_sequence)
            DO UPDATE SET
                scheduled_for = EXCLUDED.scheduled_for,
                next_attempt_at = EXCLUDED.next_attempt_at,
                status = EXCLUDED.status,
                status_reason = EXCLUDED.status_reason,
                attempts = 0,
                last_error = '',
                dispatched_at = NULL,
                updated_at = EXCLUDED.updated_at
            WHERE {table}.kind = 'reminder'
              AND {table}.status = 'cancelled'
              AND {table}.status_reason = ANY(%s)
            RETURNING id, status
        """  # noqa: S608 - table and column names come from the model, values are bound
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, list(REVIVABLE_REASONS)])
            written.extend(cursor.fetchall())
    return written


def _plan(rows: list[Notification], *, now: datetime) -> list[Any]:
    written = _notifications_write(rows, now=now)
    due_now = {row.id for row in rows if row.scheduled_for <= now}
    immediate = [nid for nid, status in written if status == Status.PENDING and nid in due_now]
    # Sent as soon as the booking commits; the dispatcher catches up if the broker is
    # out of reach (after NOTIFICATION_REDISPATCH_SECONDS).
    outbox_enqueue_on_commit(MESSAGE_OUTBOX, immediate)
    return [nid for nid, _ in written]


def _cancel_pending(
    *, booking: Booking, reason: str, kinds: Iterable[str] | None = None, now: datetime
) -> int:
    pending = Notification.objects.filter(booking=booking, status=Status.PENDING)
    if kinds is not None:
        pending = pending.filter(kind__in=list(kinds))
    return pending.update(status=Status.CANCELLED, status_reason=reason, updated_at=now)


def notifications_plan_confirmed(
    *, booking: Booking, confirmation: bool = True, now: datetime | None = None
) -> list[Any]:
    """Confirmation now, reminders at the tenant's offsets. Without `confirmation`
    (staff chose not to send one) the confirmation is recorded as not sent (cancelled,
    `not_requested`, so the booking's messages say so) and the reminders still go."""
    now = now or timezone.now()
    if booking.status != Booking.Status.CONFIRMED or booking.ends_at <= now:
        return []
    preference = notification_preference_get()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.CONFIRMED,
        channels=_channels(booking=booking, kind=Kind.CONFIRMED, preference=preference),
        now=now,
    )
    if not confirmation:
        for row in rows:
            row.status, row.status_reason = Status.CANCELLED, "not_requested"
    rows += _reminder_rows(
        booking=booking,
        offsets=tenant_reminder_offsets(),
        channels=_channels(booking=booking, kind=Kind.REMINDER, preference=preference),
        now=now,
    )
    return _plan(rows, now=now)


def notifications_plan_rescheduled(
    *, booking: Booking, previous_starts_at: datetime | None, now: datetime | None = None
) -> list[Any]:
    """Reminders of the old time are revoked; a notice of the move and the new time's
    reminders are planned (for a confirmed booking; a hold is told when confirmed)."""
    now = now or timezone.now()
    _cancel_pending(
        booking=booking, reason="rescheduled", kinds=[Kind.REMINDER, Kind.RESCHEDULED], now=now
    )
    if booking.status != Booking.Status.CONFIRMED or booking.ends_at <= now:
        return []
    preference = notification_preference_get()
    details = {"previous_starts_at": previous_starts_at.isoformat()} if previous_starts_at else {}
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.RESCHEDULED,
        channels=_channels(booking=booking, kind=Kind.RESCHEDULED, preference=preference),
        now=now,
        details=details,
    )
    rows += _reminder_rows(
        booking=booking,
        offsets=tenant_reminder_offsets(),
        channels=_channels(booking=booking, kind=Kind.REMINDER, preference=preference),
        now=now,
    )
    return _plan(rows, now=now)


def _customer_was_told(booking: Booking) -> bool:
    told = (
        Notification.objects.filter(booking=booking, kind=Kind.CONFIRMED)
        .exclude(status=Status.CANCELLED)
        .exists()
    )
    return told or booking.events.filter(kind=BookingEvent.Kind.CONFIRMED).exists()


def notifications_plan_cancelled(
    *, booking: Booking, reason: str = "", now: datetime | None = None
) -> list[Any]:
    """Everything still pending is revoked; a customer who had been told the booking was
    confirmed is told it is cancelled (an abandoned hold gets no message)."""
    now = now or timezone.now()
    _cancel_pending(booking=booking, reason="booking_cancelled", now=now)
    if booking.ends_at <= now or not _customer_was_told(booking):
        return []
    preference = notification_preference_get()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.CANCELLED,
        channels=_channels(booking=booking, kind=Kind.CANCELLED, preference=preference),
        now=now,
    )
    return _plan(rows, now=now)


SERIES_STARTS = Notification.SERIES_STARTS


def notifications_plan_series_confirmed(*, bookings: Sequence[Booking]) -> int:
    """A series is booked: the first date's confirmation, planned by its own
    `booking_confirmed` in this same transaction, becomes the series' one confirmation,
    listing every date (the later dates plan no confirmation). Returns the rows changed."""
    if len(bookings) < 2:
        return 0
    first = bookings[0]
    starts = [booking.starts_at.isoformat() for booking in bookings]
    rows = list(
        Notification.objects.select_for_update().filter(
            booking=first, kind=Kind.CONFIRMED, booking_sequence=first.sequence
        )
    )
    for row in rows:
        row.details = {**row.details, SERIES_STARTS: starts}
        row.save(update_fields=["details", "updated_at"])
    return len(rows)


def notifications_plan_series_cancelled(
    *, bookings: Sequence[Booking], now: datetime | None = None
) -> int:
    """A series is cancelled from one date on: each date planned its own cancellation
    notice in this same transaction (none has gone out: the worker sees them on
    commit). On each channel the earliest date's notice stays and lists every date
    that had one; the others are cancelled (`series_notice`), so the customer gets one
    message. Returns the notices folded away."""
    now = now or timezone.now()
    sequences = {booking.pk: booking.sequence for booking in bookings}
    starts = {booking.pk: booking.starts_at for booking in bookings}
    rows = [
        row
        for row in Notification.objects.select_for_update().filter(
            booking_id__in=list(sequences), kind=Kind.CANCELLED, status=Status.PENDING
        )
        if row.booking_sequence == sequences[row.booking_id]
    ]
    folded = 0
    for channel in {row.channel for row in rows}:
        notices = sorted(
            (row for row in rows if row.channel == channel),
            key=lambda row: (starts[row.booking_id], str(row.booking_id)),
        )
        if len(notices) < 2:
            continue
        kept, rest = notices[0], notices[1:]
        kept.details = {
            **kept.details,
            SERIES_STARTS: [starts[row.booking_id].isoformat() for row in notices],
        }
        kept.save(update_fields=["details", "updated_at"])
        folded += Notification.objects.filter(pk__in=[row.pk for row in rest]).update(
            status=Status.CANCELLED, status_reason="series_notice", updated_at=now
        )
    return folded


def notifications_plan_refunded(
    *,
    booking: Booking,
    amount: Decimal | None = None,
    currency: str = "",
    now: datetime | None = None,
) -> list[Any]:
    """The customer is told money was given back (by email), once per refund: a booking
    refunded twice (a second payment given back, then a cancellation) gets two notices,
    each saying its own `amount`. Called when the refund has been recorded."""
    now = now or timezone.now()
    preference = notification_preference_get()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.REFUNDED,
        channels=[
            channel
            for channel in _channels(booking=booking, kind=Kind.REFUNDED, preference=preference)
            if channel == Channel.EMAIL
        ],
        now=now,
        details={"amount": str(amount), "currency": currency} if amount is not None else None,
    )
    # The refund's number for the booking (0 for the first) stands where a reminder has
    # its offset, so the one-message-per-version rule keeps each refund's notice apart.
    # Refunds of one booking are recorded one at a time (each updates the booking row).
    number = max(0, payment_refunds_made(booking) - 1)
    for row in rows:
        row.offset_minutes = number
    return _plan(rows, now=now)


def notifications_plan_payment_link(
    *, booking: Booking, url: str, now: datetime | None = None
) -> list[Any]:
    """Staff sent the customer a link to pay a held booking (by email). Each link is its
    own message: the number of links sent before stands where a reminder has its
    offset, so a second link (the first checkout ran out) is not taken for the first."""
    now = now or timezone.now()
    if booking.status != Booking.Status.HELD or not booking_has_email(booking):
        return []
    sent_before = Notification.objects.filter(
        booking=booking, kind=Kind.PAYMENT_LINK, channel=Channel.EMAIL
    ).count()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.PAYMENT_LINK,
        channels=[Channel.EMAIL],
        now=now,
        details={"url": url},
    )
    for row in rows:
        row.offset_minutes = sent_before
    return _plan(rows, now=now)


def notifications_plan_review_request(
    *, booking: Booking, url: str, now: datetime | None = None
) -> list[Any]:
    """A completed booking's customer is asked for a review, by email (and a text when
    the business sends texts), once per booking: `url` is the signed review link
    (made by apps/reviews, which owns what it opens)."""
    now = now or timezone.now()
    if booking.status != Booking.Status.COMPLETED:
        return []
    preference = notification_preference_get()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.REVIEW_REQUEST,
        channels=_channels(booking=booking, kind=Kind.REVIEW_REQUEST, preference=preference),
        now=now,
        details={"url": url},
    )
    return _plan(rows, now=now)


def notifications_plan_waitlist_offer(
    *, booking: Booking, url: str, now: datetime | None = None
) -> list[Any]:
    """A freed place is held for someone on the waitlist (apps/waitlist): an email, and
    a text when the business sends texts, with the offer's one-click link (`url`)."""
    now = now or timezone.now()
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.WAITLIST_OFFER,
        channels=_channels(
            booking=booking, kind=Kind.WAITLIST_OFFER, preference=notification_preference_get()
        ),
        now=now,
        details={"url": url},
    )
    return _plan(rows, now=now)


def notifications_plan_hold_expired(*, booking: Booking, now: datetime | None = None) -> list[Any]:
    """Only for tenants that opted in (NotificationPreference.notify_hold_expired)."""
    now = now or timezone.now()
    _cancel_pending(booking=booking, reason="booking_expired", now=now)
    preference = notification_preference_get()
    if not preference.notify_hold_expired or booking.starts_at <= now:
        return []
    details: dict[str, Any] = {}
    if booking.series_id is not None:
        if Booking.objects.filter(
            series_id=booking.series_id, starts_at__lt=booking.starts_at
        ).exists():
            # A held series lapses together: its first date's notice speaks for it.
            return []
        # ... and lists every date let go with it (all held until the same instant).
        lapsing = Booking.objects.filter(
            series_id=booking.series_id,
            status__in=[Booking.Status.HELD, Booking.Status.EXPIRED],
        ).order_by("starts_at", "pk")
        starts = [start.isoformat() for start in lapsing.values_list("starts_at", flat=True)]
        if len(starts) > 1:
            details[SERIES_STARTS] = starts
    rows = _immediate_rows(
        booking=booking,
        kind=Kind.HOLD_EXPIRED,
        channels=_channels(booking=booking, kind=Kind.HOLD_EXPIRED, preference=preference),
        now=now,
        details=details,
    )
    return _plan(rows, now=now)


def notifications_revoke_pending(
    *, booking: Booking, reason: str, now: datetime | None = None
) -> int:
    """A booking that ended its life (completed, no-show) needs no more reminders."""
    return _cancel_pending(booking=booking, reason=reason, now=now or timezone.now())


@dataclass(frozen=True)
class ReplanResult:
    bookings: int
    cancelled: int
    planned: int


def reminders_replan_for_tenant(
    *, tenant: Tenant, now: datetime | None = None, batch_size: int = 500
) -> ReplanResult:
    """After the tenant's reminder offsets changed: for every confirmed booking still to
    come, revoke pending reminders at offsets no longer wanted and plan the new ones
    (past-due ones are recorded as skipped). Reminders already sent stay sent.

    Runs in the tenant's schema. Each batch locks its bookings (in id order), so a
    reschedule or cancellation running meanwhile waits and then sees our rows, and we
    always plan against the booking's current time and sequence."""
    now = now or timezone.now()
    offsets = reminder_offsets_clean(list(tenant.reminder_offsets_minutes or []))
    preference = notification_preference_get()
    future = Booking.objects.filter(status=Booking.Status.CONFIRMED, starts_at__gt=now)
    total_bookings = cancelled = planned = 0
    last_id = None
    while True:
        with transaction.atomic():
            batch_query = future.order_by("id")
            if last_id is not None:
                batch_query = batch_query.filter(id__gt=last_id)
            batch = list(
                batch_query.select_related("customer").select_for_update(of=("self",))[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1].id
            stale = Notification.objects.filter(
                booking__in=batch, kind=Kind.REMINDER, status=Status.PENDING
            ).exclude(offset_minutes__in=offsets)
            cancelled += stale.update(
                status=Status.CANCELLED, status_reason="offsets_changed", updated_at=now
            )
            rows: list[Notification] = []
            for booking in batch:
                rows += _reminder_rows(
                    booking=booking,
                    offsets=offsets,
                    channels=_channels(booking=booking, kind=Kind.REMINDER, preference=preference),
                    now=now,
                )
            written = _notifications_write(rows, now=now)
            planned += sum(1 for _, status in written if status == Status.PENDING)
            total_bookings += len(batch)
    logger.info(
        "notifications.reminders_replanned",
        extra={"bookings": total_bookings, "cancelled": cancelled, "planned": planned},
    )
    return ReplanResult(bookings=total_bookings, cancelled=cancelled, planned=planned)


def _requeue(notification: Notification, *, now: datetime, **changes: Any) -> Notification:
    notification.status = Status.PENDING
    notification.status_reason = ""
    notification.attempts = 0
    notification.last_error = ""
    notification.next_attempt_at = now
    notification.dispatched_at = now
    notification.lease_expires_at = None
    for name, value in changes.items():
        setattr(notification, name, value)
    notification.save(
        update_fields=[
            "status",
            "status_reason",
            "attempts",
            "last_error",
            "next_attempt_at",
            "dispatched_at",
            "lease_expires_at",
            "updated_at",
            *changes,
        ]
    )
    outbox_enqueue_on_commit(MESSAGE_OUTBOX, [notification.id])
    return notification


def _locked(notification_id: Any) -> Notification:
    notification_get(notification_id=notification_id)  # NotificationNotFound
    return (
        Notification.objects.select_for_update().select_related("booking").get(pk=notification_id)
    )


def notification_retry(*, notification_id: Any, now: datetime | None = None) -> Notification:
    """A failed message gets a fresh round of attempts, starting now."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = _locked(notification_id)
        if notification.status != Status.FAILED:
            raise NotificationNotRetryable(gettext("Only a failed notification can be retried."))
        reason = notification_obsolete_reason(
            notification=notification, booking=notification.booking, now=now
        )
        if reason:
            raise NotificationNotRetryable(
                f"This message no longer applies to the booking ({reason.replace('_', ' ')})."
            )
        return _requeue(notification, now=now)


def notification_resend(*, notification_id: Any, now: datetime | None = None) -> Notification:
    """Staff send a message again: a failed one is retried; a sent one goes out once
    more as a new message (new Message-ID)."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = _locked(notification_id)
        if notification.status == Status.FAILED:
            return notification_retry(notification_id=notification_id, now=now)
        if notification.status != Status.SENT:
            raise NotificationNotRetryable(
                gettext("Only a sent or failed notification can be resent.")
            )
        reason = notification_obsolete_reason(
            notification=notification, booking=notification.booking, now=now
        )
        if reason:
            raise NotificationNotRetryable(
                f"This message no longer applies to the booking ({reason.replace('_', ' ')})."
            )
        return _requeue(
            notification,
            now=now,
            resend_count=notification.resend_count + 1,
            sent_at=None,
            provider_message_id="",
        )
