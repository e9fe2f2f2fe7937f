"""Support agents' view of availability rules and the slot grid (tenant admin).

Rules are added and changed through `availability_rule_create` / `_update` (see
apps/resources/admin.py for the pattern), so they are validated and re-materialized like
any other. Slots and holds are derived from rules and bookings: read-only here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.admin_sites import tenant_admin_site
from apps.calendars.models import AvailabilityRule, SlotHold, SlotInstance
from apps.calendars.rules.services import availability_rule_create, availability_rule_update
from apps.calendars.timezones import format_wall_time
from apps.resources.admin import ServiceBackedAdmin, ServiceBackedForm


class AvailabilityRuleForm(ServiceBackedForm):
    create_service = staticmethod(availability_rule_create)
    update_service = staticmethod(availability_rule_update)
    instance_argument = "rule"

    start_time = forms.CharField(required=False, help_text="Local wall time, HH:MM.")
    end_time = forms.CharField(
        required=False, help_text="Local wall time, HH:MM (24:00 = midnight)."
    )

    class Meta:
        model = AvailabilityRule
        fields = [
            "kind",
            "resource",
            "location",
            "days_of_week",
            "valid_from",
            "valid_to",
            "granularity_minutes",
            "capacity",
            "is_closed",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.instance
        if rule.start_minute is not None:
            self.initial["start_time"] = format_wall_time(rule.start_minute)
        if rule.end_minute is not None:
            self.initial["end_time"] = format_wall_time(rule.end_minute)

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        for name in ("start_time", "end_time"):
            if name in data:
                data[name] = data[name] or None
        return data


@admin.register(AvailabilityRule, site=tenant_admin_site)
class AvailabilityRuleAdmin(ServiceBackedAdmin):
    form = AvailabilityRuleForm
    list_display = [
        "kind",
        "resource",
        "location",
        "days_of_week",
        "hours",
        "valid_from",
        "valid_to",
        "granularity_minutes",
        "capacity",
        "is_closed",
    ]
    list_filter = ["kind", "is_closed", "location", "resource"]
    date_hierarchy = "valid_from"

    @admin.display(description="Hours")
    def hours(self, rule: AvailabilityRule) -> str:
        if rule.start_minute is None or rule.end_minute is None:
            return "closed"
        return f"{format_wall_time(rule.start_minute)}-{format_wall_time(rule.end_minute)}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SlotHoldInline(admin.TabularInline):
    model = SlotHold
    extra = 0
    fields = ["booking_id", "expires_at"]
    readonly_fields = ["booking_id", "expires_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SlotInstance, site=tenant_admin_site)
class SlotInstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "starts_at",
        "ends_at",
        "resource",
        "status",
        "capacity",
        "booked",
        "held",
        "session_service",
        "session_capacity",
    ]
    list_filter = ["status", "resource"]
    list_select_related = ["resource", "session_service"]
    date_hierarchy = "starts_at"
    search_fields = ["id", "resource__name"]
    inlines = [SlotHoldInline]


@admin.register(SlotHold, site=tenant_admin_site)
class SlotHoldAdmin(ReadOnlyAdmin):
    list_display = ["booking_id", "slot", "expires_at"]
    list_select_related = ["slot", "slot__resource"]
    date_hierarchy = "expires_at"
    search_fields = ["booking_id"]
