"""New migrations recorded on one tenant schema and replayed in the others
(apps/accounts/schema_migrations.py) leave each schema exactly as django-tenants' own
executor does, and fall back to it when a replay cannot be made or fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, migrations, models
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context

from apps.accounts import schema_migrations
from apps.accounts.models import Tenant, User
from apps.accounts.schema_migrations import replayable, tenant_schemas_migrate
from apps.accounts.services import tenant_create
from apps.core.tenancy import use_public_schema
from apps.resources.services import service_create

pytestmark = pytest.mark.slow

# Far enough back that the pending migrations hold new fields and tables, triggers and
# their functions in `public` (RunSQL) and new choices, and no code (RunPython).
# (Close to the tip: the executor renders the project's state again for every applied
# migration after the first one it unapplies, which grows with every app added.)
ROLLBACK_TO = [("notifications", "0006_payment_link_kind")]
# A data migration (RunPython) on top of the project's own, pending in every schema
# (no rollback: a real data migration lies deep in the plan, and rolling back to it
# takes the executor minutes per schema).
WITH_CODE = ("resources", "9999_code_per_schema")


def _migrate_back(schema: str, targets: list[tuple[str, str]]) -> None:
    for app_label, name in targets:
        call_command(
            "migrate_schemas",
            app_label,
            name,
            schema_name=schema,
            interactive=False,
            verbosity=0,
        )
    use_public_schema()


@pytest.fixture(scope="module")
def schemas(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[str]]:
    """Five fresh businesses (their schemas up to date)."""
    made: list[Tenant] = []
    with django_db_blocker.unblock():
        owner = User.objects.get(email="owner@acme.test")
        for _ in range(5):
            slug = f"mig-{uuid.uuid4().hex[:8]}"
            made.append(tenant_create(slug=slug, name="Migrations", owner=owner))
        use_public_schema()
    yield [tenant.schema_name for tenant in made]
    with django_db_blocker.unblock():
        use_public_schema()
        for tenant in made:
            tenant.delete(force_drop=True)


def _structure(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's columns, constraints, indexes and triggers, with the schema's name
    taken out of their definitions."""
    queries = {
        "columns": """
            SELECT table_name, column_name, data_type, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = %(s)s
            ORDER BY 1, 2""",
        "constraints": """
            SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid)
            FROM pg_constraint con
            JOIN pg_class rel ON rel.oid = con.conrelid
            JOIN pg_namespace ns ON ns.oid = rel.relnamespace
            WHERE ns.nspname = %(s)s ORDER BY 1, 2""",
        "indexes": """
            SELECT tablename, indexname, indexdef FROM pg_indexes
            WHERE schemaname = %(s)s ORDER BY 1, 2""",
        "triggers": """
            SELECT rel.relname, tg.tgname, pg_get_triggerdef(tg.oid)
            FROM pg_trigger tg
            JOIN pg_class rel ON rel.oid = tg.tgrelid
            JOIN pg_namespace ns ON ns.oid = rel.relnamespace
            WHERE ns.nspname = %(s)s AND NOT tg.tgisinternal ORDER BY 1, 2""",
        "migrations": "SELECT app, name FROM {q}.django_migrations ORDER BY 1, 2",
        "content_types": "SELECT app_label, model FROM {q}.django_content_type ORDER BY 1, 2",
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for name, query in queries.items():
            cursor.execute(query.format(q=connection.ops.quote_name(schema)), {"s": schema})
            found[name] = [
                tuple(
                    value.replace(schema, "<schema>") if isinstance(value, str) else value
                    for value in row
                )
                for row in cursor.fetchall()
            ]
    return found


def test_recorded_and_replayed_schemas_match_the_standard_executor(
    schemas: list[str], django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
):
    standard, recorded, replayed, second, failing = schemas
    with django_db_blocker.unblock():
        for schema in schemas:
            _migrate_back(schema, ROLLBACK_TO)
        before = _structure(recorded)

        # given one schema migrated forward by django-tenants' executor alone
        call_command("migrate_schemas", tenant=True, schema_name=standard, verbosity=0)
        use_public_schema()
        expected = _structure(standard)
        assert expected["migrations"] != before["migrations"]
        assert expected["triggers"] != before["triggers"]

        # when three others are migrated together (the first recorded, the others
        # replaying its record on two connections)
        report = tenant_schemas_migrate([recorded, standard, replayed, second], workers=2)

        # then they are all the same, the up-to-date one untouched
        assert (report.recorded, report.replayed, report.up_to_date) == (1, 2, 1)
        assert report.standard == []
        assert report.statements > 0
        for schema in (recorded, replayed, second):
            assert _structure(schema) == expected, schema

        # and when a replay fails half-way, its transaction is rolled back and the
        # standard executor migrates the schema (it would fail on half-made tables)
        real_recording = schema_migrations._migrate_recording

        def failing_record(*args: Any, **kwargs: Any) -> Any:
            return [
                *real_recording(*args, **kwargs),
                schema_migrations._Statement("SELECT 1/0", None, False),
            ]

        monkeypatch.setattr(schema_migrations, "_migrate_recording", failing_record)
        for schema in (recorded, replayed):
            _migrate_back(schema, ROLLBACK_TO)
        report = tenant_schemas_migrate([recorded, failing, replayed], workers=1)
        assert (report.recorded, report.replayed) == (1, 0)
        assert report.standard == sorted([failing, replayed])
        for schema in (recorded, failing, replayed):
            assert _structure(schema) == expected, schema


def _services_counted(apps: Any, schema_editor: Any) -> None:
    """Writes into each service how many services its own schema has."""
    service = apps.get_model("resources", "Service")
    count = service.objects.count()
    service.objects.update(description=f"one of {count}")


def _with_code_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every loader (this process's replay threads included) sees WITH_CODE after the
    resources app's last migration."""
    real_load_disk = MigrationLoader.load_disk

    def load_disk(self: MigrationLoader) -> None:
        real_load_disk(self)
        app_label, name = WITH_CODE
        last = max(key for key in self.disk_migrations if key[0] == app_label)
        migration = type(
            "Migration",
            (Migration,),
            {
                "dependencies": [last],
                "operations": [migrations.RunPython(_services_counted, migrations.RunPython.noop)],
            },
        )(name, app_label)
        self.disk_migrations[WITH_CODE] = migration

    monkeypatch.setattr(MigrationLoader, "load_disk", load_disk)


def test_a_data_migration_runs_again_in_each_replayed_schema(
    schemas: list[str], django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
):
    """A data migration's code (RunPython) runs in every schema against that schema's
    own rows, not replayed as the first schema's statements."""
    first, second, third = schemas[:3]
    services = {first: 1, second: 3, third: 2}
    with django_db_blocker.unblock():
        for schema, count in services.items():
            with schema_context(schema):
                for number in range(count):
                    service_create(name=f"Service {number}", duration_minutes=30)
        _with_code_migration(monkeypatch)
        try:
            report = tenant_schemas_migrate(list(services), workers=2)

            assert (report.recorded, report.replayed, report.standard) == (1, 2, [])
            with connection.cursor() as cursor:
                for schema, count in services.items():
                    cursor.execute(
                        "SELECT DISTINCT description FROM "  # noqa: S608
                        f"{connection.ops.quote_name(schema)}.resources_service"
                    )
                    assert cursor.fetchall() == [(f"one of {count}",)], schema
                    cursor.execute(
                        f"SELECT count(*) FROM {connection.ops.quote_name(schema)}"  # noqa: S608
                        ".django_migrations WHERE app = %s AND name = %s",
                        list(WITH_CODE),
                    )
                    assert cursor.fetchone() == (1,), schema
            assert _structure(second) == _structure(first) == _structure(third)
        finally:
            # The schemas are shared with the other tests: back to the project's own
            # migrations.
            with connection.cursor() as cursor:
                for schema in services:
                    cursor.execute(
                        f"DELETE FROM {connection.ops.quote_name(schema)}.django_migrations "  # noqa: S608
                        "WHERE app = %s AND name = %s",
                        list(WITH_CODE),
                    )
            use_public_schema()


def _migration(*operations: Any, app_label: str = "bookings") -> Migration:
    migration = Migration("0100_x", app_label)
    migration.operations = list(operations)  # type: ignore[misc]
    return migration


def test_what_can_be_replayed():
    tenant_apps = {"bookings"}
    field = models.CharField(max_length=10, default="")
    token = models.CharField(max_length=10, default=uuid.uuid4)
    code = migrations.RunPython(migrations.RunPython.noop)
    schema_only = migrations.AddField("booking", "extra", field)

    def ok(migration: Migration) -> bool:
        return replayable([migration], tenant_apps=tenant_apps)

    assert ok(_migration(schema_only, migrations.RunSQL("SELECT 1")))
    # code runs again in each schema, also inside SeparateDatabaseAndState
    assert ok(_migration(code))
    assert ok(_migration(migrations.SeparateDatabaseAndState(database_operations=[code])))
    assert not ok(_migration(migrations.AddField("booking", "token", token)))
    non_atomic = _migration(schema_only)
    non_atomic.atomic = False
    assert not ok(non_atomic)
    squashed = _migration(schema_only)
    squashed.replaces = [("bookings", "0001_initial")]
    assert not ok(squashed)
    # a public app's migration runs nothing in tenant schemas
    public_non_atomic = _migration(code, app_label="accounts")
    public_non_atomic.atomic = False
    assert ok(public_non_atomic)
