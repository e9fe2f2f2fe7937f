"""Tenant admin for platform support: webhook endpoints (secrets never shown), their
deliveries with the attempt log, and a replay action. Endpoints are created in the
dashboard or the API, where the secret can be shown once."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.core.errors import DomainError
from apps.notifications.outbox_admin import OutboxAdmin
from apps.notifications.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.notifications.webhooks.services import webhook_delivery_replay, webhook_endpoint_update

_ENDPOINT_FIELDS = (
    "id",
    "url",
    "description",
    "events",
    "secret_hint",
    "previous_secret_expires_at",
    "disabled_at",
    "disabled_reason",
    "failure_streak",
    "failing_since",
    "last_success_at",
    "last_failure_at",
    "created_by_id",
    "created_at",
    "updated_at",
)


@admin.register(WebhookEndpoint, site=tenant_admin_site)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "disabled_reason",
        "failure_streak",
        "last_success_at",
        "last_failure_at",
        "created_at",
    ]
    list_filter = ["disabled_reason"]
    search_fields = ["=id", "url", "description"]
    fields = _ENDPOINT_FIELDS
    readonly_fields = _ENDPOINT_FIELDS
    actions = ["enable_selected", "disable_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Enable the selected endpoints")
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.filter(disabled_at__isnull=False):
            webhook_endpoint_update(endpoint=endpoint, active=True)
        self.message_user(request, "Endpoints enabled.")

    @admin.action(description="Disable the selected endpoints")
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.filter(disabled_at__isnull=True):
            webhook_endpoint_update(endpoint=endpoint, active=False)
        self.message_user(request, "Endpoints disabled; their queued deliveries are cancelled.")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "trigger",
        "started_at",
        "succeeded",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    )
    readonly_fields = fields
    ordering = ["number"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


_DELIVERY_FIELDS = (
    "id",
    "endpoint",
    "event",
    "status",
    "status_reason",
    "attempts",
    "attempts_allowed",
    "replays",
    "next_attempt_at",
    "dispatched_at",
    "lease_expires_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
    "created_at",
    "updated_at",
)


@admin.register(WebhookDelivery, site=tenant_admin_site)
class WebhookDeliveryAdmin(OutboxAdmin):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "event__type"]
    search_fields = ["=id", "=event__id", "=event__booking__id"]
    date_hierarchy = "created_at"
    fields = _DELIVERY_FIELDS
    readonly_fields = _DELIVERY_FIELDS
    inlines = [WebhookAttemptInline]
    list_select_related = ["event", "endpoint"]
    actions = ["replay_selected"]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Send the selected deliveries again")
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        self.requeue_each(
            request,
            queryset.values_list("id", flat=True),
            requeue=lambda delivery_id: webhook_delivery_replay(delivery_id=delivery_id),
            refused=DomainError,
            queued_message="{count} deliveries queued to be sent again.",
            refused_message="{count} not replayed: {reasons}",
        )
