"""Database set-up that every environment shares: the public tenant and the template
schema new tenants are cloned from. Idempotent: safe to run on every start."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from apps.accounts.models import Domain, Tenant
from apps.accounts.schemas import use_public_schema


def public_tenant_ensure() -> Tenant:
    """The root domain (BASE_DOMAIN) is served by the public schema's URLconf."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public",
        defaults={"slug": "public", "name": "TimeNest", "is_ready": True, "status": "active"},
    )
    for host in {settings.BASE_DOMAIN, "127.0.0.1"}:
        Domain.objects.get_or_create(
            domain=host, defaults={"tenant": tenant, "is_primary": host == settings.BASE_DOMAIN}
        )
    return tenant


def template_schema_ensure(*, verbosity: int = 0) -> None:
    """Create (once) and migrate (every time) the kept-empty template schema."""
    name = settings.TENANT_BASE_SCHEMA
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity
    )
    use_public_schema()


def database_setup(*, verbosity: int = 1) -> None:
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
    public_tenant_ensure()
    template_schema_ensure(verbosity=verbosity)
    if Tenant.objects.exclude(schema_name="public").exists():
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
