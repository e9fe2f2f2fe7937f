"""A business's own address: the host it is served on and its base URL, for links
that leave the request (emails, webhooks, API errors that point at a dashboard page)."""

from __future__ import annotations

from django.conf import settings

from apps.accounts.models import Domain, Tenant


def tenant_domain(tenant: Tenant) -> str:
    domain = (
        Domain.objects.filter(tenant=tenant)
        .order_by("-is_primary", "domain")
        .values_list("domain", flat=True)
        .first()
    )
    return domain or f"{tenant.slug}.{settings.BASE_DOMAIN}"


def tenant_base_url(tenant: Tenant) -> str:
    scheme = getattr(settings, "TENANT_URL_SCHEME", "https")
    port = str(getattr(settings, "TENANT_URL_PORT", "") or "")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    host = tenant_domain(tenant)
    if port and port != default_port:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"
