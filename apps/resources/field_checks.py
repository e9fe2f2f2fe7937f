"""Checks of raw input values that services share. Each returns the cleaned value, or
None after appending a FieldError, so a service can collect every problem at once and
refuse the whole write (nothing partial is saved)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import models

from apps.core.errors import FieldError, ValidationFailed
from apps.core.timezones import is_timezone

_M = TypeVar("_M", bound=models.Model)


class Problems:
    """Collects FieldErrors; `raise_if_any` turns them into one ValidationFailed."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def has(self, field: str) -> bool:
        return any(error.field == field for error in self.errors)

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise ValidationFailed(message, list(self.errors))


def text(
    problems: Problems, field: str, value: Any, *, max_length: int, required: bool = True
) -> str | None:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        problems.add(field, "Enter text.")
        return None
    value = value.strip()
    if required and not value:
        problems.add(field, "This field is required.")
        return None
    if len(value) > max_length:
        problems.add(field, f"Keep it under {max_length + 1} characters.")
        return None
    return value


def whole_number(
    problems: Problems,
    field: str,
    value: Any,
    *,
    minimum: int,
    maximum: int,
    unit: str = "",
    nullable: bool = False,
) -> int | None:
    if value is None:
        if not nullable:
            problems.add(field, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        else:
            problems.add(field, "Enter a whole number.")
            return None
    suffix = f" {unit}" if unit else ""
    if value < minimum:
        problems.add(field, f"Enter at least {minimum}{suffix}.")
        return None
    if value > maximum:
        problems.add(field, f"Enter at most {maximum}{suffix}.")
        return None
    return int(value)


def boolean(problems: Problems, field: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    problems.add(field, "Enter true or false.")
    return None


def decimal_amount(problems: Problems, field: str, value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        problems.add(field, "Enter an amount such as 45.00.")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(field, "Enter an amount such as 45.00.")
        return None
    if not amount.is_finite():
        problems.add(field, "Enter an amount such as 45.00.")
        return None
    return amount


def calendar_date(problems: Problems, field: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        problems.add(field, "Enter a date (YYYY-MM-DD), not a date and time.")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(field, "Enter a date as YYYY-MM-DD.")
    return None


def instance(
    problems: Problems, field: str, model: type[_M], value: Any, *, label: str
) -> _M | None:
    """A model instance given as itself or by id (UUID or its text)."""
    if isinstance(value, model):
        return value
    try:
        pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        problems.add(field, f"“{value}” is not a valid {label} id.")
        return None
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        problems.add(field, f"There is no {label} with id {pk}.")
    return found


def timezone_name(problems: Problems, field: str, value: Any) -> str | None:
    if not is_timezone(value):
        problems.add(field, f"“{value}” is not an IANA time zone (e.g. Europe/London).")
        return None
    return str(value)


def as_list(value: Any) -> Any:
    """A one-pass iterable (a generator, a set) as a list, so it can be checked and then
    saved; anything else (None, text, a number) unchanged, for its check to refuse."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value
    return list(value)


def only_known_fields(problems: Problems, data: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in data:
        if key not in known:
            problems.add(key, "This field cannot be changed here.")
