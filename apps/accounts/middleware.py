from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from apps.accounts.models import Tenant


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with a friendly page for hosts no tenant serves, in
    DEBUG too (the default raises Http404 and shows Django's debug page)."""

    def get_tenant(self, domain_model, hostname):
        tenant = super().get_tenant(domain_model, hostname)
        # A tenant still being created, or suspended, is not served.
        if not tenant.is_ready or tenant.status == Tenant.Status.SUSPENDED:
            raise domain_model.DoesNotExist
        return tenant

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        self.setup_url_routing(request, force_public=True)
        return render(request, "tenancy/unknown_tenant.html", {"hostname": hostname}, status=404)
