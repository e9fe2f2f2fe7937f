"""Serializer fields the API shares: instants with their offset, bounded dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Far enough for any booking or report; beyond it date arithmetic (a day later, a
# service's end) would leave Python's datetime range.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.DateTimeField):
    """RFC 3339 with the offset the value carries (slots are shown in the asked zone),
    and, as input, an instant that must state its offset: a naive time is ambiguous."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2026-03-02T09:00:00+00:00.",
        "out_of_range": f"Give a time between {EARLIEST.year} and {LATEST.year}.",
    }

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str) and len(value) > 64:
            self.fail("invalid", format="RFC 3339")
        parsed: dt.datetime = super().to_internal_value(value)
        if not EARLIEST <= parsed.astimezone(dt.UTC).date() <= LATEST:
            self.fail("out_of_range")
        return parsed

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return value

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class BoundedDateField(serializers.DateField):
    default_error_messages = {
        "out_of_range": f"Give a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
    }

    def to_internal_value(self, value: Any) -> dt.date:
        parsed: dt.date = super().to_internal_value(value)
        if not EARLIEST <= parsed <= LATEST:
            self.fail("out_of_range")
        return parsed
