"""Audit rows are kept seven years: only `public.audit_purge_before` (through
`manage.py audit_purge`) removes older ones, and nothing removes a younger one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.audit.services import audit_purge, audit_schemas
from tests.audit.trails import PUBLIC_TRAILS, TENANT_TRAILS, row_exists, trail_row_backdated

pytestmark = pytest.mark.django_db

SEVEN_YEARS = dt.timedelta(days=7 * 365 + 2)  # leap days included


def _rows(written_at: dt.datetime) -> list[tuple[str, str, str]]:
    """One row dated `written_at` in every audit table of public and of acme."""
    acme = Tenant.objects.get(slug="acme")
    rows = []
    for schema, trails in (("public", PUBLIC_TRAILS), (acme.schema_name, TENANT_TRAILS)):
        for table in trails:
            row_id = trail_row_backdated(schema, table, written_at=written_at, tenant=acme)
            rows.append((schema, table, row_id))
    return rows


def test_purge_removes_rows_older_than_seven_years_and_keeps_younger_ones(capsys):
    now = timezone.now()
    old = _rows(now - SEVEN_YEARS - dt.timedelta(days=1))
    young = _rows(now - SEVEN_YEARS + dt.timedelta(days=2))

    call_command("audit_purge")

    assert [row for row in old if row_exists(*row)] == []
    assert [row for row in young if not row_exists(*row)] == []
    output = capsys.readouterr().out
    assert "public: " in output and "t_acme: " in output


def test_purge_never_removes_a_younger_row_whatever_the_cutoff():
    now = timezone.now()
    young = _rows(now - SEVEN_YEARS + dt.timedelta(days=2))
    recent = _rows(now - dt.timedelta(days=30))

    removed = audit_purge(before=now + dt.timedelta(days=365))

    assert [row for row in young + recent if not row_exists(*row)] == []
    assert all(count == 0 for trails in removed.values() for count in trails.values())


def test_purge_before_an_earlier_date_keeps_rows_after_it():
    now = timezone.now()
    ancient = _rows(now - dt.timedelta(days=12 * 365))
    old = _rows(now - dt.timedelta(days=9 * 365))

    audit_purge(before=now - dt.timedelta(days=10 * 365))

    assert [row for row in ancient if row_exists(*row)] == []
    assert [row for row in old if not row_exists(*row)] == []


def test_purge_covers_every_schema_with_audit_tables():
    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")

    schemas = audit_schemas()

    assert {"public", "tenant_template", acme.schema_name, globex.schema_name} <= set(schemas)


def test_the_purge_mark_alone_lets_no_young_row_go():
    # given someone who sets the purge function's mark by hand
    (schema, table, row_id), *_ = _rows(timezone.now() - SEVEN_YEARS + dt.timedelta(days=2))

    # a younger row is still refused
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL timenest.audit_purge = 'on'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(f'DELETE FROM "{schema}".{table} WHERE id = %s', [row_id])  # noqa: S608
    assert row_exists(schema, table, row_id)


def test_the_rest_of_the_purging_transaction_is_guarded_again():
    # given an old row, left by a purge that stopped before it (an earlier cutoff)
    old_row = _rows(timezone.now() - dt.timedelta(days=9 * 365))[0]
    schema, table, row_id = old_row

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM public.audit_purge_before(%s, %s)",
            [schema, timezone.now() - dt.timedelta(days=10 * 365)],
        )
        # when the same transaction deletes afterwards, the guard refuses again
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(f'DELETE FROM "{schema}".{table} WHERE id = %s', [row_id])  # noqa: S608
    assert row_exists(*old_row)


def test_truncate_is_refused_even_during_a_purge():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL timenest.audit_purge = 'on'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("TRUNCATE public.audit_supportaccess")
