"""Recurring series: one booking repeated every N weeks at the same local time, a number
of times or until a date (at most `MAX_OCCURRENCES`).

Each occurrence is an ordinary Booking (`Booking.series` points at the BookingSeries),
made by the same `booking_hold` → `booking_confirm` as any other, so the locks, the
capacity counters, the exclusion constraint, the events, the notifications and the
reminders are each occurrence's own.

- Dates: `dateutil.rrule` gives the local dates; each one's instant is its wall time in
  the location's zone (`wall_time_instant`), so across a DST change the local time
  stays and the UTC instant moves. A date whose wall time a spring-forward skips is
  listed as a conflict (booking it would move it to another time of day); the first
  date is the instant chosen (on a fall-back night, either reading of the hour).
- Reach: the whole rule is checked before anything is built. The last date lies at
  most `SERIES_CUSTOMER_MAX_DAYS_AHEAD` days ahead (customers); staff go up to
  `SERIES_MAX_DAYS_AHEAD` with a reason (kept with the first date, like a window
  override); further is refused beside `count` / `until`.
- Days beyond the materialized grid are then built through the grid's one entry point
  (`slots_materialize_dates`, one day at a time, `beyond_horizon="build"`); later
  occurrences may lie beyond the booking horizon (the series was let in), never in the
  past or inside the minimum notice.
- All or nothing: every occurrence is tried inside one transaction (each hold has its
  own savepoint already); when any is refused, the transaction is rolled back and
  `SeriesConflicts` lists every refused date with its reason. Nothing is booked.
- Customers on the booking pages hold first (`series_create(confirm=False)`): every
  date an ordinary hold, all kept until the same instant; `series_confirm` confirms
  them all in one transaction or none, and unconfirmed they lapse together.
- Payment. Staff: a paid service's series is paid at the venue (a payment link holds a
  booking until it is paid; up to 52 places held for one checkout window would block
  them and lapse together). Customers: only a service that allows it
  (`Service.customers_may_repeat`) and that is not paid online. One checkout for all
  occurrences would make each occurrence's cancellation refund a share of one charge
  (payments and refunds belong to one booking), and a checkout per occurrence would
  hold up to 52 places until each is paid: neither is sound, so the business books
  paid series itself, at the venue's payment.
- Messages: one confirmation for the series (unless staff chose not to), listing every
  date: the first occurrence's, which `booking_series_confirmed` lets the notifications
  app fill with the dates; the later ones send none (52 emails at once help nobody)
  and each keeps its reminders.
- Cancelling: one occurrence through the existing cancel; "this and the rest"
  (`series_cancel_from`) cancels each active occurrence from that one on, in one
  transaction, each through `booking_cancel` (refunds, webhooks per occurrence); the
  customer gets one cancellation listing the dates (`booking_series_cancelled`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dateutil.rrule import WEEKLY, rrule
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.bookings import signals
from apps.bookings.actors import ActorRef
from apps.bookings.errors import BookingError, OutsideBookingWindow, SlotFull, SlotNotFound
from apps.bookings.models import Actor, Booking, BookingSeries
from apps.bookings.services import (
    CustomerInput,
    booking_cancel,
    booking_confirm,
    booking_hold,
    booking_hold_extend,
)
from apps.calendars.grid.services import (
    horizon_last_date,
    materialization_horizon_days,
    slots_materialize_dates,
)
from apps.calendars.timezones import local_date, wall_time_instant, zone
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.models import Resource, Service

logger = logging.getLogger(__name__)

MAX_OCCURRENCES = 52
MAX_EVERY_WEEKS = 8

# What makes one occurrence a conflict to list; anything else (bad contact details, a
# business not live) is about the whole series and is raised as it is.
_CONFLICTS = (SlotFull, SlotNotFound, OutsideBookingWindow)


@dataclass
class SeriesConflicts(BookingError):
    """Some dates of a series cannot be booked; nothing was. `details` has one entry per
    refused date (field `occurrences`, message "date time: reason")."""

    message: str = gettext_noop("Some dates of the series cannot be booked; nothing was booked.")
    code = "SERIES_CONFLICTS"
    http_status = 409


@dataclass(frozen=True)
class RepeatRule:
    """Every `every_weeks` weeks, `count` times or until `until` (a local date)."""

    every_weeks: int
    count: int | None = None
    until: dt.date | None = None


def repeat_rule_clean(
    *, every_weeks: object, count: object, until: object, first_day: dt.date
) -> RepeatRule:
    """A rule from typed values, or ValidationFailed naming each bad field (`every_weeks`,
    `count`, `until`): a rule must end (a count or an end date, not both) and give at
    most MAX_OCCURRENCES occurrences."""
    errors: list[FieldError] = []
    weeks = _whole(every_weeks)
    if weeks is None or not 1 <= weeks <= MAX_EVERY_WEEKS:
        errors.append(
            FieldError(
                "every_weeks",
                _("Repeat every 1 to %(most)s weeks.") % {"most": MAX_EVERY_WEEKS},
            )
        )
    times: int | None = None
    end: dt.date | None = None
    has_count = count not in (None, "")
    has_until = until not in (None, "")
    if has_count and has_until:
        errors.append(FieldError("until", _("Give a number of times or an end date, not both.")))
    elif not has_count and not has_until:
        errors.append(
            FieldError(
                "count",
                _("A series must end: give a number of times or an end date."),
            )
        )
    elif has_count:
        times = _whole(count)
        if times is None or not 2 <= times <= MAX_OCCURRENCES:
            errors.append(
                FieldError(
                    "count",
                    _("Repeat 2 to %(most)s times in all.") % {"most": MAX_OCCURRENCES},
                )
            )
    else:
        end = until if isinstance(until, dt.date) else _date(until)
        if end is None:
            errors.append(FieldError("until", _("Give the end date as YYYY-MM-DD.")))
        elif end <= first_day:
            errors.append(FieldError("until", _("The end date must be after the first date.")))
    if errors:
        raise ValidationFailed(_("The repeat rule is not valid."), errors)
    assert weeks is not None
    rule = RepeatRule(every_weeks=weeks, count=times, until=end)
    if end is not None:
        found = len(_local_dates(first_day=first_day, rule=rule, limit=MAX_OCCURRENCES + 1))
        if found > MAX_OCCURRENCES:
            raise ValidationFailed(
                _("The repeat rule is not valid."),
                [
                    FieldError(
                        "until",
                        _("That end date gives more than %(most)s dates: choose an earlier one.")
                        % {"most": MAX_OCCURRENCES},
                    )
                ],
            )
        if found < 2:
            raise ValidationFailed(
                _("The repeat rule is not valid."),
                [FieldError("until", _("That end date leaves no second date."))],
            )
    return rule


def series_starts(
    *, first_starts_at: dt.datetime, tz_name: str, rule: RepeatRule
) -> list[dt.datetime]:
    """The UTC instant of each occurrence: the first one's wall time in `tz_name` on
    each date of the rule (so the local time stays across a DST change and the instant
    moves). The first is `first_starts_at` itself: on a fall-back night its wall time
    happens twice and the one chosen is kept. A later wall time a spring-forward skips
    is read with the offset before the jump, as everywhere (`wall_time_instant`), which
    is another wall time: `series_create` lists that date as a conflict."""
    tz = zone(tz_name)
    local = first_starts_at.astimezone(tz)
    minute = local.hour * 60 + local.minute
    days = _local_dates(first_day=local.date(), rule=rule, limit=MAX_OCCURRENCES)
    return [first_starts_at.astimezone(dt.UTC)] + [
        wall_time_instant(day, minute, tz) for day in days[1:]
    ]


def series_offered_to_customers(service: Service) -> bool:
    """Whether the booking pages offer `service` as a series."""
    return service.customers_may_repeat and not service.is_paid


def series_create(
    *,
    service: Service,
    resource: Resource,
    first_starts_at: dt.datetime,
    rule: RepeatRule,
    customer: CustomerInput,
    actor: ActorRef,
    source: str = Booking.Source.PAGE,
    payment: str = "",
    notify: bool = True,
    override_reason: str = "",
    notes: str = "",
    answers: Mapping[str, Any] | None = None,
    language: str = "",
    confirm: bool = True,
) -> BookingSeries:
    """Books every occurrence, confirmed, in one transaction, or none: raises
    SeriesConflicts listing each refused date, or what `booking_hold` raises for the
    series as a whole (ValidationFailed, BusinessNotLive…).

    `confirm=False` (the booking pages) holds every date instead, each an ordinary hold,
    all until the same instant (the latest hold's end), so they lapse together unless
    `series_confirm` confirms them all.

    Staff (`actor` staff, `source` admin) book a paid service with `payment`
    "at_venue", and may book the first date outside the window with `override_reason`
    as for a single booking. Customers book only a service that allows it. `answers`
    (the service's intake questions) are given once and kept with every occurrence, as
    is `language` (the messages' language, as for `booking_hold`)."""
    _require_allowed(
        service=service,
        actor=actor,
        payment=payment,
        first_starts_at=first_starts_at,
        override_reason=override_reason,
    )
    tz_name = resource.location.timezone
    starts = series_starts(first_starts_at=first_starts_at, tz_name=tz_name, rule=rule)
    staff = actor.type == Actor.STAFF
    reason = override_reason.strip() if staff else ""
    # The whole rule is checked before a single day past the grid is built.
    _require_within_reach(
        last_starts_at=starts[-1], tz_name=tz_name, rule=rule, staff=staff, reason=reason
    )
    _grid_materialize(resource=resource, service=service, starts=starts)
    local_first = first_starts_at.astimezone(zone(tz_name))
    conflicts: list[FieldError] = []
    with transaction.atomic():
        bookings: list[Booking] = []
        for index, starts_at in enumerate(starts):
            if _wall_minute(starts_at, tz_name) != _wall_minute(first_starts_at, tz_name):
                # The clocks skip this date's wall time: booking the instant would move
                # it to another time of day, so the date is refused like a taken one.
                conflicts.append(
                    _clocks_change_conflict(starts_at=starts_at, first=local_first, tz_name=tz_name)
                )
                continue
            try:
                booking = booking_hold(
                    service=service,
                    resource=resource,
                    starts_at=starts_at,
                    customer=customer,
                    notes=notes,
                    answers=answers,
                    source=source,
                    actor=actor,
                    # The first date is let in like a single booking; the rest follow it.
                    window_override_reason=reason if index == 0 else "",
                    pay_at_venue=staff and service.is_paid,
                    series_occurrence=index > 0,
                    language=language,
                )
                if confirm:
                    booking = booking_confirm(
                        booking=booking,
                        actor=actor,
                        notify=notify and index == 0,
                        hold_timed=False,
                    )
            except _CONFLICTS as error:
                conflicts.append(_conflict(starts_at=starts_at, tz_name=tz_name, error=error))
                continue
            bookings.append(booking)
        if conflicts:
            # Everything tried above rolls back with this transaction.
            raise SeriesConflicts(
                _("%(count)s of the %(total)s dates cannot be booked; nothing was booked.")
                % {"count": len(conflicts), "total": len(starts)},
                conflicts,
            )
        if not confirm:
            bookings = _holds_align(bookings)
        series = BookingSeries.objects.create(
            service=service,
            resource=resource,
            customer=bookings[0].customer,
            every_weeks=rule.every_weeks,
            count=rule.count,
            until=rule.until,
            first_date=local_first.date(),
            local_time=local_first.time().replace(second=0, microsecond=0, tzinfo=None),
            timezone=tz_name,
            created_by_type=actor.type,
            created_by_id=actor.id,
        )
        Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(series=series)
        for booking in bookings:
            booking.series = series
        if confirm:
            # The first date's confirmation (planned above) becomes the series' one message.
            signals.booking_series_confirmed.send(
                sender=BookingSeries, series=series, bookings=bookings, actor=actor, notify=notify
            )
    logger.info(
        "booking_series.created",
        extra={"series_id": str(series.pk), "occurrences": len(bookings), "actor": actor.type},
    )
    return series


def _series_required(booking: Booking) -> None:
    if booking.series_id is None:
        raise ValidationFailed(
            _("This booking is not part of a series."),
            [FieldError("series", _("This booking is not part of a series."))],
        )


def series_confirm(*, booking: Booking, actor: ActorRef) -> list[Booking]:
    """Confirms every held date of `booking`'s series in one transaction, or none: a date
    whose hold lapsed raises HoldExpired, one no longer held InvalidTransition, and
    nothing is confirmed (the holds lapse together at their common end). The customer
    gets one confirmation listing every date. Confirming a confirmed series changes
    nothing. Returns the occurrences, earliest first."""
    _series_required(booking)
    with transaction.atomic():
        occurrences = list(
            Booking.objects.filter(series_id=booking.series_id).order_by("starts_at", "pk")
        )
        if all(o.status == Booking.Status.CONFIRMED for o in occurrences):
            return occurrences
        confirmed = [
            booking_confirm(booking=occurrence, actor=actor, notify=index == 0)
            for index, occurrence in enumerate(occurrences)
        ]
        signals.booking_series_confirmed.send(
            sender=BookingSeries,
            series=confirmed[0].series,
            bookings=confirmed,
            actor=actor,
            notify=True,
        )
    logger.info(
        "booking_series.confirmed",
        extra={"series_id": str(booking.series_id), "occurrences": len(confirmed)},
    )
    return confirmed


def booking_or_series_confirm(*, booking: Booking, actor: ActorRef) -> Booking:
    """What every "confirm this booking" calls (the API's customer and staff confirm):
    a held date of a series is confirmed with every date of it (`series_confirm`: all
    or none, one confirmation), so no date is confirmed alone while the rest lapse; any
    other booking as `booking_confirm` does. Returns `booking` as it now is."""
    if booking.series_id is None or booking.status != Booking.Status.HELD:
        return booking_confirm(booking=booking, actor=actor)
    confirmed = series_confirm(booking=booking, actor=actor)
    return next(occurrence for occurrence in confirmed if occurrence.pk == booking.pk)


def series_cancel_from(
    *, booking: Booking, actor: ActorRef, reason: str = "", override_window: bool = False
) -> list[Booking]:
    """Cancels `booking` and every later active occurrence of its series in one
    transaction, each through `booking_cancel` (so each is refunded, announced and
    notified as a single cancellation would be). A refusal of any (too late to cancel)
    cancels none. Returns the cancelled occurrences, earliest first."""
    _series_required(booking)
    with transaction.atomic():
        occurrences = list(
            Booking.objects.filter(
                series_id=booking.series_id,
                starts_at__gte=booking.starts_at,
                status__in=Booking.ACTIVE_STATUSES,
            ).order_by("starts_at", "pk")
        )
        cancelled = [
            booking_cancel(
                booking=occurrence, actor=actor, reason=reason, override_window=override_window
            )
            for occurrence in occurrences
        ]
        # Each date planned its own cancellation notice: the customer gets one listing all.
        signals.booking_series_cancelled.send(
            sender=BookingSeries, bookings=cancelled, actor=actor, reason=reason
        )
    logger.info(
        "booking_series.cancelled_from",
        extra={"series_id": str(booking.series_id), "cancelled": len(cancelled)},
    )
    return cancelled


# --- Internals -------------------------------------------------------------------------


def _require_allowed(
    *,
    service: Service,
    actor: ActorRef,
    payment: str,
    first_starts_at: dt.datetime,
    override_reason: str,
) -> None:
    errors: list[FieldError] = []
    if timezone.is_naive(first_starts_at):
        errors.append(FieldError("start", _("Give the time with its UTC offset.")))
    if override_reason.strip() and actor.type != Actor.STAFF:
        # Refused as for one booking (not dropped): a key or a customer reaching past
        # the bound learns the reason is not theirs to give.
        errors.append(
            FieldError("override_reason", _("Only staff can book outside the booking window."))
        )
    if actor.type == Actor.STAFF:
        if service.is_paid and payment != "at_venue":
            errors.append(
                FieldError(
                    "payment",
                    _(
                        "A series of a paid service is paid at the venue: a payment link "
                        "covers one booking."
                    ),
                )
            )
    elif not service.customers_may_repeat:
        errors.append(FieldError("repeat", _("This service cannot be booked as a series.")))
    elif service.is_paid:
        errors.append(
            FieldError(
                "repeat",
                _("A series of a service paid online is booked by the business: ask them."),
            )
        )
    if errors:
        raise ValidationFailed(_("The series cannot be booked."), errors)


def _holds_align(bookings: list[Booking]) -> list[Booking]:
    """Every hold of a series kept until the latest one's end, so none lapses first."""
    until = max(b.hold_expires_at for b in bookings if b.hold_expires_at is not None)
    return [
        booking_hold_extend(booking=b, until=until)
        if b.hold_expires_at is not None and b.hold_expires_at < until
        else b
        for b in bookings
    ]


def _require_within_reach(
    *, last_starts_at: dt.datetime, tz_name: str, rule: RepeatRule, staff: bool, reason: str
) -> None:
    """The last date lies at most SERIES_CUSTOMER_MAX_DAYS_AHEAD days from today, both
    in the location's zone; staff may go up to SERIES_MAX_DAYS_AHEAD giving a reason.
    The error sits beside the field that made the rule this long (`count` or `until`)."""
    field = "count" if rule.count is not None else "until"
    tz = zone(tz_name)
    today = local_date(timezone.now(), tz)
    last = local_date(last_starts_at, tz)
    ahead = (last - today).days
    customer_days = int(settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD)
    most_days = max(int(settings.SERIES_MAX_DAYS_AHEAD), customer_days)
    if ahead <= customer_days:
        return
    named = {"last": last.isoformat(), "days": customer_days}
    if not staff:
        raise ValidationFailed(
            _("The series reaches too far ahead."),
            [
                FieldError(
                    field,
                    _(
                        "The last date (%(last)s) is more than %(days)s days ahead: choose "
                        "fewer dates or an earlier end date."
                    )
                    % named,
                )
            ],
        )
    if ahead > most_days:
        raise ValidationFailed(
            _("The series reaches too far ahead."),
            [
                FieldError(
                    field,
                    _(
                        "The last date (%(last)s) is more than %(days)s days ahead, further "
                        "than any series may reach: choose fewer dates or an earlier end date."
                    )
                    % {"last": last.isoformat(), "days": most_days},
                )
            ],
        )
    if not reason:
        raise ValidationFailed(
            _("The series reaches too far ahead."),
            [
                FieldError(
                    field,
                    _(
                        "The last date (%(last)s) is more than %(days)s days ahead: give a "
                        "reason to book that far, or choose fewer dates."
                    )
                    % named,
                ),
                FieldError(
                    "override_reason",
                    _("Give a reason to book a series more than %(days)s days ahead.")
                    % {"days": customer_days},
                ),
            ],
        )


def _local_dates(*, first_day: dt.date, rule: RepeatRule, limit: int) -> list[dt.date]:
    start = dt.datetime.combine(first_day, dt.time())
    until = dt.datetime.combine(rule.until, dt.time()) if rule.until is not None else None
    dates = rrule(WEEKLY, interval=rule.every_weeks, dtstart=start, count=rule.count, until=until)
    found: list[dt.date] = []
    for occurrence in dates:
        if len(found) == limit:
            break
        found.append(occurrence.date())
    return found


def _grid_materialize(*, resource: Resource, service: Service, starts: list[dt.datetime]) -> None:
    """Days past the materialized grid are built first, one day each (only the days the
    series needs, not the weeks between)."""
    tz_name = resource.location.timezone
    tz = zone(tz_name)
    built_until = horizon_last_date(
        tz_name=tz_name, days=materialization_horizon_days(), now=timezone.now()
    )
    duration = dt.timedelta(minutes=service.duration_minutes)
    created = 0
    for starts_at in starts:
        first = local_date(starts_at, tz)
        last = local_date(starts_at + duration, tz)
        if last <= built_until:
            continue
        result = slots_materialize_dates(
            resources=[resource],
            first=max(first, built_until + dt.timedelta(days=1)),
            last=last,
            beyond_horizon="build",
        )
        created += result.created
    if created:
        logger.info(
            "booking_series.grid_materialized_beyond_horizon",
            extra={"resource_id": str(resource.pk), "slots_created": created},
        )


def _conflict(*, starts_at: dt.datetime, tz_name: str, error: BookingError) -> FieldError:
    local = starts_at.astimezone(zone(tz_name))
    # A refusal's own message may be an English msgid (SlotFull's): translated here.
    reason = _(error.details[0].message if error.details else error.message)
    return FieldError(
        "occurrences",
        _("%(when)s: %(reason)s") % {"when": local.strftime("%Y-%m-%d %H:%M"), "reason": reason},
    )


def _wall_minute(instant: dt.datetime, tz_name: str) -> tuple[int, int]:
    local = instant.astimezone(zone(tz_name))
    return local.hour, local.minute


def _clocks_change_conflict(
    *, starts_at: dt.datetime, first: dt.datetime, tz_name: str
) -> FieldError:
    day = local_date(starts_at, zone(tz_name))
    return FieldError(
        "occurrences",
        _("%(when)s: %(reason)s")
        % {
            "when": f"{day.isoformat()} {first.strftime('%H:%M')}",
            "reason": _("The clocks change that night: this time does not exist that day."),
        },
    )


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # Decimal digits only: str.isdigit() also accepts "²", which int() refuses.
        if text.isdecimal() and len(text) <= 6:
            return int(text)
    return None


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
