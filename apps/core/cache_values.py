"""Model rows as JSON cache values: the cache stores JSON's own types only
(config/cache_serializer.py), so a row is kept as its concrete fields and read back
through each field's `to_python`, exactly: datetimes keep their microseconds and
offset, UUIDs, decimals, durations and bytes come back as themselves.

A row read back is the row as it was cached: no related objects, no annotations, and
`_state` as if loaded from the default database.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.utils.duration import duration_iso_string

M = TypeVar("M", bound=Model)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return duration_iso_string(value)
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def model_cache_value(instance: Model) -> dict[str, Any]:
    """The row's concrete fields (foreign keys as their ids), JSON-compatible."""
    return {
        field.attname: _json_value(field.value_from_object(instance))
        for field in instance._meta.concrete_fields
    }


def model_from_cache_value(model: type[M], value: Mapping[str, Any]) -> M:
    """The row `model_cache_value` stored. KeyError when a field is missing (an entry
    written before the model gained it): the caller treats that as a miss."""
    fields = model._meta.concrete_fields
    return model.from_db(
        DEFAULT_DB_ALIAS,
        [field.attname for field in fields],
        [field.to_python(value[field.attname]) for field in fields],
    )
