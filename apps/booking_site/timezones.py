"""Which time zone the booking pages show times in, and the choices offered.

Order of precedence: the `tz` query parameter (links and the zone picker carry it, so
everything works without JavaScript), then the `tz` cookie that static/js/booking.js
sets from the browser's `Intl` zone, then the business's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.http import HttpRequest
from django.utils.translation import gettext

from apps.accounts.models import Tenant
from apps.core.timezones import iana_zones, is_timezone
from apps.resources.models import Resource, Service

TZ_PARAM = "tz"
TZ_COOKIE = "tz"
_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@dataclass(frozen=True)
class DisplayZone:
    name: str  # the IANA zone times are shown in
    business: str  # the zone of the business (location) being booked
    problem: str = ""  # set when the asked zone was not understood

    @property
    def differs(self) -> bool:
        return self.name != self.business


def zone_label(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" → "America/Argentina/Buenos Aires"."""
    return name.replace("_", " ")


def business_timezone(
    *, tenant: Tenant, service: Service, resource: Resource | None, zones: Iterable[str] = ()
) -> str:
    """The zone the business works in for this booking: the resource's location, the
    one zone all of the service's resources share, or the tenant's default."""
    if resource is not None:
        return resource.location.timezone
    names = set(zones) or set(
        service.resources.filter(is_active=True).values_list("location__timezone", flat=True)
    )
    if len(names) == 1:
        return names.pop()
    return tenant.timezone


def display_zone(request: HttpRequest, *, business: str) -> DisplayZone:
    source = request.POST if request.method == "POST" else request.GET
    asked = source.get(TZ_PARAM, "")
    if asked:
        if is_timezone(asked):
            return DisplayZone(name=asked, business=business)
        shown = asked[:60]
        return DisplayZone(
            name=business,
            business=business,
            problem=gettext(
                "We do not know the time zone “%(zone)s”, so times are shown in %(business)s."
            )
            % {"zone": shown, "business": zone_label(business)},
        )
    remembered = request.COOKIES.get(TZ_COOKIE, "")
    if remembered and is_timezone(remembered):
        return DisplayZone(name=remembered, business=business)
    return DisplayZone(name=business, business=business)


@lru_cache(maxsize=1)
def _grouped_zones() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in _REGIONS}
    for name in sorted(iana_zones()):
        region, _, place = name.partition("/")
        if region in groups and place:
            groups[region].append((name, zone_label(place)))
    return (
        ("", (("UTC", "UTC"),)),
        *((region, tuple(entries)) for region, entries in groups.items() if entries),
    )


def timezone_choices(selected: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Zones grouped by region for a <select> with <optgroup>s; the selected zone is
    always among them (even an unusual one such as Etc/GMT+5)."""
    groups = [(region, list(entries)) for region, entries in _grouped_zones()]
    if not any(selected == name for _, entries in groups for name, _ in entries):
        groups[0][1].append((selected, zone_label(selected)))
    return groups
