"""Tenant admin of the notifications app: the tenant's notification preferences here, and
the admins of its parts (messages, calendar feeds, webhooks), which register on the same
tenant admin site when Django's autodiscovery imports this module."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.notifications.feeds import admin as feed_admin  # noqa: F401 - registers
from apps.notifications.messages import admin as message_admin  # noqa: F401 - registers
from apps.notifications.models import NotificationPreference
from apps.notifications.webhooks import admin as webhook_admin  # noqa: F401 - registers


@admin.register(NotificationPreference, site=tenant_admin_site)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "notify_hold_expired", "sms_enabled", "updated_at"]
    fields = ["notify_hold_expired", "sms_enabled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not NotificationPreference.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
