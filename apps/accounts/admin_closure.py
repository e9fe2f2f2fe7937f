"""The platform admin's "Close business" action: support types why on a confirmation
page, and each selected business is closed through `tenant_close` (apps/accounts/
closure.py), which writes the reason and the agent to the public audit trail. The admin
never deletes a business."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.closure import REASON_MAX_LENGTH, tenant_close
from apps.accounts.models import Tenant, User
from apps.core.errors import DomainError


class CloseBusinessForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the audit trail with your name."),
    )


@admin.action(description=_("Close the selected businesses"), permissions=["change"])
def close_business(
    modeladmin: admin.ModelAdmin[Tenant], request: HttpRequest, queryset: QuerySet[Tenant]
) -> TemplateResponse | None:
    if "apply" in request.POST:
        form = CloseBusinessForm(request.POST)
        if form.is_valid():
            agent = cast(User, request.user)
            closed = 0
            for tenant in queryset.order_by("pk"):
                try:
                    tenant_close(tenant=tenant, reason=form.cleaned_data["reason"], agent=agent)
                except DomainError as error:
                    modeladmin.message_user(request, error.message, messages.ERROR)
                else:
                    closed += 1
            if closed:
                modeladmin.message_user(
                    request,
                    ngettext("%(count)d business closed.", "%(count)d businesses closed.", closed)
                    % {"count": closed},
                    messages.SUCCESS,
                )
            return None  # back to the list
    else:
        form = CloseBusinessForm()
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Close businesses"),
        "form": form,
        "tenants": queryset.order_by("slug"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "purge_delay_days": settings.TENANT_PURGE_DELAY_DAYS,
    }
    return TemplateResponse(request, "admin/accounts/tenant/close_business.html", context)
