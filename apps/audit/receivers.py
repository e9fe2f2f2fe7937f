"""Reactions of the audit app to events of the apps below it."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.http import HttpRequest

from apps.accounts.signals import admin_request_served
from apps.audit.services import support_access_record


@receiver(admin_request_served, dispatch_uid="audit.support_access")
def record_support_access(
    sender: Any,
    *,
    request: HttpRequest,
    site: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    path: str | None = None,
    **_: Any,
) -> None:
    support_access_record(request=request, site=site, reason=reason, details=details, path=path)
