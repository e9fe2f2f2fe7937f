from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def tenancy(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is not None and tenant.schema_name == "public":
        tenant = None
    return {"tenant": tenant, "base_domain": settings.BASE_DOMAIN}
