"""Writes of the tenant's notification preferences (the dashboard's settings page)."""

from __future__ import annotations

from apps.notifications.models import NotificationPreference
from apps.notifications.selectors import notification_preference_get


def notification_preference_update(
    *, notify_hold_expired: bool | None = None, sms_enabled: bool | None = None
) -> NotificationPreference:
    preference = notification_preference_get()
    if notify_hold_expired is not None:
        preference.notify_hold_expired = notify_hold_expired
    if sms_enabled is not None:
        preference.sms_enabled = sms_enabled
    preference.save()
    return preference
