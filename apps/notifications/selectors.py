"""Reads of the tenant's notification preferences (one row per tenant schema), which
the dashboard's settings page shows and message planning follows."""

from __future__ import annotations

from apps.core.entitlements import month_started_at
from apps.notifications.models import Notification, NotificationPreference


def notification_preference_get() -> NotificationPreference:
    """The tenant's saved preferences, or the defaults (unsaved) when none were saved."""
    return NotificationPreference.objects.filter(pk=1).first() or NotificationPreference()


def text_messages_this_month() -> int:
    """What the plan's monthly text-message allowance counts: messages sent by SMS."""
    return Notification.objects.filter(
        channel=Notification.Channel.SMS,
        status=Notification.Status.SENT,
        sent_at__gte=month_started_at(),
    ).count()
