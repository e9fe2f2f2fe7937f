"""The host names a business is served on: its own subdomain under the platform's domain
(`{slug}.{BASE_DOMAIN}`), which every business has, and custom domains, which only a
plan that includes them allows (PRODUCT.md §4.7, the plans table)."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.accounts.models import Tenant
from apps.core.entitlements import Feature, feature_require


def _host(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def domain_is_own_subdomain(*, tenant: Tenant, domain: str) -> bool:
    return _host(domain) == _host(f"{tenant.slug}.{settings.BASE_DOMAIN}")


def domain_add_check(*, tenant: Tenant, domain: str) -> None:
    """Refuses (PlanLimitReached, `limit` = `custom_domain`) adding `domain` to `tenant`
    when it is a custom domain — anything but the business's own subdomain — and the
    business's plan does not include one. The platform's own hosts (the public schema's
    tenant) are not a business's and are never limited.

    `tenant` may carry changes not saved yet (the admin validates a business's domains
    before it saves the business itself, so a plan changed in the same form counts)."""
    if tenant.schema_name == get_public_schema_name():
        return
    if domain_is_own_subdomain(tenant=tenant, domain=domain):
        return
    # The plan question is asked of "the current business" (core.entitlements); the
    # root admin runs on the public schema, so the business is made current for it.
    with tenant_context(tenant):
        feature_require(Feature.CUSTOM_DOMAIN)
