from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django_tenants.management.commands.migrate_schemas import Command as MigrateSchemas
from django_tenants.utils import schema_context, schema_exists

from apps.accounts.models import Membership, Tenant, User
from apps.accounts.provisioning import (
    schema_constraint_names_restore,
    schemas_constraint_names_restore,
)
from tests.plugins.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_create_tenant_command_creates_schema_domain_and_owner(capsys):
    call_command(
        "create_tenant",
        "--slug=initech",
        "--name=Initech Tutors",
        "--owner-email=Boss@Initech.test",
        "--timezone=Asia/Kathmandu",
    )

    tenant = Tenant.objects.get(slug="initech")
    assert tenant.timezone == "Asia/Kathmandu"
    assert tenant.status == Tenant.Status.TRIAL
    assert tenant.plan == "trial"
    assert schema_exists("t_initech")
    assert tenant.get_primary_domain().domain == "initech.localhost"
    owner = User.objects.get(email="boss@initech.test")
    assert Membership.objects.get(tenant=tenant, user=owner).role == "admin"
    assert "Created tenant initech" in capsys.readouterr().out


def test_create_tenant_command_refuses_reserved_slug_and_keeps_no_user():
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_tenant", "--slug=api", "--name=Nope", "--owner-email=nope@nope.test")

    assert not User.objects.filter(email="nope@nope.test").exists()


def _constraint_and_index_names(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
            "UNION SELECT c.conname FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s",
            [schema, schema],
        )
        return {row[0] for row in cursor.fetchall()}


def test_a_cloned_tenant_keeps_the_templates_constraint_names():
    # given the template schema, migrated (its names are the models' names)
    template = _constraint_and_index_names(settings.TENANT_BASE_SCHEMA)
    assert "slot_unique_start" in template

    # when a tenant is made by cloning it
    tenant = TenantFactory.create(slug="clonecheck")

    # then every constraint and index is there under the same name, so a later
    # migration that changes one by name works on this tenant too
    assert _constraint_and_index_names(tenant.schema_name) == template


def test_setup_database_restores_names_a_clone_lost():
    # given a tenant whose unique constraint has the name a plain clone gives it
    with connection.cursor() as cursor:
        cursor.execute(
            'ALTER TABLE "t_acme".calendars_slotinstance RENAME CONSTRAINT slot_unique_start '
            "TO calendars_slotinstance_resource_id_starts_at_key"
        )

    # when the set-up runs (as on every start)
    restored = schema_constraint_names_restore(schema_name="t_acme")

    # then the model's name is back, and running again changes nothing
    assert restored == 1
    assert "slot_unique_start" in _constraint_and_index_names("t_acme")
    assert schema_constraint_names_restore(schema_name="t_acme") == 0


def test_names_are_restored_in_many_schemas_by_one_statement():
    # given two tenants whose unique constraint has the name a plain clone gives it
    with connection.cursor() as cursor:
        for schema in ("t_acme", "t_globex"):
            cursor.execute(
                f'ALTER TABLE "{schema}".calendars_slotinstance RENAME CONSTRAINT '
                "slot_unique_start TO calendars_slotinstance_resource_id_starts_at_key"
            )

    # when the set-up restores names across the schemas
    with CaptureQueriesContext(connection) as seen:
        restored = schemas_constraint_names_restore(schema_names=["t_acme", "t_globex"])

    # then both are back, found by one statement (then one rename each)
    assert restored == 2
    assert len(seen.captured_queries) == 3
    for schema in ("t_acme", "t_globex"):
        assert "slot_unique_start" in _constraint_and_index_names(schema)
    assert schemas_constraint_names_restore(schema_names=["t_acme", "t_globex"]) == 0


def _recorded(schema: str, table: str, columns: str) -> set[tuple[str, ...]]:
    with connection.cursor() as cursor:
        quoted = connection.ops.quote_name(schema)
        cursor.execute(f"SELECT {columns} FROM {quoted}.{table}")  # noqa: S608 (test constants)
        return {tuple(row) for row in cursor.fetchall()}


@pytest.mark.parametrize("installed", [True, False], ids=["owner's clone", "django-tenants' clone"])
def test_a_new_tenants_schema_has_every_migration_recorded_and_nothing_to_apply(
    installed, monkeypatch
):
    # given either way of cloning (the owner's function, or before it is installed)
    monkeypatch.setattr("apps.accounts.database_roles.tenant_clone_installed", lambda: installed)
    migrations_run: list[object] = []
    monkeypatch.setattr(
        MigrateSchemas, "handle", lambda self, *args, **kwargs: migrations_run.append(kwargs)
    )
    template = settings.TENANT_BASE_SCHEMA

    # when a tenant is made (no `migrate_schemas --fake` runs on its copy)
    TenantFactory.create(slug=f"migcheck{int(installed)}")
    schema = f"t_migcheck{int(installed)}"

    # then its records are the template's, and Django finds nothing to apply there
    assert migrations_run == []
    assert _recorded(schema, "django_migrations", "app, name") == _recorded(
        template, "django_migrations", "app, name"
    )
    assert _recorded(schema, "django_content_type", "id, app_label, model") == _recorded(
        template, "django_content_type", "id, app_label, model"
    )
    with schema_context(schema):
        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
