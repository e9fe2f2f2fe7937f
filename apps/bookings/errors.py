"""Booking errors. Stable `code`s are part of the API contract; edges translate them by
code (API envelope, form errors), never by parsing messages.

Every class has a default message so services can `raise SlotFull()`; pass a message
(and `details`) when the caller deserves something more precise. Messages never carry
personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from apps.core.errors import DomainError, FieldError, ValidationFailed

__all__ = [
    "BookingError",
    "BookingLinkExpired",
    "BusinessNotLive",
    "FieldError",
    "HoldExpired",
    "IdempotencyKeyReused",
    "InvalidTransition",
    "OutsideBookingWindow",
    "SlotFull",
    "SlotNotFound",
    "TooLateToCancel",
    "ValidationFailed",
]


@dataclass
class BookingError(DomainError):
    message: str = gettext_noop("The booking could not be changed.")


@dataclass
class BusinessNotLive(BookingError):
    """A business opened by signup takes no customer bookings before it goes live (its
    first-day checklist, apps/calendars/first_day.py); its staff may book."""

    message: str = gettext_noop("This business is not taking bookings online yet.")
    code = "NOT_LIVE"
    http_status = 403


@dataclass
class SlotFull(BookingError):
    message: str = gettext_noop("That time is no longer available.")
    code = "SLOT_FULL"
    http_status = 409


@dataclass
class SlotNotFound(BookingError):
    message: str = gettext_noop("That time is not offered.")
    code = "SLOT_NOT_FOUND"
    http_status = 404


@dataclass
class HoldExpired(BookingError):
    message: str = gettext_noop("The hold on this time has expired. Please choose a time again.")
    code = "HOLD_EXPIRED"
    http_status = 409


@dataclass
class OutsideBookingWindow(BookingError):
    message: str = gettext_noop("That time is outside the booking window.")
    code = "OUTSIDE_BOOKING_WINDOW"
    http_status = 422


@dataclass
class TooLateToCancel(BookingError):
    message: str = gettext_noop("It is too late to cancel or reschedule this booking.")
    code = "TOO_LATE_TO_CANCEL"
    http_status = 409


@dataclass
class InvalidTransition(BookingError):
    message: str = gettext_noop("The booking cannot change that way from its current status.")
    code = "INVALID_TRANSITION"
    http_status = 409


@dataclass
class IdempotencyKeyReused(BookingError):
    message: str = gettext_noop("This Idempotency-Key was already used with a different request.")
    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


@dataclass
class IdempotencyRecordUnreadable(BookingError):
    """The stored answer to a key cannot be decrypted (it was written before answers
    were encrypted, or with a key that is gone). The request is never performed again
    in its place: the change it made may have happened."""

    message: str = (
        "The answer to this Idempotency-Key can no longer be shown. Check whether the "
        "change was made before you send it again with a new key."
    )
    code = "IDEMPOTENCY_RECORD_UNREADABLE"
    http_status = 409


@dataclass
class BookingLinkExpired(BookingError):
    """A customer's token (manage link, X-Booking-Token) made by us for this business,
    whose time is over: its booking ended more than BOOKING_LINK_GRACE_DAYS ago."""

    message: str = gettext_noop("This link to a booking has expired.")
    code = "BOOKING_LINK_EXPIRED"
    http_status = 410
