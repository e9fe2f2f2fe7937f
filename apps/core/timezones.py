"""Which time zones the product knows, checked and offered the same way everywhere: the
IANA names of the zone database (Python's `zoneinfo`), read once per process.

Arithmetic in a zone (wall time to instants across DST) belongs to the scheduling
domain: apps/calendars/timezones.py.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(value: object) -> bool:
    return isinstance(value, str) and value in iana_zones()


def validate_timezone(value: str) -> None:
    """Model-field validator (the services check first and say so per field)."""
    if not is_timezone(value):
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Europe/London).")


@lru_cache(maxsize=1)
def _choices() -> tuple[tuple[str, str], ...]:
    zones = sorted(z for z in iana_zones() if "/" in z and not z.startswith("Etc/"))
    return (("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones))


def timezone_choices() -> list[tuple[str, str]]:
    """The zones a business or a location picks from: UTC, then every Region/Place."""
    return list(_choices())
