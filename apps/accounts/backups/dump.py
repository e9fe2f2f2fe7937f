"""`backup_create`: the whole database, or one business, as a pg_dump archive (custom
format) with its manifest, both counted in one snapshot.

A database backup holds every schema (public with the platform's rows, the template,
every business) with owners and grants, so a restore into an empty database needs
nothing else but the two roles. A tenant backup holds the business's schema and, in the
manifest, its rows of the public schema (tenant, domains, memberships with each
member's email): what `restore.tenant_restore` needs to bring it back beside the live
businesses. Its users, billing records (plan history, Stripe customer and subscription)
and the platform's audit trail stay in the database backups only.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from apps.accounts.backups.census import application_schemas, schemas_census
from apps.accounts.backups.client_runs import Progress, program_run, progress_ignore
from apps.accounts.backups.errors import BackupFailed
from apps.accounts.backups.manifest import (
    KIND_DATABASE,
    KIND_TENANT,
    Manifest,
    TenantRows,
    file_sha256,
    manifest_path,
    manifest_write,
)
from apps.accounts.backups.postgres_clients import client_program, database_access
from apps.accounts.models import Domain, Membership, Tenant, User
from apps.core.errors import NotFound

logger = logging.getLogger(__name__)

# pg_dump -v: `pg_dump: dumping contents of table "t_acme.bookings_booking"`
_TABLE_DUMPED = re.compile(r'dumping contents of table "([^"]+)"')


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    manifest: Path
    size_bytes: int
    seconds: float
    tables: int
    rows: int


def _tenant_rows(conn: psycopg.Connection[Any], *, tenant_id: str | None) -> dict[str, TenantRows]:
    """Each business's public rows (or one's), as this snapshot sees them."""
    tenants, domains = sql.Identifier(Tenant._meta.db_table), sql.Identifier(Domain._meta.db_table)
    memberships = sql.Identifier(Membership._meta.db_table)
    users = sql.Identifier(User._meta.db_table)
    only = sql.SQL("AND t.id = {}").format(sql.Literal(tenant_id)) if tenant_id else sql.SQL("")
    rows: dict[str, TenantRows] = {}
    by_id: dict[str, TenantRows] = {}
    for slug, schema, row in conn.execute(
        sql.SQL(
            "SELECT t.slug, t.schema_name, to_jsonb(t) FROM {} t "
            "WHERE t.schema_name <> 'public' {} ORDER BY t.slug"
        ).format(tenants, only)
    ).fetchall():
        rows[slug] = by_id[str(row["id"])] = TenantRows(schema=schema, tenant=row)
    for tenant, row in conn.execute(
        sql.SQL("SELECT d.tenant_id, to_jsonb(d) FROM {} d ORDER BY d.id").format(domains)
    ).fetchall():
        if str(tenant) in by_id:
            by_id[str(tenant)].domains.append(row)
    for tenant, row in conn.execute(
        sql.SQL(
            "SELECT m.tenant_id, to_jsonb(m) || jsonb_build_object('user_email', u.email) "
            "FROM {} m JOIN {} u ON u.id = m.user_id ORDER BY m.created_at, m.id"
        ).format(memberships, users)
    ).fetchall():
        if str(tenant) in by_id:
            by_id[str(tenant)].memberships.append(row)
    return rows


def _migrations(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    exists = conn.execute(
        "SELECT to_regclass(format('%%I.django_migrations', %s::text))", [schema]
    ).fetchone()
    if not exists or exists[0] is None:
        return applied
    for app, name in conn.execute(
        sql.SQL("SELECT app, name FROM {} ORDER BY app, name").format(
            sql.Identifier(schema, "django_migrations")
        )
    ).fetchall():
        applied.setdefault(app, []).append(name)
    return applied


def _lock_capacity_check(conn: psycopg.Connection[Any], schemas: list[str]) -> None:
    """pg_dump locks every table it dumps until it ends, in PostgreSQL's shared lock table
    of max_locks_per_transaction * (max_connections + max_prepared_transactions) entries:
    with thousands of businesses the default (64) is too small, and pg_dump would fail
    after minutes with "out of shared memory". Refuses at once instead, saying what to
    set (OPERATIONS.md "Backups and recovery")."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)),"
        " current_setting('max_locks_per_transaction')::int,"
        " current_setting('max_connections')::int"
        " + current_setting('max_prepared_transactions')::int",
        [schemas],
    ).fetchone()
    assert row is not None
    tables, per_transaction, slots = int(row[0]), int(row[1]), int(row[2])
    # Room for what every other session locks meanwhile.
    needed = tables + 20 * slots
    if needed > per_transaction * slots:
        raise BackupFailed(
            _(
                "pg_dump would lock %(tables)d tables at once, more than PostgreSQL's lock "
                "table holds (max_locks_per_transaction = %(now)d): set it to at least "
                "%(wanted)d and restart PostgreSQL."
            )
            % {"tables": tables, "now": per_transaction, "wanted": -(-needed // slots)}
        )


def backup_create(
    *, directory: Path, tenant_slug: str = "", on_progress: Progress = progress_ignore
) -> BackupResult:
    """Writes `<database>[-<slug>]-<UTC time>.dump` and its manifest into `directory`
    (made 0700 when missing; the files are 0600: they hold every business's data)."""
    access = database_access()
    started_at = timezone.now()
    clock = time.perf_counter()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    stem = f"{access.dbname}-{tenant_slug}-{stamp}" if tenant_slug else f"{access.dbname}-{stamp}"
    archive = directory / f"{stem}.dump"

    with access.connect(autocommit=False) as conn:
        # One snapshot for the counts and for pg_dump (--snapshot): the manifest counts
        # exactly what the archive holds, while the business carries on writing.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None
        if tenant_slug:
            found = conn.execute(
                sql.SQL(
                    "SELECT id, schema_name FROM {} WHERE slug = %s AND schema_name <> 'public'"
                ).format(sql.Identifier(Tenant._meta.db_table)),
                [tenant_slug],
            ).fetchone()
            if found is None:
                raise NotFound(_("There is no business %(slug)s.") % {"slug": tenant_slug})
            tenant_id, tenant_schema = str(found[0]), str(found[1])
            schemas = [tenant_schema]
            business_schema = tenant_schema
        else:
            tenant_id = None
            schemas = application_schemas(conn)
            business_schema = settings.TENANT_BASE_SCHEMA
        if not tenant_slug:
            _lock_capacity_check(conn, schemas)
        census = schemas_census(
            access, schemas, snapshot=str(snapshot_row[0]), on_progress=on_progress
        )
        tenants = _tenant_rows(conn, tenant_id=tenant_id)
        migrations = {
            "public": _migrations(conn, "public"),
            "tenant": _migrations(conn, business_schema),
        }
        version = conn.execute("SELECT current_setting('server_version_num')::int, version()")
        server_num, server_text = version.fetchone() or (0, "")
        db_row = conn.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
            "WHERE datname = current_database()"
        ).fetchone()
        assert db_row is not None
        pg_dump = client_program("pg_dump", server_major=int(server_num) // 10000)
        command = [pg_dump, "--format=custom", "--verbose", f"--snapshot={snapshot_row[0]}"]
        command += [f"--file={archive}"]
        if tenant_slug:
            command += ["--schema", tenant_schema]
        else:
            # Spare schemas (apps/accounts/schema_pool.py) are left out, as by the census.
            command += ["--exclude-schema=pool_*"]
        tables = sum(len(counted.tables) for counted in census.values())
        previous_umask = os.umask(0o077)
        try:
            status, tail = program_run(
                command, env=access.environ(), step=_TABLE_DUMPED, total=tables,
                on_progress=on_progress,
            )  # fmt: skip
        finally:
            os.umask(previous_umask)
        conn.rollback()
    if status != 0:
        archive.unlink(missing_ok=True)
        raise BackupFailed(_("pg_dump failed:\n%(tail)s") % {"tail": tail})

    pg_dump_version = subprocess.run(  # noqa: S603
        [pg_dump, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    size = archive.stat().st_size
    seconds = round(time.perf_counter() - clock, 2)
    manifest = Manifest(
        kind=KIND_TENANT if tenant_slug else KIND_DATABASE,
        tenant=tenant_slug,
        archive=archive.name,
        database=access.dbname,
        started_at=started_at.isoformat(),
        finished_at=timezone.now().isoformat(),
        seconds=seconds,
        size_bytes=size,
        sha256=file_sha256(archive),
        postgresql={
            "server_version_num": int(server_num),
            "server": str(server_text),
            "pg_dump": pg_dump_version,
        },
        roles={
            "owner": settings.DATABASE_OWNER_USER,
            "serving": settings.DATABASE_SERVING_USER,
        },
        database_settings={"encoding": db_row[0], "collate": db_row[1], "ctype": db_row[2]},
        migrations=migrations,
        schemas=census,
        tenants=tenants,
    )
    path = manifest_path(archive)
    manifest_write(manifest, path=path)
    rows = sum(sum(counted.tables.values()) for counted in census.values())
    logger.info(
        "backup.created",
        extra={"archive": str(archive), "tenant": tenant_slug, "bytes": size, "seconds": seconds},
    )
    return BackupResult(
        archive=archive, manifest=path, size_bytes=size, seconds=seconds, tables=tables, rows=rows
    )
