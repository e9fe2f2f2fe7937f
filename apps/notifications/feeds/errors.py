"""Errors of the calendar feeds (codes are stable; the edges translate them)."""

from __future__ import annotations

from apps.core.errors import DomainError


class CalendarFeedNotFound(DomainError):
    code = "CALENDAR_FEED_NOT_FOUND"
    http_status = 404
