"""Writes of the audit trail."""

from __future__ import annotations

import logging

from django.http import HttpRequest

from apps.audit.models import SupportAccess
from config.request_id import get_request_id

logger = logging.getLogger(__name__)


def support_access_record(*, request: HttpRequest, site: str) -> SupportAccess:
    """One row per admin request of a platform staff member, in the schema the request
    is served from (the tenant's own trail shows who from the platform looked at it)."""
    user = request.user
    assert user.pk is not None  # only signed-in staff reach an admin view
    access = SupportAccess.objects.create(
        user_id=user.pk,
        user_email=getattr(user, "email", ""),
        site=site,
        method=request.method or "",
        path=request.get_full_path()[:500],
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=get_request_id(),
    )
    logger.info(
        "support.access",
        extra={"user_id": str(user.pk), "site": site, "method": access.method},
    )
    return access
