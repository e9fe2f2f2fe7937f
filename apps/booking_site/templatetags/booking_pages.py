"""Template filters of the customer booking pages."""

from __future__ import annotations

from django import template

from apps.booking_site.timezones import zone_label as _zone_label
from apps.notifications.messages.content import duration_label

register = template.Library()


@register.filter
def zone_label(name: str) -> str:
    """ "America/New_York" → "America/New York"."""
    return _zone_label(name or "")


@register.filter
def duration(minutes: int) -> str:
    """90 → "1 hour 30 minutes", 1440 → "24 hours", 2880 → "2 days" (as in the emails)."""
    return duration_label(int(minutes or 0))
