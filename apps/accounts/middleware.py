from __future__ import annotations

import copy
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from apps.accounts.models import Tenant

# hostname -> (monotonic deadline, tenant row as read then). Only servable tenants are
# kept: an unknown or not-ready host is looked up on every request, so a new tenant is
# served the moment it is ready. (A suspended business is served: its staff sign in and
# pay; its booking pages and API refuse new bookings, apps/billing.) A change of a
# tenant or domain row is seen at once by the process that saved it
# (apps/accounts/receivers.py) and by every other process within
# TENANT_ROUTING_CACHE_SECONDS: that is how long a suspension or a changed booking
# policy may take to reach a busy worker.
_routes: dict[str, tuple[float, Tenant]] = {}
_ROUTES_MAX = 10_000


def _copy(tenant: Tenant) -> Tenant:
    """A copy per request: a request may change its tenant object (a settings form that
    does not validate), which must not leak into the next one. Model copies get their
    own state; the mutable field values (lists) are copied too."""
    clone = copy.copy(tenant)
    for name, value in vars(clone).items():
        if isinstance(value, list | dict):
            setattr(clone, name, copy.deepcopy(value))
    return clone


def tenant_routes_forget() -> None:
    """Drops this process's routing cache (after a tenant or domain row changed)."""
    _routes.clear()


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with a friendly page for hosts no tenant serves, in
    DEBUG too (the default raises Http404 and shows Django's debug page), and a short
    in-process cache of hostname -> tenant (the domain + tenant query cost as much as a
    whole cheap request)."""

    def get_tenant(self, domain_model, hostname):
        now = time.monotonic()
        cached = _routes.get(hostname)
        if cached is not None and cached[0] > now:
            return _copy(cached[1])
        tenant = super().get_tenant(domain_model, hostname)
        # A tenant still being created is not served.
        if not tenant.is_ready:
            _routes.pop(hostname, None)
            raise domain_model.DoesNotExist
        seconds = float(getattr(settings, "TENANT_ROUTING_CACHE_SECONDS", 0))
        if seconds > 0:
            if len(_routes) >= _ROUTES_MAX:
                _routes.clear()
            _routes[hostname] = (now + seconds, _copy(tenant))
        return tenant

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        self.setup_url_routing(request, force_public=True)
        return render(request, "tenancy/unknown_tenant.html", {"hostname": hostname}, status=404)
