from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from apps.accounts.admin_closure import close_business
from apps.accounts.domains import domain_add_check
from apps.accounts.models import Domain, Membership, Tenant, User
from apps.core.entitlements import PlanLimitReached


class DomainForm(forms.ModelForm):
    """A domain added to a business (or changed) must be one its plan allows."""

    class Meta:
        model = Domain
        fields = ["domain", "is_primary"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The inline's parent: the business as the admin's form left it, so a plan
        # changed in the same save counts. Domains already there are left alone.
        tenant = cleaned.get("tenant")
        domain = cleaned.get("domain")
        added = self.instance._state.adding or "domain" in self.changed_data
        if isinstance(tenant, Tenant) and domain and added and not cleaned.get("DELETE"):
            try:
                domain_add_check(tenant=tenant, domain=domain)
            except PlanLimitReached as refused:
                self.add_error("domain", refused.message)
        return cleaned


class DomainInline(admin.TabularInline):
    model = Domain
    form = DomainForm
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "plan", "timezone", "is_ready", "created_at"]
    list_filter = ["status", "plan", "is_ready"]
    search_fields = ["slug", "name", "domains__domain"]
    # The status moves only through services that record why: billing's plan history,
    # and the close action below (apps/accounts/closure.py).
    readonly_fields = [
        "schema_name",
        "status",
        "closed_at",
        "closed_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [DomainInline, MembershipInline]
    actions = [close_business]

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # A business is closed, never deleted here: its schema holds its audit trail.
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """People are deactivated, not deleted: the audit trail names them as actors
        (and refuses the update a delete would make to it)."""
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
