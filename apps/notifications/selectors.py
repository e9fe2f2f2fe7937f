"""Reads of the tenant's notification preferences (one row per tenant schema), which
the dashboard's settings page shows and message planning follows."""

from __future__ import annotations

from apps.notifications.models import NotificationPreference


def notification_preference_get() -> NotificationPreference:
    """The tenant's saved preferences, or the defaults (unsaved) when none were saved."""
    return NotificationPreference.objects.filter(pk=1).first() or NotificationPreference()
