"""Every audit trail is append-only in the database, in `public` and in every tenant
schema: UPDATE, DELETE and TRUNCATE are refused whoever sends them, and a tenant cloned
from the template after the migrations is guarded too."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant
from tests.audit.trails import PUBLIC_TRAILS, TENANT_TRAILS, trail_rows_write
from tests.plugins.factories import TenantFactory

pytestmark = pytest.mark.django_db

ALL_REFUSED = frozenset({"UPDATE", "DELETE", "TRUNCATE"})

STATEMENTS = {
    "update": "UPDATE \"{schema}\".{table} SET {column} = {column} - interval '1 day'",
    "delete": 'DELETE FROM "{schema}".{table}',
    "truncate": 'TRUNCATE "{schema}".{table}',
    "truncate cascade": 'TRUNCATE "{schema}".{table} CASCADE',
}


def _count(schema: str, table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".{table}')  # noqa: S608
        return int(cursor.fetchone()[0])


def _assert_refused(schema: str, table: str, column: str) -> None:
    before = _count(schema, table)
    assert before > 0, f"{schema}.{table} has no row to protect"
    for name, statement in STATEMENTS.items():
        sql = statement.format(schema=schema, table=table, column=column)
        with transaction.atomic(), connection.cursor() as cursor:
            # The rows were written in this test's transaction: their deferred
            # foreign-key checks would make PostgreSQL refuse a TRUNCATE for that reason
            # before the guard is asked.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with (
            pytest.raises(DatabaseError, match="audit trail is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert _count(schema, table) == before, (name, table)


@pytest.mark.parametrize(("table", "column"), sorted(PUBLIC_TRAILS.items()))
def test_public_audit_trails_refuse_update_delete_and_truncate(table, column):
    acme = Tenant.objects.get(slug="acme")
    trail_rows_write("public", tenant=acme)

    _assert_refused("public", table, column)


@pytest.mark.parametrize(("table", "column"), sorted(TENANT_TRAILS.items()))
def test_tenant_audit_trails_refuse_update_delete_and_truncate(table, column):
    acme = Tenant.objects.get(slug="acme")
    trail_rows_write(acme.schema_name, tenant=acme)

    _assert_refused(acme.schema_name, table, column)


def test_the_orm_cannot_rewrite_or_delete_model_history_either(acme):
    from auditlog.models import LogEntry

    trail_rows_write(acme.schema_name, tenant=acme)
    entry = LogEntry.objects.get(object_repr="a business")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(object_repr="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    entry.refresh_from_db()
    assert entry.object_repr == "a business"


def _guarded_tables(schema: str) -> dict[str, set[str]]:
    """table -> the operations its audit guard triggers refuse, read from the catalogue."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgtype FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal AND t.tgenabled = 'O' "
            "AND t.tgfoid = 'public.audit_trail_guard'::regproc",
            [schema],
        )
        guarded: dict[str, set[str]] = {}
        for table, tgtype in cursor.fetchall():
            # pg_trigger.tgtype bits: 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE; 2 BEFORE.
            assert tgtype & 2, f"{table}: the guard must run BEFORE the change"
            guarded.setdefault(table, set()).update(
                op for bit, op in ((8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if tgtype & bit
            )
        return guarded


def test_every_audit_table_is_guarded_in_public_and_the_template():
    assert _guarded_tables("public") == dict.fromkeys(PUBLIC_TRAILS, ALL_REFUSED)
    assert _guarded_tables("tenant_template") == dict.fromkeys(TENANT_TRAILS, ALL_REFUSED)


def test_a_tenant_created_now_is_cloned_with_its_guards():
    # given a business signed up after the migrations (cloned from the template)
    tenant = TenantFactory.create(slug="newafter")

    # then every audit table of its schema carries the guard, resolving to public's function
    assert _guarded_tables(tenant.schema_name) == dict.fromkeys(TENANT_TRAILS, ALL_REFUSED)
    # and the guard works there
    with schema_context(tenant.schema_name):
        trail_rows_write(tenant.schema_name, tenant=tenant)
    for table, column in TENANT_TRAILS.items():
        _assert_refused(tenant.schema_name, table, column)
