"""The support-access trail, read-only in both admin sites (the database refuses edits
anyway; the admin does not offer them)."""

from __future__ import annotations

from django.contrib import admin

from apps.accounts.admin_sites import ReadOnlyAdmin, tenant_admin_site
from apps.audit.models import SupportAccess


@admin.register(SupportAccess)
@admin.register(SupportAccess, site=tenant_admin_site)
class SupportAccessAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user_email", "method", "path", "ip_address"]
    list_filter = ["site", "method"]
    search_fields = ["user_email", "path"]
    date_hierarchy = "created_at"
