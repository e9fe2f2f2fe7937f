"""Support's view of billing in the platform admin: the plan history and the Stripe
event inbox (failed events can be processed again from here). Read-only otherwise."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.admin_sites import ReadOnlyAdmin
from apps.billing.models import PlanChange, StripeEvent
from apps.billing.webhooks import stripe_event_process


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "tenant",
        "from_plan",
        "to_plan",
        "from_status",
        "to_status",
        "cause",
    ]
    list_filter = ["cause", "to_status", "to_plan"]
    search_fields = ["tenant__slug", "actor", "note"]
    date_hierarchy = "created_at"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "id", "type", "account", "outcome", "attempts", "note"]
    list_filter = ["outcome", "type"]
    search_fields = ["id", "type", "account"]
    date_hierarchy = "received_at"
    actions = ["process_again"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only so the "process again" action is offered; every field stays read-only.
        return obj is None and bool(request.user.is_superuser)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in StripeEvent._meta.fields]

    @admin.action(description="Process the selected events again (unprocessed ones only)")
    def process_again(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        done, failed = 0, 0
        for event in queryset.filter(processed_at__isnull=True):
            try:
                stripe_event_process(event_id=event.pk)
            except Exception:
                failed += 1
            else:
                done += 1
        messages.info(request, f"Processed {done}; {failed} failed again (see their errors).")
