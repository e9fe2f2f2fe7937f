"""What a database holds, counted: every table's rows per schema and a checksum of each
schema's bookings. Taken in the backup's own snapshot it goes into the manifest; taken
again after a restore it must come out the same."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.apps import apps
from psycopg import sql

from apps.accounts.backups.client_runs import Progress, progress_ignore
from apps.accounts.backups.postgres_clients import DatabaseAccess

SCHEMAS_PER_TRANSACTION = 20

# The application's schemas: every one but PostgreSQL's own, an extension's and the
# spare copies of the template (apps/accounts/schema_pool.py: empty, and renamed or
# dropped by any signup or fill while a backup runs).
_SCHEMAS_SQL = r"""
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pool\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                    AND d.deptype = 'e')
ORDER BY n.nspname
"""

_TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""


def bookings_table() -> str:
    """The bookings' table, by its model: read through the app registry, so that
    accounts (below bookings) does not import it."""
    return str(apps.get_model("bookings", "Booking")._meta.db_table)


@dataclass
class BookingsChecksum:
    """md5 of the bookings' rows as text, one per line in id order: any changed,
    missing or extra booking changes it."""

    rows: int
    md5: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "md5": self.md5}


@dataclass
class SchemaCensus:
    tables: dict[str, int] = field(default_factory=dict)
    bookings: BookingsChecksum | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": dict(sorted(self.tables.items())),
            "bookings": self.bookings.as_dict() if self.bookings else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SchemaCensus:
        bookings = data.get("bookings")
        return cls(
            tables={str(name): int(rows) for name, rows in data["tables"].items()},
            bookings=BookingsChecksum(int(bookings["rows"]), str(bookings["md5"]))
            if bookings
            else None,
        )


def application_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    return [name for (name,) in conn.execute(_SCHEMAS_SQL).fetchall()]


def _schema_count(
    conn: psycopg.Connection[Any], schema: str, names: list[str], bookings: str
) -> SchemaCensus:
    counted = SchemaCensus()
    if names:
        statement = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*) FROM {}").format(
                sql.Literal(index), sql.Identifier(schema, name)
            )
            for index, name in enumerate(names)
        )
        for index, rows in conn.execute(statement).fetchall():
            counted.tables[names[index]] = int(rows)
    if bookings in names:
        row = conn.execute(
            sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(b::text, E'\\n' ORDER BY b.id), ''))"
                " FROM {} b"
            ).format(sql.Identifier(schema, bookings))
        ).fetchone()
        assert row is not None
        counted.bookings = BookingsChecksum(int(row[0]), str(row[1]))
    return counted


def schemas_census(
    access: DatabaseAccess,
    schemas: list[str],
    *,
    snapshot: str = "",
    on_progress: Progress = progress_ignore,
) -> dict[str, SchemaCensus]:
    """Counts every table of `schemas` (one statement per schema) and checksums their
    bookings: as `snapshot` (exported by `pg_export_snapshot()`) sees them, else as
    committed now. A few schemas per transaction: a transaction keeps a lock on each
    table it read until it ends, and a thousand businesses' tables would not fit in
    PostgreSQL's lock table at once."""
    bookings = bookings_table()
    census: dict[str, SchemaCensus] = {}
    with access.connect(autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        for start in range(0, len(schemas), SCHEMAS_PER_TRANSACTION):
            batch = schemas[start : start + SCHEMAS_PER_TRANSACTION]
            if snapshot:
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            tables: dict[str, list[str]] = {schema: [] for schema in batch}
            for schema, table in conn.execute(_TABLES_SQL, [batch]).fetchall():
                tables[schema].append(table)
            for schema, names in tables.items():
                census[schema] = _schema_count(conn, schema, names, bookings)
            conn.commit()
            on_progress(len(census), len(schemas), batch[-1])
    return census


def census_differences(*, expected: SchemaCensus, found: SchemaCensus, label: str) -> list[str]:
    """Every way `found` differs from `expected`, one line each (empty: they agree)."""
    differences = []
    for table in sorted(set(expected.tables) | set(found.tables)):
        want, got = expected.tables.get(table), found.tables.get(table)
        if want != got:
            differences.append(f"{label}.{table}: {want} rows in the backup, {got} restored")
    if expected.bookings != found.bookings:
        differences.append(
            f"{label}: bookings checksum {expected.bookings} in the backup, {found.bookings} "
            "restored"
        )
    return differences
