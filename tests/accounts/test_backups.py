"""Backups and their restore (OPERATIONS.md "Backups and recovery"): the drills restore a
business seeded for them, and the whole test database into a scratch database, and
compare every table's rows with the source; the refusals need no archive of substance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from apps.accounts.backups.census import SchemaCensus
from apps.accounts.backups.errors import RestoreRefused
from apps.accounts.backups.manifest import (
    KIND_TENANT,
    Manifest,
    TenantRows,
    file_sha256,
    manifest_path,
    manifest_write,
)
from apps.accounts.backups.postgres_clients import (
    POSTGRES_LIBRARY,
    client_program,
    database_access,
)
from apps.accounts.backups.restore import (
    database_restore,
    schema_script_rename,
    tenant_restore,
)
from apps.accounts.models import Membership, Tenant, User
from apps.accounts.services import tenant_create
from apps.bookings.models import Booking
from apps.bookings.services import booking_confirm, booking_hold
from apps.core.tenancy import use_public_schema
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)

DRILL = "backup-drill"


def _admin(dbname: str) -> psycopg.Connection[Any]:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=dbname, user=str(db["USER"]), password=str(db["PASSWORD"] or "") or None,
        host=str(db["HOST"]), port=str(db["PORT"]), autocommit=True,
    )  # fmt: skip


def _tables_digest(dbname: str, schemas: list[str]) -> dict[str, tuple[int, str]]:
    """Every table of `schemas`: its row count and an md5 of its rows, sorted as text —
    computed here, apart from the code under test."""
    digest = {}
    with _admin(dbname) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            [schemas],
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "  # noqa: S608
                f'FROM "{schema}"."{table}" t'
            ).fetchone()
            assert row is not None
            digest[f"{table}"] = (row[0], row[1])
    return digest


@pytest.fixture(scope="module")
def drill_business(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """A business with a catalogue, slots and six bookings (held and confirmed, with
    their append-only history), committed so that pg_dump sees it."""
    with django_db_blocker.unblock():
        use_public_schema()
        owner = User.objects.create_user(email=f"owner@{DRILL}.test")
        tenant = tenant_create(slug=DRILL, name="Backup drill", owner=owner, timezone="UTC")
        with tenant_context(tenant):
            resource = ResourceFactory.create()
            service = ServiceFactory.create(resources=[resource])
            start = future_start(days=3)
            slots_create(resource=resource, starts_at=start, count=6)
            for n in range(6):
                booking = booking_hold(
                    service=service, resource=resource,
                    starts_at=start + timedelta(minutes=30 * n), customer=customer(n),
                    actor=CUSTOMER,
                )  # fmt: skip
                if n % 2 == 0:
                    booking_confirm(booking=booking, actor=STAFF)
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        tenant.delete(force_drop=True)
        User.objects.filter(pk=owner.pk)._raw_delete(using=connection.alias)


@pytest.fixture
def schemas_dropped() -> Iterator[list[str]]:
    """Schemas a test restored (committed by psql outside the test's transaction),
    dropped once the test's transaction, which holds locks on them, has ended: request
    it before `db`."""
    schemas: list[str] = []
    yield schemas
    with _admin(connection.settings_dict["NAME"]) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def scratch_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore_drill"
    with _admin("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    yield name
    with _admin("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_a_business_backup_restores_beside_the_live_ones_under_a_new_slug(
    schemas_dropped, drill_business, db, tmp_path
):
    # given a backup of the business alone
    call_command("backup", tenant=DRILL, output_dir=tmp_path, verbosity=0)
    (archive,) = tmp_path.glob(f"*-{DRILL}-*.dump")
    manifest = json.loads(manifest_path(archive).read_text())
    assert manifest["kind"] == KIND_TENANT
    assert manifest["schemas"]["t_backup_drill"]["bookings"]["rows"] == 6
    assert [m["user_email"] for m in manifest["tenants"][DRILL]["memberships"]] == [
        f"owner@{DRILL}.test"
    ]
    assert archive.stat().st_mode & 0o077 == 0
    schemas_dropped.append("t_backup_drill_copy")
    live = _tables_digest(connection.settings_dict["NAME"], ["t_backup_drill"])

    # when it is restored under a new slug
    out = StringIO()
    call_command(
        "restore", str(archive), tenant=DRILL, as_slug=f"{DRILL}-copy", stdout=out, verbosity=0
    )

    # then every table holds the same rows as the live business's
    assert "The counts match the manifest" in out.getvalue()
    assert _tables_digest(connection.settings_dict["NAME"], ["t_backup_drill_copy"]) == live
    copy = Tenant.objects.get(slug=f"{DRILL}-copy")
    assert (copy.status, copy.is_ready) == (Tenant.Status.SUSPENDED, False)
    assert copy.support_suspended_at is not None
    assert copy.name == "Backup drill"
    assert list(copy.domains.values_list("domain", flat=True)) == [
        f"{DRILL}-copy.{settings.BASE_DOMAIN}"
    ]
    assert list(Membership.objects.filter(tenant=copy).values_list("user__email", "role")) == [
        (f"owner@{DRILL}.test", Membership.Role.ADMIN)
    ]
    with tenant_context(copy):
        assert Booking.objects.filter(status=Booking.Status.CONFIRMED).count() == 3
    # the serving role may use the copy's rows, and its audit trail is guarded again
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_schema_privilege(%s, 't_backup_drill_copy', 'USAGE'), "
            "has_table_privilege(%s, 't_backup_drill_copy.bookings_booking', 'SELECT')",
            [settings.DATABASE_SERVING_USER] * 2,
        )
        assert cursor.fetchone() == (True, True)
    with (
        _admin(connection.settings_dict["NAME"]) as conn,
        pytest.raises(psycopg.errors.RestrictViolation),
    ):
        conn.execute("UPDATE t_backup_drill_copy.bookings_bookingevent SET created_at = now()")


@pytest.mark.slow
def test_a_whole_database_backup_restores_into_an_empty_database(
    drill_business, db, tmp_path, scratch_database
):
    source = connection.settings_dict["NAME"]
    call_command("backup", output_dir=tmp_path, verbosity=0)
    (archive,) = tmp_path.glob("*.dump")
    manifest = json.loads(manifest_path(archive).read_text())
    schemas = sorted(manifest["schemas"])
    assert {"public", settings.TENANT_BASE_SCHEMA, "t_backup_drill", "t_acme"} <= set(schemas)
    assert DRILL in manifest["tenants"]

    out = StringIO()
    call_command("restore", str(archive), database=scratch_database, jobs=2, stdout=out)

    assert "The counts match the manifest" in out.getvalue()
    for schema in schemas:
        assert _tables_digest(scratch_database, [schema]) == _tables_digest(source, [schema]), (
            schema
        )
    # the serving role's grants and the owner's ownership came along
    with _admin(scratch_database) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(c.relowner), has_table_privilege(%s, c.oid, 'INSERT') "
            "FROM pg_class c WHERE c.oid = 't_backup_drill.bookings_booking'::regclass",
            [settings.DATABASE_SERVING_USER],
        ).fetchone()
    assert row == (settings.DATABASE_OWNER_USER, True)


def _fake_archive(tmp_path: Path, *, slug: str = "shop", schema: str = "t_shop") -> Path:
    """An archive file and a manifest that agree on its checksum: enough for the checks
    a restore makes before it runs anything."""
    archive = tmp_path / "timenest-shop-20260101T000000Z.dump"
    archive.write_bytes(b"not really an archive")
    manifest = Manifest(
        kind=KIND_TENANT, tenant=slug, archive=archive.name, database="timenest",
        started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:01+00:00",
        seconds=1.0, size_bytes=archive.stat().st_size, sha256=file_sha256(archive),
        postgresql={}, roles={"owner": settings.DATABASE_OWNER_USER,
                              "serving": settings.DATABASE_SERVING_USER},
        database_settings={}, migrations={"public": {}, "tenant": {}},
        schemas={schema: SchemaCensus()},
        tenants={slug: TenantRows(schema=schema, tenant={"name": "Shop"})},
    )  # fmt: skip
    manifest_write(manifest, path=manifest_path(archive))
    return archive


def test_a_business_is_never_restored_over_an_existing_one(db, tmp_path):
    archive = _fake_archive(tmp_path)

    with pytest.raises(RestoreRefused) as refused:
        tenant_restore(archive=archive, slug="shop", new_slug="acme")

    assert "A business acme exists." in refused.value.message
    assert "The schema t_acme exists." in refused.value.message


def test_a_damaged_archive_is_refused_before_anything_is_restored(db, tmp_path):
    archive = _fake_archive(tmp_path)
    archive.write_bytes(b"not really an archive, and cut sho")

    with pytest.raises(CommandError, match="does not match its manifest's checksum"):
        call_command("restore", str(archive), tenant="shop", as_slug="shop-copy", verbosity=0)
    assert not Tenant.objects.filter(slug="shop-copy").exists()


def test_an_archive_without_its_manifest_is_refused(db, tmp_path):
    archive = _fake_archive(tmp_path)
    manifest_path(archive).unlink()

    with pytest.raises(RestoreRefused, match="unfinished backup"):
        tenant_restore(archive=archive, slug="shop", new_slug="shop-copy")


def test_a_whole_restore_refuses_a_database_that_holds_anything(db, tmp_path):
    archive = _fake_archive(tmp_path)
    manifest = json.loads(manifest_path(archive).read_text())
    manifest["kind"] = "database"
    manifest_path(archive).write_text(json.dumps(manifest))

    with pytest.raises(RestoreRefused, match="is not empty"):
        database_restore(archive=archive, database=connection.settings_dict["NAME"])


def test_backups_refuse_the_serving_role(monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "USER", settings.DATABASE_SERVING_USER)

    with pytest.raises(RestoreRefused, match="owner"):
        database_access()


def test_the_schema_is_renamed_in_statements_never_in_rows():
    script = [
        b"CREATE TABLE t_shop.bookings_booking (id uuid NOT NULL);\n",
        b"ALTER TABLE t_shop.bookings_booking OWNER TO timenest_owner;\n",
        b"COPY t_shop.bookings_booking (id, notes) FROM stdin;\n",
        b"1\tmoved from t_shop to t_shop_2\n",
        b"\\.\n",
        b"CREATE TABLE t_shop_2.kept (id int);\n",
        b"CREATE INDEX x ON t_shop.bookings_booking USING btree (id);\n",
    ]

    renamed = list(schema_script_rename(script, old="t_shop", new="t_shop_copy"))

    assert renamed == [
        b"CREATE TABLE t_shop_copy.bookings_booking (id uuid NOT NULL);\n",
        b"ALTER TABLE t_shop_copy.bookings_booking OWNER TO timenest_owner;\n",
        b"COPY t_shop_copy.bookings_booking (id, notes) FROM stdin;\n",
        b"1\tmoved from t_shop to t_shop_2\n",
        b"\\.\n",
        b"CREATE TABLE t_shop_2.kept (id int);\n",
        b"CREATE INDEX x ON t_shop_copy.bookings_booking USING btree (id);\n",
    ]


def test_client_programs_are_the_servers_major_version(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000

    found = client_program("pg_restore", server_major=major)

    if (POSTGRES_LIBRARY / str(major)).is_dir():  # Debian's layout, as on this project's machines
        assert found == str(POSTGRES_LIBRARY / str(major) / "bin" / "pg_restore")
    else:
        assert found.endswith("pg_restore")
