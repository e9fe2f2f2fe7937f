"""Tenant admin of the calendar feeds: created here with the URL shown once, revocable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.selectors import tenant_current
from apps.notifications.feeds.services import calendar_feed_create, calendar_feed_revoke
from apps.notifications.links import calendar_feed_url
from apps.notifications.models import CalendarFeed

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
