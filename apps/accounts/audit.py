"""Model history (django-auditlog) of the platform's records: businesses (their
settings included), their domains, people and memberships. The actor is the signed-in
person (auditlog's middleware) or, for closing and purging a business, the agent named
by the service (apps/accounts/closure.py).

Password hashes never enter the history; nor does the time of each sign-in, which
would make one entry per sign-in."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.accounts.models import Domain, Membership, Tenant, User


def audit_register() -> None:
    """Called from AccountsConfig.ready(); registering twice is harmless."""
    registrations: list[tuple[type, dict[str, list[str]]]] = [
        (Tenant, {}),
        (Domain, {}),
        (User, {"exclude_fields": ["password", "last_login"]}),
        (Membership, {}),
    ]
    for model, options in registrations:
        if not auditlog.contains(model):
            auditlog.register(model, **options)
