from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from apps.accounts.branding import accent_palette


def tenancy(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is not None and tenant.schema_name == "public":
        tenant = None
    return {
        "tenant": tenant,
        "base_domain": settings.BASE_DOMAIN,
        # Every tenant page (booking pages and dashboard alike) uses the AA-safe accent.
        "accent": accent_palette(tenant.accent_color) if tenant is not None else None,
    }
