"""The shape of the platform admin (root domain) for support agents:

- its front page is the tenant overview, with a page per business, the cross-tenant
  look-up and suspending/reactivating a business (apps/support/views.py);
- the businesses' list gets "Suspend" and "Reactivate" next to "Close";
- the model history (auditlog) is filterable by person and shows each entry's reason;
- raw records of payment providers (dj-stripe's tables, the Stripe event inbox) are for
  superusers only: other staff neither see them in the index nor open them.

This module runs after the admin modules of the apps it adjusts (apps.support comes last
in INSTALLED_APPS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from auditlog.admin import LogEntryAdmin
from auditlog.filters import CIDFilter, ResourceTypeFilter
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin import TenantAdmin
from apps.accounts.admin_sites import PlatformAdminSite, superuser_only, support_access_note
from apps.accounts.models import Tenant, User
from apps.billing.models import StripeEvent
from apps.billing.services import tenant_reactivate, tenant_suspend
from apps.core.errors import DomainError
from apps.support import views
from apps.support.forms import ReasonForm

site = cast(PlatformAdminSite, admin.site)

site.register_index(views.overview)
site.register_page("support/look-up/", views.lookup, name="support_lookup")
site.register_page("support/tenants/<uuid:tenant_id>/", views.tenant_page, name="support_tenant")
site.register_page(
    "support/tenants/<uuid:tenant_id>/suspend/",
    views.tenant_suspend_page,
    name="support_tenant_suspend",
)
site.register_page(
    "support/tenants/<uuid:tenant_id>/reactivate/",
    views.tenant_reactivate_page,
    name="support_tenant_reactivate",
)


# --- Suspend / reactivate from the businesses' list -----------------------------------


def _standing_action(
    modeladmin: admin.ModelAdmin[Tenant],
    request: HttpRequest,
    queryset: QuerySet[Tenant],
    *,
    action: str,
    service: Callable[..., Tenant],
    title: str,
    submit: str,
    explanation: str,
    done: Callable[[Tenant], str],
) -> TemplateResponse | None:
    """A reason on a confirmation page, then the service for each business selected."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        reason = form.cleaned_data["reason"]
        support_access_note(
            request,
            reason=reason,
            details={"action": f"tenant.{action}", "tenants": sorted(t.slug for t in queryset)},
        )
        for tenant in queryset.order_by("pk"):
            try:
                changed = service(tenant=tenant, reason=reason, agent=cast(User, request.user))
            except DomainError as error:
                modeladmin.message_user(request, error.message, messages.ERROR)
            else:
                modeladmin.message_user(request, done(changed), messages.SUCCESS)
        return None  # back to the list
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "submit": submit,
        "explanation": explanation,
        "action": f"{action}_business",
        "form": form,
        "tenants": queryset.order_by("slug"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/support/standing_change.html", context)


@admin.action(description=_("Suspend the selected businesses"), permissions=["change"])
def suspend_business(
    modeladmin: admin.ModelAdmin[Tenant], request: HttpRequest, queryset: QuerySet[Tenant]
) -> TemplateResponse | None:
    return _standing_action(
        modeladmin,
        request,
        queryset,
        action="suspend",
        service=tenant_suspend,
        title=str(_("Suspend businesses")),
        submit=str(_("Suspend these businesses")),
        explanation=str(
            _(
                "A suspended business stops taking bookings at once: its booking pages say "
                "it is not taking bookings online and its API answers 402 PLAN_INACTIVE. "
                "Its staff still sign in and nothing is deleted. It stays suspended, "
                "whatever it pays, until support reactivates it."
            )
        ),
        done=views.suspended_message,
    )


@admin.action(description=_("Reactivate the selected businesses"), permissions=["change"])
def reactivate_business(
    modeladmin: admin.ModelAdmin[Tenant], request: HttpRequest, queryset: QuerySet[Tenant]
) -> TemplateResponse | None:
    return _standing_action(
        modeladmin,
        request,
        queryset,
        action="reactivate",
        service=tenant_reactivate,
        title=str(_("Reactivate businesses")),
        submit=str(_("Reactivate these businesses")),
        explanation=str(
            _(
                "Lifts support's suspension. Each business returns to the standing its "
                "billing gives it: past due while its grace period lasts, still suspended "
                "if an unpaid balance outran the grace period, on trial while it has one, "
                "otherwise active. A closed business is never reactivated."
            )
        ),
        done=views.reactivated_message,
    )


site.unregister(Tenant)


@admin.register(Tenant)
class SupportTenantAdmin(TenantAdmin):
    list_display = [*TenantAdmin.list_display, "support_page"]
    # Support's suspension moves only through its actions, which record why.
    readonly_fields = [
        *TenantAdmin.readonly_fields,
        "support_suspended_at",
        "support_suspended_reason",
    ]
    actions = [*TenantAdmin.actions, suspend_business, reactivate_business]

    @admin.display(description=_("Overview"))
    def support_page(self, obj: Tenant) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:support_tenant", args=[obj.pk]), _("Open")
        )


# --- The platform's model history ----------------------------------------------------

site.unregister(LogEntry)


@admin.register(LogEntry)
class PlatformLogEntryAdmin(LogEntryAdmin):
    """auditlog's read-only admin, filterable by person too, with each entry's reason
    (closing, suspending, reactivating a business)."""

    list_display = [*LogEntryAdmin.list_display, "reason"]
    list_filter = [
        "action",
        ResourceTypeFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        CIDFilter,
    ]
    readonly_fields = [*LogEntryAdmin.readonly_fields, "reason", "additional_data"]
    fieldsets = [
        *LogEntryAdmin.fieldsets,
        (_("Why"), {"fields": ["reason", "additional_data"]}),
    ]

    @admin.display(description=_("Reason"))
    def reason(self, obj: LogEntry) -> str:
        data = obj.additional_data
        return str(data.get("reason", "")) if isinstance(data, dict) else ""


# --- Raw records of payment providers: superusers only -------------------------------

for _model in [*apps.get_app_config("djstripe").get_models(), StripeEvent]:
    if site.is_registered(_model):
        _model_admin = type(site.get_model_admin(_model))
        site.unregister(_model)
        site.register(_model, superuser_only(_model_admin))
