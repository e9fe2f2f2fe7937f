"""Waitlist errors: stable codes the edges translate (API envelope, form errors)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from apps.core.errors import DomainError


@dataclass
class WaitlistTimeFree(DomainError):
    """A join for times of which one is free: the customer books it instead."""

    message: str = gettext_noop("A time you asked for is free: book it instead of waiting.")
    code = "WAITLIST_TIME_FREE"
    http_status = 409


@dataclass
class OfferGone(DomainError):
    """The offer's hold lapsed or was released before it was confirmed."""

    message: str = gettext_noop("This offer has lapsed: the place went to the next person waiting.")
    code = "WAITLIST_OFFER_GONE"
    http_status = 409


@dataclass
class WaitlistAlreadyWaiting(DomainError):
    """The person already waits for some of these times of the service (with the same
    resource, or with anyone): one place in line per person and time."""

    message: str = gettext_noop("Already on the waitlist for some of these times.")
    code = "WAITLIST_ALREADY_WAITING"
    http_status = 409
