"""The role that serves requests cannot rewrite the audit trail (ARCHITECTURE.md
"Database roles"): it owns nothing, so it can neither disable, drop nor replace the
guard, nor drop or empty a table, and the purge's mark counts only for the owner.

The tests' own connection is a superuser's (config/settings/test.py), which could do all
of it; so each attack runs on a connection of its own, logged in as the serving role to
the test database (set up by `database_setup`, like any other), and is rolled back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context
from psycopg import errors

from apps.accounts.models import Tenant
from apps.accounts.services import signup_confirm, signup_request
from apps.resources.models import Resource
from tests.audit.trails import PUBLIC_TRAILS, TENANT_TRAILS
from tests.bookings.factories import ResourceFactory

pytestmark = pytest.mark.django_db

SERVING = settings.DATABASE_SERVING_USER
OWNER = settings.DATABASE_OWNER_USER

# A history row written eight years ago: past the seven years, so only the purge's
# mark stands between it and a DELETE.
OLD_ROW_SQL = """
INSERT INTO auditlog_logentry (object_pk, object_repr, action, changes, timestamp,
                               content_type_id, changes_text)
SELECT 'x', 'kept', 1, '{}', now() - interval '8 years', min(id), ''
FROM django_content_type
RETURNING id
"""

ATTACKS = {
    "disable the triggers": "ALTER TABLE auditlog_logentry DISABLE TRIGGER ALL",
    "disable the guard": "ALTER TABLE auditlog_logentry DISABLE TRIGGER "
    "auditlog_logentry_append_only",
    "drop the guard": "DROP TRIGGER auditlog_logentry_append_only ON auditlog_logentry",
    "drop the table": "DROP TABLE auditlog_logentry CASCADE",
    "rename the table": "ALTER TABLE auditlog_logentry RENAME TO auditlog_logentry_old",
    "truncate": "TRUNCATE auditlog_logentry",
    "update": "UPDATE auditlog_logentry SET object_repr = 'rewritten' WHERE id = {row}",
    "delete": "DELETE FROM auditlog_logentry WHERE id = {row}",
    "delete with the purge's mark": "SET LOCAL timenest.audit_purge = 'on'; "
    "DELETE FROM auditlog_logentry WHERE id = {row}",
    "delete as a replica": "SET LOCAL session_replication_role = replica; "
    "DELETE FROM auditlog_logentry WHERE id = {row}",
    "replace the guard": "CREATE OR REPLACE FUNCTION public.audit_trail_guard() "
    "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "call the purge": "SELECT * FROM public.audit_purge_before('{schema}', now())",
}


@contextlib.contextmanager
def _connected_as(user: str, password: str) -> Iterator[psycopg.Connection]:
    """A connection of `user` to the test database, whose work is rolled back."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=user,
        password=password or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
    ) as role_connection:
        # Never wait behind the test's own transaction: a refusal comes before any lock.
        role_connection.execute("SET lock_timeout = '5s'")
        try:
            yield role_connection
        finally:
            role_connection.rollback()


@pytest.fixture
def as_serving() -> Iterator[psycopg.Connection]:
    assert SERVING != OWNER, "the tests run with two roles (config/settings/dev.py)"
    with _connected_as(SERVING, settings.DATABASE_SERVING_PASSWORD) as serving:
        yield serving


@pytest.fixture
def as_owner() -> Iterator[psycopg.Connection]:
    with _connected_as(OWNER, settings.DATABASE_OWNER_PASSWORD) as owner:
        yield owner


def _schema(name: str) -> str:
    return "public" if name == "public" else Tenant.objects.get(slug=name).schema_name


def _guard_state(db: psycopg.Connection, schema: str) -> list[tuple[str, str]]:
    return db.execute(
        "SELECT t.tgname, t.tgenabled FROM pg_trigger t "
        "WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal ORDER BY 1",
        [f"{schema}.auditlog_logentry"],
    ).fetchall()


@pytest.mark.parametrize("where", ["public", "acme"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_serving_role_cannot_rewrite_the_audit_trail(as_serving, where, attack):
    # given an eight-year-old row in the history of `where`, written by the serving role
    schema = _schema(where)
    as_serving.execute(f'SET search_path = "{schema}", public')
    row = as_serving.execute(OLD_ROW_SQL).fetchone()[0]
    guards = _guard_state(as_serving, schema)
    assert ("auditlog_logentry_append_only", "O") in guards

    # when the serving role tries to get rid of it or of its guard
    with (
        pytest.raises((errors.InsufficientPrivilege, errors.RestrictViolation)),
        as_serving.transaction(),
    ):
        as_serving.execute(ATTACKS[attack].format(row=row, schema=schema).encode())

    # then the row, the table and its guard are as they were
    assert as_serving.execute(
        "SELECT object_repr FROM auditlog_logentry WHERE id = %s", [row]
    ).fetchall() == [("kept",)]
    assert _guard_state(as_serving, schema) == guards


def test_the_serving_role_owns_nothing_and_may_not_truncate(as_serving):
    acme = _schema("acme")
    role = as_serving.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    assert role == (False, False, False, False)
    owned = as_serving.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole "
        "UNION ALL SELECT count(*) FROM pg_namespace WHERE nspowner = current_user::regrole "
        "UNION ALL SELECT count(*) FROM pg_proc WHERE proowner = current_user::regrole "
        "UNION ALL SELECT count(*) FROM pg_database WHERE datdba = current_user::regrole"
    ).fetchall()
    assert owned == [(0,), (0,), (0,), (0,)]
    # every table of public and of a business: its rows yes, TRUNCATE and the like no
    privileges = as_serving.execute(
        "SELECT n.nspname, c.relname, "
        "has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') "
        "AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'), "
        "has_table_privilege(c.oid, 'TRUNCATE') OR has_table_privilege(c.oid, 'TRIGGER') "
        "OR has_table_privilege(c.oid, 'REFERENCES') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)",
        [["public", acme]],
    ).fetchall()
    tables = {(schema, table) for schema, table, _, _ in privileges}
    assert {("public", table) for table in PUBLIC_TRAILS} <= tables
    assert {(acme, table) for table in TENANT_TRAILS} <= tables
    assert [(s, t) for s, t, rows, _ in privileges if not rows] == []
    assert [(s, t) for s, t, _, more in privileges if more] == []


REFUSED = {
    # a row in the template would be copied into every business created later
    "plant a row in the template": 'INSERT INTO "{template}".django_content_type '
    "(app_label, model) VALUES ('planted', 'row')",
    "read the template": 'SELECT count(*) FROM "{template}".auditlog_logentry',
    "drop a business": 'DROP SCHEMA "{acme}" CASCADE',
    "create a schema": 'CREATE SCHEMA "t_by_hand"',
    "drop the clone function": "DROP FUNCTION public.tenant_schema_clone(text)",
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_the_serving_role_cannot_touch_the_template_or_make_or_drop_a_schema(as_serving, what):
    statement = REFUSED[what].format(acme=_schema("acme"), template=settings.TENANT_BASE_SCHEMA)

    with pytest.raises(errors.InsufficientPrivilege), as_serving.transaction():
        as_serving.execute(statement.encode())


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("t_acme", errors.DuplicateSchema),
        ("T_ACME", errors.DuplicateSchema),
        ("public", errors.InvalidSchemaName),
        ("tenant_template", errors.InvalidSchemaName),
        ("pg_toast2", errors.InvalidSchemaName),
        ('t_x"; DROP SCHEMA t_acme CASCADE; --', errors.InvalidSchemaName),
    ],
)
def test_the_clone_function_makes_only_new_business_schemas(as_serving, name, refusal):
    with pytest.raises(refusal):
        as_serving.execute("SELECT public.tenant_schema_clone(%s)", [name])


def test_the_serving_role_signs_up_a_business_whose_schema_the_owner_owns(monkeypatch):
    # given the tests' connection acting as the serving role for this transaction
    monkeypatch.setattr(
        "apps.accounts.services.transaction.on_commit", lambda callback, **kwargs: callback()
    )
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{SERVING}"')

    # when a business signs up (the link's second step creates it)
    token = signup_request(
        business_name="Served Shop",
        slug="served-shop",
        email="owner@served.test",
        password="a-long-enough-password",
        timezone="UTC",
        confirm_url=lambda token: f"/signup/confirm/{token}/",
        login_url="/",
    )
    assert token is not None
    tenant, _ = signup_confirm(token=token)

    # then its schema and everything in it belong to the owner
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == SERVING
        cursor.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
            [tenant.schema_name],
        )
        assert cursor.fetchall() == [(OWNER,)]
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relnamespace = %s::regnamespace",
            [tenant.schema_name],
        )
        assert cursor.fetchall() == [(OWNER,)]
    # and the serving role works with its rows
    with schema_context(tenant.schema_name):
        resource = ResourceFactory.create()
        assert list(Resource.objects.values_list("pk", flat=True)) == [resource.pk]
    # but cannot drop its audit trail
    with (
        pytest.raises(DatabaseError, match="must be owner"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f'DROP TABLE "{tenant.schema_name}".auditlog_logentry')


def test_the_owner_runs_the_purge(as_owner):
    for where in ("public", "acme"):
        # given an eight-year-old row and a young one
        schema = _schema(where)
        as_owner.execute(f'SET search_path = "{schema}", public')
        old = as_owner.execute(OLD_ROW_SQL).fetchone()[0]
        young = as_owner.execute(
            OLD_ROW_SQL.replace("interval '8 years'", "interval '6 years'")
        ).fetchone()[0]

        # when the owner runs the purge
        removed = dict(
            as_owner.execute(
                "SELECT trail, removed FROM public.audit_purge_before(%s, now())", [schema]
            ).fetchall()
        )

        # then the old row is gone and the young one stays
        assert removed["auditlog_logentry"] >= 1
        left = as_owner.execute(
            "SELECT id FROM auditlog_logentry WHERE id = ANY(%s)", [[old, young]]
        ).fetchall()
        assert left == [(young,)]


def test_tables_the_owner_creates_later_are_the_serving_roles_to_use(as_owner):
    # given a migration that adds a table, in public and in a schema made after set-up
    as_owner.execute("CREATE TABLE public.roles_probe (id integer)")
    as_owner.execute('CREATE SCHEMA "t_roles_probe"')
    as_owner.execute('CREATE TABLE "t_roles_probe".probe (id serial)')

    # then the serving role may use their rows, and no more
    grants = as_owner.execute(
        "SELECT relname, "
        "has_table_privilege(%(role)s, c.oid, 'SELECT') "
        "AND has_table_privilege(%(role)s, c.oid, 'INSERT') "
        "AND has_table_privilege(%(role)s, c.oid, 'UPDATE') "
        "AND has_table_privilege(%(role)s, c.oid, 'DELETE'), "
        "has_table_privilege(%(role)s, c.oid, 'TRUNCATE') "
        "FROM pg_class c WHERE c.oid IN ('public.roles_probe'::regclass, "
        "'t_roles_probe.probe'::regclass)",
        {"role": SERVING},
    ).fetchall()
    assert sorted(grants) == [("probe", True, False), ("roles_probe", True, False)]
    assert as_owner.execute(
        "SELECT has_sequence_privilege(%s, 't_roles_probe.probe_id_seq', 'USAGE')", [SERVING]
    ).fetchone() == (True,)
