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


# The regions of the zone database's Region/Place names, in the order pickers list them.
ZONE_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@lru_cache(maxsize=1)
def _grouped() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in ZONE_REGIONS}
    for name in sorted(iana_zones()):
        region, _, place = name.partition("/")
        if region in groups and place:
            groups[region].append((name, place.replace("_", " ").replace("/", " / ")))
    return (
        ("", (("UTC", "UTC"),)),
        *((region, tuple(entries)) for region, entries in groups.items() if entries),
    )


def timezone_grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The zones of `timezone_choices`, grouped by region for <optgroup>s (the first
    group, without a name, holds UTC)."""
    return [(region, list(entries)) for region, entries in _grouped()]


def _tzdata_table(name: str) -> list[list[str]]:
    """Rows of a table shipped with the zone database (the `tzdata` package)."""
    from importlib import resources

    text = (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    return {row[2]: row[0] for row in _tzdata_table("zone.tab") if len(row) >= 3}


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO 3166 alpha-2 code → English name, as the zone database lists them."""
    return {row[0]: row[1] for row in _tzdata_table("iso3166.tab") if len(row) >= 2}


def zone_country(zone_name: str) -> str:
    """The country a zone belongs to ("Europe/Berlin" → "DE"); "" for UTC and the like."""
    return _zone_countries().get(zone_name, "")


def country_choices() -> list[tuple[str, str]]:
    return sorted(country_names().items(), key=lambda item: item[1])
