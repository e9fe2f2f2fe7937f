"""Moving encrypted values to the newest key, and recomputing lookup hashes
(`manage.py rotate_encryption_keys`).

The columns come from `pii.encrypted_columns()` (each app registers its own), in every
schema that holds their tables. Work goes in batches, one transaction each, keyset-paged
by primary key over the rows that still need it: a value already under the newest key id
is never read again, so an interrupted run loses at most its open batch and a re-run
carries on. The rows of a batch are locked (`SELECT … FOR UPDATE`, in primary-key order)
while they are re-encrypted, so a value the application writes meanwhile waits for the
batch and is then written over it, never the other way round; a row written before the
batch locks it is read as written. A value that no configured key decrypts is left as it
is and counted, never encrypted again as if it were clear text.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Count, Model, Q, Value
from django.db.models import Field as DjangoField
from django.db.models.expressions import Case, When
from django.db.models.functions import Left
from django_tenants.utils import schema_context

from apps.bookings import pii

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Census labels for values that carry no key id.
LEGACY = "no key id"  # Fernet tokens written before key lists
NOT_ENCRYPTED = "not a token"  # e.g. idempotent answers stored before they were encrypted
_FERNET_V1_PREFIX = "gAAAAA"  # version byte 0x80 and a 64-bit timestamp's high zeros

# A row to write: its new values in field order, then its primary key.
Row = tuple[str | UUID | int, ...]
# Called after each committed batch: values handled (rotation) or rows read (rehash).
Progress = Callable[[int], None]


@dataclass(frozen=True)
class ColumnCensus:
    """How many non-empty values of one column each key made, in one schema."""

    schema: str
    model: str
    field: str
    by_key: dict[str, int]


@dataclass
class RotationResult:
    rewritten: int = 0
    unreadable: int = 0
    # False when `max_batches` stopped the run before every row was visited.
    complete: bool = True


@dataclass
class RehashResult:
    updated: int = 0
    unreadable: int = 0
    # Rows whose new hash another row already has (two customers with one address,
    # created while lookups missed): left with their old hash, to be merged by a person.
    conflicts: list[str] = field(default_factory=list)


def pii_schemas() -> list[str]:
    """Every schema holding a table with encrypted columns (public included when one
    lives there), tenants whose row is gone included: none may keep an old key's values."""
    tables = [apps.get_model(columns.model)._meta.db_table for columns in pii.encrypted_columns()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_name = ANY(%s) ORDER BY table_schema",
            [tables],
        )
        return [schema for (schema,) in cursor.fetchall()]


def _models_in(schema: str) -> list[tuple[type[Model], pii.EncryptedColumns]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        present = {name for (name,) in cursor.fetchall()}
    found = []
    for columns in pii.encrypted_columns():
        model = apps.get_model(columns.model)
        if model._meta.db_table in present:
            found.append((model, columns))
    return found


def encrypted_values_census(*, schema: str) -> list[ColumnCensus]:
    """Counts per key id of every registered column: a GROUP BY on the token's prefix,
    no decryption."""
    census = []
    with schema_context(schema):
        for model, columns in _models_in(schema):
            for name in columns.fields:
                key = Case(
                    When(**{f"{name}__regex": pii.KEY_ID_PATTERN}, then=Left(name, 8)),
                    When(**{f"{name}__startswith": _FERNET_V1_PREFIX}, then=Value(LEGACY)),
                    default=Value(NOT_ENCRYPTED),
                    output_field=CharField(),
                )
                rows = (
                    model._base_manager.exclude(**{name: ""})
                    .annotate(pii_key_id=key)
                    .order_by()
                    .values("pii_key_id")
                    .annotate(pii_values=Count("pk"))
                )
                census.append(
                    ColumnCensus(
                        schema=schema,
                        model=columns.model,
                        field=name,
                        by_key={row["pii_key_id"]: row["pii_values"] for row in rows},
                    )
                )
    return census


def census_by_key(census: list[ColumnCensus]) -> Counter[str]:
    total: Counter[str] = Counter()
    for column in census:
        total.update(column.by_key)
    return total


def encrypted_values_rotate(
    *,
    schema: str,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    on_progress: Progress | None = None,
) -> RotationResult:
    """Re-encrypts with the newest key every registered value of `schema` under another
    key (or under none); `max_batches` stops early (per table) for a run in parts."""
    result = RotationResult()
    newest = pii.pii_key_ids()[0]
    with schema_context(schema):
        for model, columns in _models_in(schema):
            _table_rotate(
                model,
                columns.fields,
                newest=newest,
                batch_size=batch_size,
                max_batches=max_batches,
                on_progress=on_progress,
                result=result,
            )
    logger.info(
        "pii.rotation.schema_done",
        extra={
            "schema": schema,
            "rewritten": result.rewritten,
            "unreadable": result.unreadable,
            "complete": result.complete,
        },
    )
    return result


def _table_rotate(
    model: type[Model],
    fields: tuple[str, ...],
    *,
    newest: str,
    batch_size: int,
    max_batches: int | None,
    on_progress: Progress | None,
    result: RotationResult,
) -> None:
    needs_work = Q()
    for name in fields:
        needs_work |= ~Q(**{name: ""}) & ~Q(**{f"{name}__startswith": f"{newest}:"})
    pending = model._base_manager.filter(needs_work).order_by("pk")
    last_pk = None
    batches = 0
    while True:
        if max_batches is not None and batches >= max_batches:
            result.complete = not pending.filter(pk__gt=last_pk).exists()
            return
        with transaction.atomic():
            page = pending if last_pk is None else pending.filter(pk__gt=last_pk)
            rows = list(page.select_for_update().values_list("pk", *fields)[:batch_size])
            if not rows:
                return
            changed: list[Row] = []
            rewritten = unreadable = 0
            for pk, *values in rows:
                read = dict(zip(fields, values, strict=True))
                written = dict(read)
                for name, value in read.items():
                    try:
                        written[name] = pii.pii_reencrypt(value)
                    except pii.InvalidToken:
                        unreadable += 1
                    rewritten += written[name] != value
                if written != read:
                    changed.append((*written.values(), pk))
            # A changed row's other fields are written back as read under the lock: no
            # value can change underneath while the lock is held.
            _rows_update(model, fields, changed)
        batches += 1
        last_pk = rows[-1][0]
        result.rewritten += rewritten
        result.unreadable += unreadable
        if on_progress is not None:
            on_progress(rewritten + unreadable)


def _rows_update(model: type[Model], fields: Sequence[str], rows: list[Row]) -> None:
    """UPDATE … SET each field WHERE pk, for rows of (*values, pk): one pipelined
    statement per row (queryset.bulk_update's CASE expressions cost seconds per batch),
    leaving `updated_at` alone: the values did not change, only their encryption."""
    if not rows:
        return
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_column(model, name))} = %s" for name in fields)
    table, pk = quote(model._meta.db_table), quote(_column(model, model._meta.pk.name))
    # Table and column names come from the model; the values are bound.
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, DjangoField) and field.column  # concrete fields only
    return field.column


def lookup_hashes_recompute(
    *, schema: str, batch_size: int = BATCH_SIZE, on_progress: Progress | None = None
) -> RehashResult:
    """Recomputes every registered lookup hash of `schema` with the current lookup key,
    from the decrypted value it hashes (stored normalized). Idempotent: a hash that is
    already right is not written."""
    result = RehashResult()
    with schema_context(schema):
        for model, columns in _models_in(schema):
            if columns.lookup_hashes:
                _table_rehash(model, dict(columns.lookup_hashes), batch_size, on_progress, result)
    return result


def _table_rehash(
    model: type[Model],
    hashes: dict[str, str],
    batch_size: int,
    on_progress: Progress | None,
    result: RehashResult,
) -> None:
    hash_fields = list(hashes)
    source_fields = [hashes[name] for name in hash_fields]
    every_row = model._base_manager.order_by("pk")
    last_pk = None
    while True:
        with transaction.atomic():
            page = every_row if last_pk is None else every_row.filter(pk__gt=last_pk)
            rows = list(
                page.select_for_update().values_list("pk", *hash_fields, *source_fields)[
                    :batch_size
                ]
            )
            if not rows:
                return
            changed: list[Row] = []
            for pk, *values in rows:
                stored = dict(zip(hash_fields, values[: len(hash_fields)], strict=True))
                sources = values[len(hash_fields) :]
                try:
                    wanted = {
                        name: pii.lookup_hash(pii.pii_decrypt(source))
                        for name, source in zip(hash_fields, sources, strict=True)
                    }
                except pii.InvalidToken:
                    result.unreadable += 1
                    continue
                if wanted != stored:
                    changed.append((*(wanted[name] for name in hash_fields), pk))
            try:
                with transaction.atomic():
                    _rows_update(model, hash_fields, changed)
                result.updated += len(changed)
            except IntegrityError:
                _rehash_one_by_one(model, changed, hash_fields, result)
        last_pk = rows[-1][0]
        if on_progress is not None:
            on_progress(len(rows))


def _rehash_one_by_one(
    model: type[Model],
    changed: list[Row],
    hash_fields: list[str],
    result: RehashResult,
) -> None:
    for row in changed:
        try:
            with transaction.atomic():
                _rows_update(model, hash_fields, [row])
            result.updated += 1
        except IntegrityError:
            result.conflicts.append(str(row[-1]))
