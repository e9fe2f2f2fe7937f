"""Bookings staff make for a customer who phoned or walked in.

The same path as every booking (`booking_hold`, then `booking_confirm`): the same locks,
the same constraints, the same events. What staff may do on top:

- confirm at once, in the hold's own transaction (nobody can take the place between the
  two), or leave it held for the tenant's hold time while the customer decides;
- book sooner than the minimum notice or further ahead than the horizon, with a reason
  (kept on the booking and in its held event; never in the past, never over capacity).
  Days beyond the materialized grid are materialized first, through the grid's one
  entry point (`slots_materialize_dates`) with an explicit range;
- let a paid service be paid at the venue (`payment_status` `at_venue`), or hold it
  while the customer pays by a link (billing opens the checkout and the customer is
  emailed it, `apps.billing.booking_payments.booking_payment_link_send`);
- not send the confirmation (reminders still go).

The history names the staff member (`actor`), and `source` is `admin` ("Staff").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bookings.actors import ActorRef
from apps.bookings.errors import OutsideBookingWindow
from apps.bookings.models import Actor, Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.grid.services import (
    horizon_last_date,
    materialization_horizon_days,
    slots_materialize_dates,
)
from apps.calendars.timezones import local_date, zone
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.models import Resource, Service

logger = logging.getLogger(__name__)


class StaffPayment(StrEnum):
    """How the customer pays for a paid service booked by staff."""

    AT_VENUE = "at_venue"
    LINK = "link"


def _override_hint() -> str:
    return _("To book outside the booking window, give a reason.")


def booking_create_by_staff(
    *,
    service: Service,
    resource: Resource,
    starts_at: datetime,
    customer: CustomerInput,
    actor: ActorRef,
    confirm: bool = True,
    payment: str = "",
    notify: bool = True,
    override_reason: str = "",
    notes: str = "",
    idempotency_key: str = "",
) -> Booking:
    """A booking made by staff: held, and confirmed in the same transaction when
    `confirm`. A paid service needs `payment`: `at_venue` (confirmed or held, paid on
    the day) or `link` (held until the customer pays; the caller sends the link once
    this has committed). Raises what `booking_hold` raises; OutsideBookingWindow names
    `override_reason` when a reason would let the time through (the window itself is
    `booking_hold`'s to decide: staff pass it only with a reason).

    `confirm` confirms inside the hold's transaction: that hold was never waited on, so
    it stays out of the hold-to-confirm time."""
    errors: list[FieldError] = []
    if actor.type != Actor.STAFF:
        errors.append(FieldError("actor", _("Only staff can book for a customer.")))
    paid = service.is_paid
    if paid and payment not in {choice.value for choice in StaffPayment}:
        errors.append(
            FieldError("payment", _("Choose how the customer pays: at the venue or by a link."))
        )
    elif paid and payment == StaffPayment.LINK and confirm:
        errors.append(
            FieldError(
                "payment",
                _(
                    "A booking paid by link is held until it is paid: hold it, or let the "
                    "customer pay at the venue."
                ),
            )
        )
    if errors:
        raise ValidationFailed(_("The booking is not valid."), errors)

    reason = override_reason.strip()
    now = timezone.now()
    if reason and starts_at > now:
        _grid_beyond_horizon_materialize(resource=resource, service=service, starts_at=starts_at)
    try:
        with transaction.atomic():
            booking = booking_hold(
                service=service,
                resource=resource,
                starts_at=starts_at,
                customer=customer,
                notes=notes,
                source=Booking.Source.ADMIN,
                actor=actor,
                idempotency_key=idempotency_key,
                window_override_reason=reason,
                pay_at_venue=paid and payment == StaffPayment.AT_VENUE,
            )
            if confirm:
                booking = booking_confirm(
                    booking=booking, actor=actor, notify=notify, hold_timed=False
                )
    except OutsideBookingWindow as exc:
        raise _with_override_hint(exc, reason=reason, starts_at=starts_at, now=now) from exc
    logger.info(
        "booking.made_by_staff",
        extra={
            "booking_id": str(booking.pk),
            "status": booking.status,
            "window_overridden": bool(reason),
            "notify": notify,
        },
    )
    return booking


def _with_override_hint(
    error: OutsideBookingWindow, *, reason: str, starts_at: datetime, now: datetime
) -> OutsideBookingWindow:
    """A time a reason could let through says so; a past time cannot be overridden."""
    named = any(detail.field == "override_reason" for detail in error.details)
    if reason or named or starts_at <= now:
        return error
    return OutsideBookingWindow(
        error.message, [*error.details, FieldError("override_reason", _override_hint())]
    )


def _grid_beyond_horizon_materialize(
    *, resource: Resource, service: Service, starts_at: datetime
) -> None:
    """The grid reaches as far as the longest horizon; a day staff book beyond it is
    built first (idempotent, so a second booking that day changes nothing)."""
    if timezone.is_naive(starts_at):
        return
    tz_name = resource.location.timezone
    tz = zone(tz_name)
    first = local_date(starts_at, tz)
    last = local_date(starts_at + timedelta(minutes=service.duration_minutes), tz)
    built_until = horizon_last_date(
        tz_name=tz_name, days=materialization_horizon_days(), now=timezone.now()
    )
    if last <= built_until:
        return
    result = slots_materialize_dates(
        resources=[resource],
        first=max(first, built_until + timedelta(days=1)),
        last=last,
        beyond_horizon="build",
    )
    logger.info(
        "booking.grid_materialized_beyond_horizon",
        extra={
            "resource_id": str(resource.pk),
            "day": first.isoformat(),
            "slots_created": result.created,
        },
    )
