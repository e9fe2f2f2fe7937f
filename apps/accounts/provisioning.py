"""Database set-up that every environment shares: the public tenant and the template
schema new tenants are cloned from. Idempotent: safe to run on every start."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from apps.accounts.database_roles import (
    database_grants_ensure,
    database_objects_hand_over,
    database_roles_ensure,
    tenant_clone_install,
)
from apps.accounts.models import Domain, Tenant
from apps.accounts.schema_migrations import tenant_schemas_migrate
from apps.accounts.schema_pool import schema_pool_empty
from apps.core.tenancy import use_public_schema


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


# django-tenants' clone_schema recreates unique constraints under PostgreSQL's default
# names (`slot_unique_start` becomes `calendars_slotinstance_resource_id_starts_at_key`),
# so a later migration that alters or drops one by its model name would fail on every
# cloned tenant. This finds each unique constraint of the template whose twin in a
# clone (same table, same definition) has another name, and gives it the template's:
# for any number of schemas in one statement (a statement per schema cost a deploy
# 0.3 s a schema at 10,000 businesses, some 50 minutes, mostly to find nothing). A
# clone that has the template's name already is passed over before any definition is
# compared.
_UNIQUE_RENAMES_SQL = """
WITH template AS (
    SELECT c.conname, r.relname, pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c
    JOIN pg_class r ON r.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = %s AND c.contype = 'u'
), candidates AS MATERIALIZED (
    SELECT clone_ns.nspname, clone_rel.relname, clone_con.oid AS clone_oid,
           clone_con.conname AS clone_name, template.conname AS template_name,
           template.definition
    FROM template
    JOIN pg_class clone_rel ON clone_rel.relname = template.relname
    JOIN pg_namespace clone_ns
      ON clone_ns.oid = clone_rel.relnamespace AND clone_ns.nspname = ANY(%s)
    JOIN pg_constraint clone_con
      ON clone_con.conrelid = clone_rel.oid AND clone_con.contype = 'u'
     AND clone_con.conname <> template.conname
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_constraint taken
        WHERE taken.conrelid = clone_rel.oid AND taken.conname = template.conname
    )
)
SELECT format('ALTER TABLE %%I.%%I RENAME CONSTRAINT %%I TO %%I',
              nspname, relname, clone_name, template_name)
FROM candidates
WHERE pg_get_constraintdef(clone_oid) = definition
ORDER BY nspname, relname, clone_name
"""


def schemas_constraint_names_restore(*, schema_names: Sequence[str]) -> int:
    """Gives cloned schemas' unique constraints the template's names; returns how many
    were renamed (0 when they already match: safe to run again)."""
    if not schema_names:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_UNIQUE_RENAMES_SQL, [settings.TENANT_BASE_SCHEMA, list(schema_names)])
        statements = [row[0] for row in cursor.fetchall()]
        for statement in statements:
            cursor.execute(statement)
    return len(statements)


def schema_constraint_names_restore(*, schema_name: str) -> int:
    return schemas_constraint_names_restore(schema_names=[schema_name])


def database_setup(*, verbosity: int = 1) -> None:
    """Run as the owner (DATABASE_ROLE=owner), or as a superuser (tests); the admin's
    steps need settings.DATABASE_ADMIN_USER (database_roles.py)."""
    database_roles_ensure()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
    public_tenant_ensure()
    template_schema_ensure(verbosity=verbosity)
    tenant_schemas = [
        name
        for name in Tenant.objects.exclude(schema_name="public")
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
        if schema_exists(name)
    ]
    if tenant_schemas:
        # The SQL of new migrations written once and replayed in every schema
        # (schema_migrations.py); what cannot be replayed goes through migrate_schemas.
        tenant_schemas_migrate(tenant_schemas, verbosity=verbosity)
    # Tenants cloned before the names were restored at creation get them now.
    schemas_constraint_names_restore(schema_names=tenant_schemas)
    tenant_clone_install()
    # What a superuser made above (tests, or one role before the split) goes to the owner.
    database_objects_hand_over()
    database_grants_ensure()
    # Spares copied before (or while) this ran may lack what it changed: the next fill
    # (beat, or the first signup) copies fresh ones.
    schema_pool_empty()
