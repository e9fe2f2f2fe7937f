"""Tenant admin of customer messages: the outbox, read-only, with a resend action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.notifications.messages.errors import NotificationNotRetryable
from apps.notifications.messages.services import notification_resend
from apps.notifications.models import Notification
from apps.notifications.outbox_admin import OutboxAdmin

_NOTIFICATION_FIELDS = (
    "id",
    "booking",
    "kind",
    "channel",
    "offset_minutes",
    "booking_sequence",
    "scheduled_for",
    "next_attempt_at",
    "status",
    "status_reason",
    "attempts",
    "last_error",
    "provider_message_id",
    "resend_count",
    "dispatched_at",
    "lease_expires_at",
    "sent_at",
    "details",
    "created_at",
    "updated_at",
)


@admin.register(Notification, site=tenant_admin_site)
class NotificationAdmin(OutboxAdmin):
    list_display = [
        "scheduled_for",
        "kind",
        "offset_minutes",
        "channel",
        "status",
        "attempts",
        "status_reason",
        "sent_at",
        "booking_id",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["=id", "=booking__id", "provider_message_id"]
    date_hierarchy = "scheduled_for"
    readonly_fields = _NOTIFICATION_FIELDS
    fields = _NOTIFICATION_FIELDS
    actions = ["resend_selected"]
    list_select_related = ["booking"]

    @admin.action(description="Send the selected messages again")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        self.requeue_each(
            request,
            queryset.values_list("id", flat=True),
            requeue=lambda notification_id: notification_resend(notification_id=notification_id),
            refused=NotificationNotRetryable,
            queued_message="{count} message(s) queued to be sent again.",
            refused_message="{count} not resent: {reasons}",
        )


class NotificationInline(admin.TabularInline):
    """For the booking admin: the booking's messages and their status, read-only."""

    model = Notification
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("kind", "offset_minutes", "channel", "scheduled_for", "status", "attempts", "sent_at")
    readonly_fields = fields
    ordering = ["scheduled_for"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
