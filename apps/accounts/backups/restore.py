"""Restores, each checked against the manifest afterwards.

- `database_restore`: a database archive into an empty database (created when missing,
  by the admin), with pg_restore's parallel jobs, as the owner. Owners and grants come
  with the archive (the two roles must exist in the cluster); the grant function runs
  afterwards all the same, then ANALYZE, then the count.
- `tenant_restore`: one business of a database or tenant archive, beside the live ones
  under a new slug, for inspection and recovery. Never over anything that exists: a
  slug, schema or domain already there refuses the restore, so no row of a live
  business, audit trails included, is ever overwritten. The schema is restored under
  its new name in one transaction (renamed in the restore's SQL, data untouched) and
  counted; then the business is registered **suspended by support and not ready**: no
  request is routed to it, periodic work (reminders, outbox, holds) skips it, so it
  sends nothing to anybody, and it takes no bookings. Its memberships are recreated for
  the members who still exist, so support can later open it to them.

The append-only audit triggers of the restored tables are created after their rows are
loaded (pg_restore's order: tables, data, then indexes, constraints and triggers), so
they see no write during a restore and guard the copy from then on.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from apps.accounts.backups.census import (
    SchemaCensus,
    application_schemas,
    census_differences,
    schemas_census,
)
from apps.accounts.backups.client_runs import Progress, program_run, progress_ignore
from apps.accounts.backups.errors import RestoreFailed, RestoreMismatch, RestoreRefused
from apps.accounts.backups.manifest import KIND_DATABASE, Manifest, TenantRows, manifest_read
from apps.accounts.backups.postgres_clients import (
    DatabaseAccess,
    admin_access,
    client_program,
    database_access,
)
from apps.accounts.database_roles import database_grants_ensure
from apps.accounts.models import Domain, Membership, Tenant, User
from apps.accounts.subdomains import schema_name_for, slug_problems
from apps.core.errors import NotFound
from apps.core.tenancy import use_public_schema

logger = logging.getLogger(__name__)

# pg_restore -v: `processing item 42 TABLE t_acme bookings_booking` (serial part) and
# `finished item 4242 TABLE DATA t_acme bookings_booking` (parallel part).
_ITEM_DONE = re.compile(r"(?:processing|finished) item \d+ (.*)$")


@dataclass
class RestoreResult:
    database: str
    schemas: int
    tables: int
    rows: int
    bookings: int
    seconds: dict[str, float] = field(default_factory=dict)
    tenant: str = ""
    schema: str = ""
    migrated: bool = False


def _counted(census: dict[str, SchemaCensus]) -> tuple[int, int, int]:
    tables = sum(len(counted.tables) for counted in census.values())
    rows = sum(sum(counted.tables.values()) for counted in census.values())
    bookings = sum(counted.bookings.rows for counted in census.values() if counted.bookings)
    return tables, rows, bookings


def _role_connect(access: DatabaseAccess) -> psycopg.Connection[Any]:
    conn = access.connect()
    if access.role:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(access.role)))
    return conn


def _roles_missing(access: DatabaseAccess, manifest: Manifest) -> list[str]:
    wanted = sorted(set(manifest.roles.values()))
    with access.on("postgres").connect() as conn:
        present = {
            name
            for (name,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [wanted]
            ).fetchall()
        }
    return [role for role in wanted if role not in present]


def _database_contents(access: DatabaseAccess) -> list[str]:
    """What the database already holds of its own: any schema but public, any relation
    or function in public (extensions' objects aside)."""
    with access.connect() as conn:
        rows = conn.execute(
            r"""
            SELECT 'schema ' || n.nspname FROM pg_namespace n
            WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'public')
            UNION ALL
            SELECT 'relation public.' || c.relname FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype = 'e')
            UNION ALL
            SELECT 'function public.' || p.proname FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                              AND d.objid = p.oid AND d.deptype = 'e')
            LIMIT 5
            """
        ).fetchall()
    return [row[0] for row in rows]


def _database_prepare(access: DatabaseAccess, manifest: Manifest) -> bool:
    """Creates the target (owned by the owner, with the source's encoding and locale)
    when it is missing; refuses one that holds anything. Returns whether it created it."""
    admin = admin_access(access).on("postgres")
    with admin.connect() as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [access.dbname]
        ).fetchone()
        if exists is None:
            options = manifest.database_settings
            try:
                conn.execute(
                    sql.SQL(
                        "CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING {} "
                        "LC_COLLATE {} LC_CTYPE {}"
                    ).format(
                        sql.Identifier(access.dbname),
                        sql.Identifier(manifest.roles["owner"]),
                        sql.Literal(options["encoding"]),
                        sql.Literal(options["collate"]),
                        sql.Literal(options["ctype"]),
                    )
                )
            except psycopg.Error as error:
                raise RestoreRefused(
                    _(
                        "Could not create the database %(name)s (%(error)s): create it empty, "
                        "owned by %(owner)s, and run the restore again."
                    )
                    % {"name": access.dbname, "error": error, "owner": manifest.roles["owner"]}
                ) from error
            return True
    held = _database_contents(access)
    if held:
        raise RestoreRefused(
            _(
                "The database %(name)s is not empty (%(held)s, …): a whole database is "
                "restored only into an empty one."
            )
            % {"name": access.dbname, "held": ", ".join(held)}
        )
    return False


def _archive_items(pg_restore: str, archive: Path, env: dict[str, str]) -> int:
    listing = subprocess.run(  # noqa: S603
        [pg_restore, "--list", str(archive)], env=env, capture_output=True, text=True, check=True
    ).stdout
    return sum(1 for line in listing.splitlines() if line and not line.startswith(";"))


def _census_compare(
    *, expected: dict[str, SchemaCensus], found: dict[str, SchemaCensus], names: dict[str, str]
) -> None:
    """Raises RestoreMismatch listing every difference; `names` maps each expected
    schema to where it was restored."""
    differences = []
    for schema, wanted in expected.items():
        restored = names.get(schema, schema)
        if restored not in found:
            differences.append(f"{restored}: missing")
            continue
        differences += census_differences(expected=wanted, found=found[restored], label=restored)
    if differences:
        raise RestoreMismatch(
            _("What was restored does not match the manifest:\n%(differences)s")
            % {"differences": "\n".join(differences[:50])}
        )


def database_restore(
    *, archive: Path, database: str, jobs: int = 2, on_progress: Progress = progress_ignore
) -> RestoreResult:
    """Restores a database archive into `database` (empty or missing), then grants,
    analyzes and counts it against the manifest."""
    manifest = manifest_read(archive)
    if manifest.kind != KIND_DATABASE:
        raise RestoreRefused(
            _("%(archive)s holds one business: restore it with --tenant and --as.")
            % {"archive": archive.name}
        )
    access = database_access().on(database)
    missing = _roles_missing(access, manifest)
    if missing:
        raise RestoreRefused(
            _(
                "The roles %(roles)s do not exist in this cluster: create them first "
                "(OPERATIONS.md, “Restore a whole database”)."
            )
            % {"roles": ", ".join(missing)}
        )
    _database_prepare(access, manifest)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    pg_restore = client_program("pg_restore", server_major=access.server_major())
    env = access.environ()
    command = [pg_restore, "--verbose", "--exit-on-error", f"--jobs={max(1, jobs)}"]
    command += [f"--dbname={database}"]
    if access.role:
        command.append(f"--role={access.role}")
    command.append(str(archive))
    status, tail = program_run(
        command, env=env, step=_ITEM_DONE, total=_archive_items(pg_restore, archive, env),
        on_progress=on_progress,
    )  # fmt: skip
    if status != 0:
        raise RestoreFailed(
            _(
                "pg_restore failed; %(name)s holds a partial restore: drop it before trying "
                "again.\n%(tail)s"
            )
            % {"name": database, "tail": tail}
        )
    seconds["restore"] = round(time.perf_counter() - clock, 2)

    clock = time.perf_counter()
    with _role_connect(access) as conn, conn.cursor() as cursor:
        database_grants_ensure(cursor)
    on_progress(0, 1, _("analyzing"))
    vacuumdb = client_program("vacuumdb", server_major=access.server_major())
    analyzed = subprocess.run(  # noqa: S603
        [vacuumdb, "--analyze-only", "--quiet", f"--jobs={max(1, jobs)}", f"--dbname={database}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if analyzed.returncode != 0:
        raise RestoreFailed(_("ANALYZE failed:\n%(error)s") % {"error": analyzed.stderr[-2000:]})
    seconds["grant_and_analyze"] = round(time.perf_counter() - clock, 2)

    clock = time.perf_counter()
    with access.connect() as conn:
        schemas = application_schemas(conn)
    found = schemas_census(access, schemas, on_progress=on_progress)
    _census_compare(expected=manifest.schemas, found=found, names={})
    seconds["verify"] = round(time.perf_counter() - clock, 2)
    tables, rows, bookings = _counted(manifest.schemas)
    logger.info("backup.database_restored", extra={"database": database, "seconds": seconds})
    return RestoreResult(
        database=database,
        schemas=len(manifest.schemas),
        tables=tables,
        rows=rows,
        bookings=bookings,
        seconds=seconds,
    )


# --- One business, beside the live ones ---------------------------------------------


def schema_script_rename(lines: Iterable[bytes], *, old: str, new: str) -> Iterator[bytes]:
    """pg_restore's SQL for schema `old`, for schema `new`: the name is replaced as a
    whole word in the statements, never in the rows (the lines of a COPY block)."""
    name = re.compile(rb"\b" + re.escape(old.encode()) + rb"\b")
    replacement = new.encode()
    in_rows = False
    for line in lines:
        if in_rows:
            if line.rstrip(b"\r\n") == b"\\.":
                in_rows = False
            yield line
            continue
        if line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;"):
            in_rows = True
        yield name.sub(replacement, line)


def _unknown_migrations(applied: dict[str, list[str]]) -> list[str]:
    """Migrations of an installed app that this code does not have (the backup was made
    by newer code). Apps no longer installed keep their rows in django_migrations: not
    counted."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    return [
        f"{app}.{name}" for app, names in applied.items() for name in names
        if app in loader.migrated_apps and (app, name) not in known
    ]  # fmt: skip


def _template_migrations() -> set[tuple[str, str]]:
    with schema_context(settings.TENANT_BASE_SCHEMA), connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return {(str(app), str(name)) for app, name in cursor.fetchall()}


def _tenant_restore_refusals(*, new_slug: str, new_schema: str) -> list[str]:
    refusals = list(slug_problems(new_slug))
    domain = f"{new_slug}.{settings.BASE_DOMAIN}"
    if Tenant.objects.filter(slug=new_slug).exists():
        refusals.append(_("A business %(slug)s exists.") % {"slug": new_slug})
    if Tenant.objects.filter(schema_name=new_schema).exists() or schema_exists(new_schema):
        refusals.append(_("The schema %(schema)s exists.") % {"schema": new_schema})
    if Domain.objects.filter(domain=domain).exists():
        refusals.append(_("The domain %(domain)s is taken.") % {"domain": domain})
    return refusals


def _copy_lines(source: IO[bytes]) -> Iterator[bytes]:
    yield from iter(source.readline, b"")


def _schema_restore(
    *,
    access: DatabaseAccess,
    archive: Path,
    old: str,
    new: str,
    tables: int,
    on_progress: Progress,
) -> None:
    """Restores schema `old` of the archive as the new schema `new`, in one transaction
    that commits only when pg_restore and every statement succeeded."""
    major = access.server_major()
    env = access.environ()
    restore_command = [client_program("pg_restore", server_major=major), "--file=-"]
    restore_command += ["--schema", old]
    if access.role:
        restore_command.append(f"--role={access.role}")
    restore_command.append(str(archive))
    psql_command = [client_program("psql", server_major=major), "--no-psqlrc", "--quiet"]
    psql_command += ["--set=ON_ERROR_STOP=1", f"--dbname={access.dbname}", "--file=-"]
    prelude = "BEGIN;\n"
    if access.role:
        prelude += f'SET ROLE "{access.role}";\n'
    # pg_restore --schema restores what the schema holds, not the schema itself.
    prelude += f'CREATE SCHEMA "{new}";\n'
    copied = 0
    with (
        tempfile.TemporaryFile() as restore_errors,
        tempfile.TemporaryFile() as psql_errors,
        subprocess.Popen(  # noqa: S603
            psql_command, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=psql_errors,
        ) as psql,
        subprocess.Popen(  # noqa: S603
            restore_command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=restore_errors,
        ) as pg_restore,
    ):  # fmt: skip
        assert psql.stdin is not None and pg_restore.stdout is not None
        try:
            psql.stdin.write(prelude.encode())
            for line in schema_script_rename(_copy_lines(pg_restore.stdout), old=old, new=new):
                if line.startswith(b"COPY "):
                    copied += 1
                    on_progress(min(copied, tables), tables, line.split(b" ", 2)[1].decode())
                psql.stdin.write(line)
            restored = pg_restore.wait() == 0
            if restored:
                # Without it psql ends with the transaction open: the server rolls it back.
                psql.stdin.write(b"COMMIT;\n")
            psql.stdin.close()
        except BrokenPipeError:  # psql stopped at an error; nothing reads pg_restore now
            pg_restore.kill()
            pg_restore.wait()
            restored = False
        psql_status = psql.wait()
        if not restored or psql_status != 0:
            restore_errors.seek(0)
            psql_errors.seek(0)
            tail = (restore_errors.read() + psql_errors.read()).decode(errors="replace")
            raise RestoreFailed(
                _("Restoring the schema failed; nothing was kept.\n%(tail)s")
                % {"tail": tail[-3000:]}
            )


def _schema_drop(access: DatabaseAccess, schema: str) -> None:
    with _role_connect(access) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# The tenant row's columns a copy takes from the backup; the others describe the live
# business (identity, standing, billing's clock) or are set for the copy.
_TENANT_FIELDS_KEPT_OUT = {
    "id", "slug", "schema_name", "status", "is_ready", "closed_at", "closed_reason",
    "support_suspended_at", "support_suspended_reason", "trial_ends_at", "past_due_since",
    "created_at", "updated_at",
}  # fmt: skip


@transaction.atomic
def _tenant_register(
    *, rows: TenantRows, new_slug: str, new_schema: str, reason: str
) -> tuple[Tenant, int]:
    use_public_schema()
    now = timezone.now()
    tenant = Tenant(
        slug=new_slug,
        schema_name=new_schema,
        status=Tenant.Status.SUSPENDED,
        is_ready=False,
        support_suspended_at=now,
        support_suspended_reason=reason,
    )
    for model_field in Tenant._meta.concrete_fields:
        if model_field.attname in _TENANT_FIELDS_KEPT_OUT or model_field.attname not in rows.tenant:
            continue
        setattr(
            tenant, model_field.attname, model_field.to_python(rows.tenant[model_field.attname])
        )
    tenant.auto_create_schema = False  # restored already
    tenant.save(verbosity=0)
    Domain.objects.create(
        domain=f"{new_slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True
    )
    members = {str(row["user_id"]): row["role"] for row in rows.memberships}
    existing = User.objects.filter(pk__in=list(members))
    Membership.objects.bulk_create(
        Membership(user=user, tenant=tenant, role=members[str(user.pk)]) for user in existing
    )
    return tenant, len(existing)


def tenant_restore(
    *, archive: Path, slug: str, new_slug: str, on_progress: Progress = progress_ignore
) -> RestoreResult:
    """Restores business `slug` of the archive (a database or tenant backup) as
    `new_slug`, beside the live businesses (see the module's docstring)."""
    manifest = manifest_read(archive)
    rows = manifest.tenants.get(slug)
    if rows is None or rows.schema not in manifest.schemas:
        raise NotFound(
            _("%(archive)s holds no business %(slug)s.") % {"archive": archive.name, "slug": slug}
        )
    new_slug = new_slug.strip().lower()
    new_schema = schema_name_for(new_slug)
    refusals = _tenant_restore_refusals(new_slug=new_slug, new_schema=new_schema)
    unknown = _unknown_migrations(manifest.migrations.get("tenant", {}))
    if unknown:
        refusals.append(
            _("The backup has migrations this code does not know (%(names)s): restore it "
              "with the version that made it.") % {"names": ", ".join(unknown[:5])}
        )  # fmt: skip
    if refusals:
        raise RestoreRefused(
            _("Not restored as %(slug)s: %(reasons)s")
            % {"slug": new_slug, "reasons": " ".join(refusals)}
        )
    access = database_access()
    expected = manifest.schemas[rows.schema]
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    _schema_restore(
        access=access,
        archive=archive,
        old=rows.schema,
        new=new_schema,
        tables=len(expected.tables),
        on_progress=on_progress,
    )
    seconds["restore"] = round(time.perf_counter() - clock, 2)
    try:
        clock = time.perf_counter()
        found = schemas_census(access, [new_schema])
        _census_compare(
            expected={rows.schema: expected}, found=found, names={rows.schema: new_schema}
        )
        seconds["verify"] = round(time.perf_counter() - clock, 2)
        reason = _(
            "Restored from backup %(archive)s (%(slug)s as of %(when)s) for inspection; "
            "not a live business."
        ) % {"archive": archive.name, "slug": slug, "when": manifest.started_at}
        tenant, members = _tenant_register(
            rows=rows, new_slug=new_slug, new_schema=new_schema, reason=reason
        )
    except BaseException:
        _schema_drop(access, new_schema)
        raise
    applied = {
        (app, name)
        for app, names in manifest.migrations.get("tenant", {}).items()
        for name in names
    }
    migrated = not _template_migrations() <= applied
    if migrated:
        # An older backup: its schema catches up with the code, as every tenant's does.
        call_command(
            "migrate_schemas", tenant=True, schema_name=new_schema, interactive=False, verbosity=0
        )
        use_public_schema()
    database_grants_ensure()
    tables, rows_count, bookings = _counted({new_schema: expected})
    logger.info(
        "backup.tenant_restored",
        extra={"from": slug, "as": new_slug, "schema": new_schema, "members": members},
    )
    return RestoreResult(
        database=access.dbname,
        schemas=1,
        tables=tables,
        rows=rows_count,
        bookings=bookings,
        seconds=seconds,
        tenant=tenant.slug,
        schema=new_schema,
        migrated=migrated,
    )
