"""Tenant schemas migrated in minutes, however many there are.

django-tenants' `migrate_schemas` runs Django's whole `migrate` command once per schema:
it loads the migration graph, renders every model's state, applies the migrations and
sends post_migrate, about 0.6 s a schema on this project's 2-core machine even when one
small migration is new (10 minutes for 1,001 schemas, 1 h 40 min for 10,000).

Tenant schemas are all made alike (cloned from the template, migrated by the same code),
so what migrating one of them executes is what migrating any other executes.
`tenant_schemas_migrate` therefore:

1. reads, in a few queries, which migrations every schema has applied, and groups the
   schemas by what they lack (normally one group: the migrations just deployed);
2. migrates the first schema of a group with django-tenants' own executor, recording
   every statement it executes (the migrations' DDL as Django decided it against the
   live schema, their RunSQL, the `django_migrations` rows, post_migrate's content
   types), except that a RunPython operation is recorded as itself with the project
   states it ran with, not as the statements its code ran (those depend on the rows);
3. replays that record in every other schema of the group, each in one transaction, on
   a few connections in parallel (`TENANT_MIGRATION_WORKERS`), running each recorded
   RunPython's code again in that schema.

Only what a record can reproduce is replayed. A group goes through the standard executor
schema by schema when one of its tenant migrations is not atomic, adds or alters a field
whose default is computed per call (a token or a UUID would be the same in every
schema), or replaces others (squashed). A schema whose replay fails is
rolled back and migrated the standard way: never worse than `migrate_schemas`, only faster.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations import (
    AddField,
    AlterField,
    RunPython,
    SeparateDatabaseAndState,
)
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from tqdm import tqdm

from apps.core.tenancy import use_public_schema

logger = logging.getLogger(__name__)

MigrationKey = tuple[str, str]

# Schemas whose applied migrations are read in one query.
_READ_CHUNK = 500

# django-tenants points each connection at its schema itself; the replay does that too.
_SEARCH_PATH = re.compile(r"\s*SET\s+search_path\b", re.IGNORECASE)
# Objects in `public` (the trigger functions tenant migrations define there) cannot be
# redefined by many transactions at once ("tuple concurrently updated"). The recorded
# schema has defined them already, so a replay leaves out a plain
# `CREATE [OR REPLACE] FUNCTION public.…` (the same text, already in force); any other
# statement that changes an object in `public` makes the replay take this lock and hold
# it to its commit.
_PUBLIC_FUNCTION = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+public\.[^;$']*?(\$\w*\$).*?\1[^;]*;",
    re.IGNORECASE | re.DOTALL,
)
_PUBLIC_DDL = re.compile(
    r"\b(?:CREATE|ALTER|DROP|COMMENT\s+ON)\s+(?:OR\s+REPLACE\s+)?(?:\w+\s+)?"
    r"(?:FUNCTION|PROCEDURE|TABLE|VIEW|SEQUENCE|TYPE|INDEX|EXTENSION|SCHEMA|TRIGGER\s+\w+\s+ON)"
    r"\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?public\."
    r"|\b(?:GRANT|REVOKE)\b[^;]*\bpublic\.",
    re.IGNORECASE,
)
_PUBLIC_DDL_LOCK = 727_274_001


@dataclass
class TenantMigrationReport:
    schemas: int = 0
    up_to_date: int = 0
    # Migrated by django-tenants' executor while their statements were recorded.
    recorded: int = 0
    replayed: int = 0
    # Migrated by django-tenants' executor: not replayable, or the replay failed.
    standard: list[str] = field(default_factory=list)
    statements: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: Any
    many: bool


@dataclass(frozen=True)
class _Code:
    """A RunPython operation met while recording: its statements depend on each schema's
    rows, so it is run again in each schema, with the project states it ran with."""

    operation: RunPython
    app_label: str
    from_state: ProjectState
    to_state: ProjectState

    def run(self) -> None:
        # Each schema gets its own copy of the models rendered when the code first ran
        # (rendering them is most of a migration's cost); marked complete, so RunPython
        # does not drop and render them again.
        from_state = self.from_state.clone()
        from_state.is_delayed = False
        with connection.schema_editor(atomic=False) as editor:
            self.operation.database_forwards(self.app_label, editor, from_state, self.to_state)


_Step = _Statement | _Code


def tenant_schemas_migrate(
    schemas: Sequence[str], *, workers: int | None = None, verbosity: int = 0
) -> TenantMigrationReport:
    """Brings every schema in `schemas` (tenant schemas that exist) up to date."""
    started = time.perf_counter()
    report = TenantMigrationReport(schemas=len(schemas))
    use_public_schema()
    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    full_plan = _full_plan(loader)
    applied, no_table = _applied_by_schema(schemas)
    standard = list(no_table)

    groups: dict[tuple[MigrationKey, ...], list[str]] = defaultdict(list)
    for schema, done in applied.items():
        groups[tuple(key for key in full_plan if key not in done)].append(schema)

    for pending, members in groups.items():
        if not pending:
            report.up_to_date += len(members)
            continue
        migrations = [loader.graph.nodes[key] for key in pending]
        if len(members) == 1 or not replayable(migrations, tenant_apps=_tenant_app_labels()):
            standard.extend(members)
            continue
        first, rest = members[0], members[1:]
        record = _migrate_recording(first, verbosity=verbosity)
        report.recorded += 1
        report.statements = max(report.statements, len(record))
        failed = _replay_everywhere(
            rest, record, workers=workers or settings.TENANT_MIGRATION_WORKERS, show=verbosity > 0
        )
        report.replayed += len(rest) - len(failed)
        standard.extend(failed)

    for schema in sorted(standard):
        _migrate_standard(schema, verbosity=verbosity)
    report.standard = sorted(standard)
    use_public_schema()
    report.seconds = time.perf_counter() - started
    logger.info(
        "tenants.migrated",
        extra={
            "schemas": report.schemas,
            "up_to_date": report.up_to_date,
            "replayed": report.replayed,
            "standard": len(report.standard),
            "seconds": round(report.seconds, 1),
        },
    )
    return report


def replayable(migrations: Iterable[Migration], *, tenant_apps: set[str]) -> bool:
    """Whether migrating one schema can be recorded and replayed in the others: see the
    module's docstring. Migrations of public-only apps are recorded in tenant schemas
    but run nothing there, so they never stand in the way."""
    for migration in migrations:
        if migration.app_label not in tenant_apps:
            continue
        if not migration.atomic or migration.replaces:
            return False
        if not all(_same_everywhere(operation) for operation in migration.operations):
            return False
    return True


def _same_everywhere(operation: Operation) -> bool:
    if isinstance(operation, SeparateDatabaseAndState):
        return all(_same_everywhere(inner) for inner in operation.database_operations)
    if isinstance(operation, AddField | AlterField):
        field = operation.field
        if field.has_default() and callable(field.default):
            return False
    # Code is not recorded: it runs again in each schema (_Code).
    return isinstance(operation, RunPython) or bool(operation.reduces_to_sql)


def _tenant_app_labels() -> set[str]:
    return {
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    }


def _full_plan(loader: MigrationLoader) -> list[MigrationKey]:
    """Every migration of the project in an order that applies (dependencies first)."""
    plan: list[MigrationKey] = []
    seen: set[MigrationKey] = set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(key)
    return plan


def _applied_by_schema(schemas: Sequence[str]) -> tuple[dict[str, set[MigrationKey]], list[str]]:
    """The migrations each schema has recorded, and the schemas without a record table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [list(schemas)],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        applied: dict[str, set[MigrationKey]] = {s: set() for s in schemas if s in with_table}
        names = sorted(applied)
        for start in range(0, len(names), _READ_CHUNK):
            chunk = names[start : start + _READ_CHUNK]
            query = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {connection.ops.quote_name(s)}.django_migrations"  # noqa: S608
                for s in chunk
            )
            cursor.execute(query, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return applied, [s for s in schemas if s not in with_table]


def _migrate_standard(schema: str, *, verbosity: int) -> None:
    call_command(
        "migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=verbosity
    )
    use_public_schema()


def _migrate_recording(schema: str, *, verbosity: int) -> list[_Step]:
    """Migrates `schema` the standard way and returns every statement it executed, with
    each RunPython operation in its place instead of the statements its code ran."""
    record: list[_Step] = []
    in_code = _Quiet()
    run_code = RunPython.database_forwards
    introspection = connection.introspection

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not in_code.active and not _SEARCH_PATH.match(sql):
            record.append(_Statement(sql, params, many))
        return execute(sql, params, many, context)

    def code_kept(
        operation: RunPython,
        app_label: str,
        schema_editor: Any,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        with in_code:
            run_code(operation, app_label, schema_editor, from_state, to_state)
        # After the run: its models are rendered in full by then.
        record.append(_Code(operation, app_label, from_state.clone(), to_state.clone()))

    RunPython.database_forwards = code_kept  # type: ignore[method-assign,assignment]
    # What Django reads of the catalogue to decide its DDL is not replayed: the DDL is.
    # (Listing the visible tables reads pg_class across every schema: most of a replay.)
    connection.introspection = cast(Any, _QuietCalls(introspection, in_code))
    try:
        with connection.execute_wrapper(keep):
            _migrate_standard(schema, verbosity=verbosity)
    finally:
        RunPython.database_forwards = run_code  # type: ignore[method-assign]
        connection.introspection = introspection
    return record


class _Quiet:
    """While active, the recorder keeps nothing (nestable)."""

    def __init__(self) -> None:
        self.depth = 0

    @property
    def active(self) -> bool:
        return self.depth > 0

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1


class _QuietCalls:
    """Calls `inner`'s methods with the recorder quiet."""

    def __init__(self, inner: Any, quiet: _Quiet) -> None:
        self._inner = inner
        self._quiet = quiet

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._quiet:
                return value(*args, **kwargs)

        return call


def _replay_everywhere(
    schemas: list[str], record: list[_Step], *, workers: int, show: bool
) -> list[str]:
    """Replays `record` in every schema; returns the schemas where it failed (each
    rolled back)."""
    failed: list[str] = []
    lock = threading.Lock()
    bar = tqdm(total=len(schemas), unit="schema", desc="migrating", disable=not show)

    def run(chunk: list[str]) -> None:
        try:
            for schema in chunk:
                try:
                    _replay_one(schema, record)
                except Exception:
                    logger.exception("tenants.migration_replay_failed", extra={"schema": schema})
                    with lock:
                        failed.append(schema)
                finally:
                    bar.update()
        finally:
            connections.close_all()

    record = _for_replay(record)
    workers = max(1, min(workers, len(schemas)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, [schemas[i::workers] for i in range(workers)]))
    finally:
        bar.close()
    return failed


def _for_replay(record: list[_Step]) -> list[_Step]:
    """The record without the definitions of functions in `public` (see _PUBLIC_FUNCTION),
    unless a statement does more with such a function (drops, alters, grants it): that
    statement stays whole, and its replays take the lock."""
    steps: list[_Step] = []
    for step in record:
        if isinstance(step, _Statement) and not step.many and step.params is None:
            lean = _PUBLIC_FUNCTION.sub("", step.sql)
            if lean != step.sql and not _PUBLIC_DDL.search(lean):
                if lean.strip(" \n\t;"):
                    steps.append(_Statement(lean, None, False))
                continue
        steps.append(step)
    return steps


def _replay_one(schema: str, record: list[_Step]) -> None:
    cast(Any, connection).set_schema(schema)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            public_locked = False
            for statement in record:
                if isinstance(statement, _Code):
                    statement.run()
                    continue
                if not public_locked and _PUBLIC_DDL.search(statement.sql):
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLIC_DDL_LOCK])
                    public_locked = True
                if statement.many:
                    cursor.executemany(statement.sql, statement.params)
                else:
                    cursor.execute(statement.sql, statement.params)
    finally:
        use_public_schema()
