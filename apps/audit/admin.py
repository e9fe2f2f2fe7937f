"""The support-access trail, read-only in both admin sites (the database refuses edits
anyway; the admin does not offer them): who, when, what, and why when they were asked."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_sites import ReadOnlyAdmin, tenant_admin_site
from apps.audit.models import SupportAccess


class AccessKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("lookup", _("Look-ups across businesses")),
            ("reason", _("With a reason")),
            ("plain", _("Pages opened")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "lookup":
            return queryset.filter(details__has_key="lookup")
        if self.value() == "reason":
            return queryset.exclude(reason="")
        if self.value() == "plain":
            return queryset.filter(reason="")
        return queryset


@admin.register(SupportAccess)
@admin.register(SupportAccess, site=tenant_admin_site)
class SupportAccessAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user_email", "method", "path", "reason", "ip_address"]
    list_filter = ["site", "method", AccessKindFilter]
    search_fields = ["user_email", "path", "reason"]
    date_hierarchy = "created_at"
