"""Tenant admin: the outbox (read-only, with a resend action), calendar feeds (created
here with the URL shown once, revocable) and the notification preferences."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.selectors import tenant_current
from apps.notifications.errors import NotificationNotRetryable
from apps.notifications.links import calendar_feed_url
from apps.notifications.models import CalendarFeed, Notification, NotificationPreference
from apps.notifications.services import (
    calendar_feed_create,
    calendar_feed_revoke,
    notification_resend,
)

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
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Send the selected messages again")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued, refused = 0, []
        for notification_id in queryset.values_list("id", flat=True):
            try:
                notification_resend(notification_id=notification_id)
            except NotificationNotRetryable as exc:
                refused.append(exc.message)
            else:
                queued += 1
        if queued:
            self.message_user(request, f"{queued} message(s) queued to be sent again.")
        if refused:
            self.message_user(
                request,
                f"{len(refused)} not resent: {'; '.join(sorted(set(refused)))}",
                level=messages.WARNING,
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


_FEED_FIELDS = ("resource", "token_hint", "created_by_id", "created_at", "revoked_at")


@admin.register(CalendarFeed, site=tenant_admin_site)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["resource", "token_hint", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["resource"]
    actions = ["revoke_selected"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("resource",) if obj is None else _FEED_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else _FEED_FIELDS

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CalendarFeed, form: Any, change: bool) -> None:
        if change:
            return
        feed, token = calendar_feed_create(
            resource=obj.resource, created_by_id=str(getattr(request.user, "pk", ""))
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved feed.
        obj.__dict__.update({k: v for k, v in feed.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = feed._state.db
        url = calendar_feed_url(token=token, tenant=tenant_current())
        self.message_user(
            request,
            f"Subscription URL (shown only now, copy it into the calendar app): {url}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke the selected feeds")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[CalendarFeed]) -> None:
        for feed in queryset.filter(revoked_at__isnull=True):
            calendar_feed_revoke(feed=feed)
        self.message_user(request, "Feeds revoked; their URLs no longer work.")


@admin.register(NotificationPreference, site=tenant_admin_site)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "notify_hold_expired", "sms_enabled", "updated_at"]
    fields = ["notify_hold_expired", "sms_enabled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not NotificationPreference.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Webhook endpoints and deliveries register on the same tenant admin site.
from apps.notifications.webhooks import admin as webhook_admin  # noqa: E402, F401
