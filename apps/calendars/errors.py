"""Scheduling errors. Stable `code`s are part of the API contract; edges translate them
by code (API envelope, form errors), never by parsing messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop

from apps.core.errors import DomainError, FieldError


@dataclass
class BeyondHorizon(DomainError):
    """A range of dates reaching past the last bookable day: customers could never book
    those slots, so the grid is not built there unless a caller asks on purpose."""

    message: str = gettext_noop("Slots are made only up to the booking horizon.")
    code = "BEYOND_HORIZON"
    http_status = 422

    @classmethod
    def at(cls, *, field: str, limit: dt.date, days: int) -> BeyondHorizon:
        return cls(
            gettext("Slots are made only up to %(day)s, the booking horizon (%(days)s days ahead).")
            % {"day": limit.isoformat(), "days": days},
            [FieldError(field, gettext("Choose %(day)s or earlier.") % {"day": limit.isoformat()})],
        )
