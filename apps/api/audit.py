"""Model history (django-auditlog) of the business's API keys: who made, renamed or
revoked one. Neither the secret's hash nor the time of last use (written as the key is
used) enters the history."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.api.models import ApiKey


def audit_register() -> None:
    """Called from ApiConfig.ready(); registering twice is harmless."""
    if not auditlog.contains(ApiKey):
        auditlog.register(ApiKey, exclude_fields=["secret_hash", "last_used_at"])
