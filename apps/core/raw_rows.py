"""Hand-written SQL for the few statements of the hot paths (a hold), where building
and compiling the ORM's query cost more than PostgreSQL took to run it.

Rows come back as model instances through the ORM's own loading (`Model.objects.raw`
applies each field's converters; `model_from_values` is `Model.from_db`), and rows go in
through each field's own `pre_save` and `get_db_prep_save`, as `Model.save` does. Column
lists follow the models' concrete fields, so a new field is read and written with no
change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def columns(model: type[Model], alias: str) -> str:
    """`alias."column", ...` for every concrete field, in the model's field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in model._meta.concrete_fields)


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


@cache
def _converters(model: type[Model]) -> list[tuple[int, Any]]:
    return [
        (index, field)
        for index, field in enumerate(model._meta.concrete_fields)
        if hasattr(field, "from_db_value")
    ]


def model_from_values(model: type[M], values: Sequence[Any]) -> M:
    """An instance from the values of `columns(model, ...)`, as loaded from the database
    (each field's `from_db_value` applied, as the ORM applies it)."""
    row = list(values)
    for index, field in _converters(model):
        row[index] = field.from_db_value(row[index], None, connection)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), row)


def insert_values(instance: Model) -> tuple[str, list[Any]]:
    """The column list and values of an INSERT of `instance` as `save()` would write
    them (auto_now fields stamped on the instance). A value that is an expression (a
    database default) is refused: only the ORM's own INSERT writes those."""
    fields = instance._meta.concrete_fields
    values = []
    for field in fields:
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):
            raise TypeError(
                f"{field} is an expression: insert {type(instance).__name__} with save()"
            )
        values.append(field.get_db_prep_save(value, connection))
    quote = connection.ops.quote_name
    return ", ".join(quote(str(field.column)) for field in fields), values
