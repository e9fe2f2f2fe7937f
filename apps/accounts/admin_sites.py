"""The Django admin for platform support agents, on the root domain (every tenant) and on
each tenant's domain (that tenant's data only).

Both sites require a verified TOTP (or backup-code) device on top of the password
(PRODUCT.md §4.8: support agents pass MFA), and every request a staff member makes in them
is written to the append-only support-access trail of the schema it looked at."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django_otp.admin import OTPAdminSite

from apps.accounts.forms import AdminOTPLoginForm
from apps.accounts.signals import admin_request_served


class _AuditedOTPAdminSite(OTPAdminSite):
    login_form = AdminOTPLoginForm
    login_template = "admin/otp_login.html"

    def admin_view(
        self, view: Callable[..., HttpResponse], cacheable: bool = False
    ) -> Callable[..., HttpResponse]:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = inner(request, *args, **kwargs)
            # Only requests the site let in are accesses; the login redirect is not.
            if self.has_permission(request):
                admin_request_served.send(sender=type(self), request=request, site=self.name)
            return response

        return audited


class PlatformAdminSite(_AuditedOTPAdminSite):
    site_header = "TimeNest — platform administration"
    site_title = "TimeNest admin"
    index_title = "Tenants, people and platform records"


class TenantAdminSite(_AuditedOTPAdminSite):
    site_header = "TimeNest — tenant administration"
    site_title = "TimeNest tenant admin"
    index_title = "This business's data"


tenant_admin_site = TenantAdminSite(name="tenant_admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A trail or a record of money: support reads it; nobody adds, edits or deletes
    through the admin (the database refuses edits of the audit trails anyway)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
