"""Writes for locations, resources and services.

Every function validates its whole input first and raises `ValidationFailed` listing
every problem with its field; nothing is written unless all of it is valid. Changes that
reshape slot grids announce themselves with `schedule_changed` (apps/calendars rebuilds
the grids after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext

from apps.accounts.models import Membership, User
from apps.core.entitlements import Limit, entitlement_require, payment_currency_refusal
from apps.core.errors import DomainError
from apps.core.tenancy import current_schema
from apps.core.timezones import country_names, zone_country
from apps.resources import field_checks as check
from apps.resources.currencies import fits_minor_units, is_currency, minor_units
from apps.resources.models import MINUTES_PER_DAY, Location, Resource, Service
from apps.resources.signals import schedule_changed

logger = logging.getLogger(__name__)

MAX_TAGS = 20
MAX_CAPACITY = 1000
MAX_HORIZON_DAYS = 730
MAX_MIN_NOTICE_MINUTES = 365 * MINUTES_PER_DAY
MAX_PRICE = Decimal("99999999.99")


def _announce_schedule_changed(resource_ids: Iterable[UUID]) -> None:
    ids = sorted(set(resource_ids))
    if ids:
        schedule_changed.send(sender=Resource, resource_ids=ids)


# --- Locations ---------------------------------------------------------------------


@dataclass(frozen=True)
class _LocationInput:
    name: Any
    timezone: Any
    address: Any = ""
    # ISO 3166 alpha-2; None: the time zone's country (apps.core.timezones.zone_country).
    country: Any = None


_LOCATION_FIELDS = frozenset(f.name for f in fields(_LocationInput))


def _country_clean(problems: check.Problems, value: Any, *, timezone: Any) -> str:
    if value is None:
        return zone_country(timezone) if isinstance(timezone, str) else ""
    code = str(value).strip().upper()
    if code and code not in country_names():
        problems.add("country", "Choose a country from the list (e.g. DE for Germany).")
    return code


def _location_clean(raw: _LocationInput) -> dict[str, Any]:
    problems = check.Problems()
    cleaned = {
        "name": check.text(problems, "name", raw.name, max_length=120),
        "address": check.text(problems, "address", raw.address, max_length=500, required=False),
        "timezone": check.timezone_name(problems, "timezone", raw.timezone),
        "country": _country_clean(problems, raw.country, timezone=raw.timezone),
    }
    problems.raise_if_any("The location could not be saved.")
    return cleaned


@transaction.atomic
def location_create(
    *, name: str, timezone: str, address: str = "", country: str | None = None
) -> Location:
    """`country` reads customers' phone numbers typed without a country code and names
    the public holidays offered; by default the time zone's country."""
    cleaned = _location_clean(
        _LocationInput(name=name, timezone=timezone, address=address, country=country)
    )
    location = Location.objects.create(**cleaned)
    logger.info("location.created", extra={"location_id": str(location.id)})
    return location


@transaction.atomic
def location_update(*, location: Location, data: Mapping[str, Any]) -> Location:
    """Change any of name, timezone, address. A new time zone rebuilds the slot grids
    of every resource at the location (rules are in the location's wall time)."""
    problems = check.Problems()
    check.only_known_fields(problems, data, _LOCATION_FIELDS)
    problems.raise_if_any("The location could not be saved.")
    current = _LocationInput(
        name=location.name,
        timezone=location.timezone,
        address=location.address,
        country=location.country,
    )
    cleaned = _location_clean(replace(current, **data))
    timezone_changed = cleaned["timezone"] != location.timezone
    for key, value in cleaned.items():
        setattr(location, key, value)
    location.save(update_fields=[*cleaned, "updated_at"])
    if timezone_changed:
        _announce_schedule_changed(
            location.resources.filter(is_active=True).values_list("id", flat=True)
        )
    return location


@dataclass
class LocationInUse(DomainError):
    message: str = (
        "This location has resources (active or not); it stays so their bookings keep "
        "their place. Rename it instead, or move the resources first."
    )
    code = "LOCATION_IN_USE"
    http_status = 409


@transaction.atomic
def location_delete(*, location: Location) -> None:
    """Deletes a location no resource was ever at (its opening hours go with it).
    Resources are deactivated rather than deleted, so a location that had one stays."""
    locked = Location.objects.select_for_update().get(pk=location.pk)
    if Resource.objects.filter(location=locked).exists():
        raise LocationInUse()
    locked.delete()
    logger.info("location.deleted", extra={"location_id": str(location.pk)})


# --- Resources ---------------------------------------------------------------------


@dataclass(frozen=True)
class _ResourceInput:
    name: Any
    location: Any
    kind: Any = Resource.Kind.PERSON
    tags: Any = ()
    is_active: Any = True
    user: Any = None


_RESOURCE_FIELDS = frozenset(f.name for f in fields(_ResourceInput))


def _tags_clean(problems: check.Problems, value: Any) -> list[str] | None:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.add("tags", "Give tags as a list of words.")
        return None
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            problems.add("tags", "Each tag must be a non-empty word.")
            return None
        if len(tag.strip()) > 40:
            problems.add(
                "tags",
                gettext("“%(tag)s…” is too long: keep tags under 41 characters.")
                % {"tag": tag[:40]},
            )
            return None
        if tag.strip() not in tags:
            tags.append(tag.strip())
    if len(tags) > MAX_TAGS:
        problems.add("tags", gettext("Use at most %(count)s tags.") % {"count": MAX_TAGS})
        return None
    return tags


def _resource_clean(raw: _ResourceInput) -> dict[str, Any]:
    problems = check.Problems()
    cleaned: dict[str, Any] = {
        "name": check.text(problems, "name", raw.name, max_length=120),
        "location": check.instance(problems, "location", Location, raw.location, label="location"),
        "tags": _tags_clean(problems, raw.tags),
        "is_active": check.boolean(problems, "is_active", raw.is_active),
        "kind": raw.kind,
        "user": None,
    }
    if raw.kind not in Resource.Kind.values:
        problems.add(
            "kind",
            gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(Resource.Kind.values)},
        )
    if raw.user is not None:
        user = check.instance(problems, "user", User, raw.user, label="user")
        # The linked person manages this calendar: they must work in this business.
        if (
            user is not None
            and not Membership.objects.filter(
                user=user, tenant__schema_name=current_schema()
            ).exists()
        ):
            problems.add("user", "This person is not a member of this business.")
        cleaned["user"] = user
    problems.raise_if_any("The resource could not be saved.")
    return cleaned


@transaction.atomic
def resource_create(
    *,
    name: str,
    location: Location | UUID | str,
    kind: str = Resource.Kind.PERSON,
    tags: Iterable[str] = (),
    is_active: bool = True,
    user: User | UUID | str | None = None,
) -> Resource:
    cleaned = _resource_clean(
        _ResourceInput(
            name=name,
            location=location,
            kind=kind,
            tags=check.as_list(tags),
            is_active=is_active,
            user=user,
        )
    )
    if cleaned["is_active"]:
        entitlement_require(Limit.RESOURCES, serialize=True)
    resource = Resource.objects.create(**cleaned)
    logger.info("resource.created", extra={"resource_id": str(resource.id)})
    if resource.is_active:
        _announce_schedule_changed([resource.id])
    return resource


@transaction.atomic
def resource_update(*, resource: Resource, data: Mapping[str, Any]) -> Resource:
    """Change any of name, location, kind, tags, is_active, user. A move or a
    reactivation rebuilds the resource's slot grid."""
    problems = check.Problems()
    check.only_known_fields(problems, data, _RESOURCE_FIELDS)
    problems.raise_if_any("The resource could not be saved.")
    current = _ResourceInput(
        name=resource.name,
        location=resource.location,
        kind=resource.kind,
        tags=list(resource.tags),
        is_active=resource.is_active,
        user=resource.user_id,
    )
    cleaned = _resource_clean(replace(current, **data))
    moved = cleaned["location"].pk != resource.location_id
    reactivated = cleaned["is_active"] and not resource.is_active
    if reactivated:
        entitlement_require(Limit.RESOURCES, serialize=True)
    for key, value in cleaned.items():
        setattr(resource, key, value)
    resource.save(update_fields=[*cleaned, "updated_at"])
    if resource.is_active and (moved or reactivated):
        _announce_schedule_changed([resource.id])
    return resource


# --- Services ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ServiceInput:
    name: Any
    duration_minutes: Any
    buffer_before_minutes: Any = 0
    buffer_after_minutes: Any = 0
    capacity: Any = 1
    price: Any = Decimal("0.00")
    currency: Any = "USD"
    resources: Any = ()
    min_notice_minutes: Any = None
    horizon_days: Any = None
    requires_payment: Any = False
    deposit_amount: Any = None
    deposit_percent: Any = None
    is_active: Any = True
    description: Any = ""
    customers_may_repeat: Any = False


_SERVICE_FIELDS = frozenset(f.name for f in fields(_ServiceInput))


def _service_resources_clean(problems: check.Problems, value: Any) -> list[Resource] | None:
    if isinstance(value, str) or not isinstance(value, Iterable):
        problems.add("resources", "Give the resources as a list of ids.")
        return None
    found: list[Resource] = []
    for item in value:
        resource = check.instance(problems, "resources", Resource, item, label="resource")
        if resource is not None and resource not in found:
            found.append(resource)
    return None if problems.has("resources") else found


def _deposit_clean(
    problems: check.Problems,
    raw: _ServiceInput,
    *,
    price: Decimal | None,
    currency: Any,
    requires_payment: bool | None,
) -> tuple[Decimal | None, int | None]:
    """A deposit is a fixed amount below the price or a percentage from 1 to 99, on a
    service paid when booking; never both."""
    amount = None
    if raw.deposit_amount not in (None, ""):
        amount = check.decimal_amount(problems, "deposit_amount", raw.deposit_amount)
    percent = check.whole_number(
        problems,
        "deposit_percent",
        None if raw.deposit_percent == "" else raw.deposit_percent,
        minimum=1,
        maximum=99,
        unit="percent",
        nullable=True,
    )
    if amount is None and percent is None:
        return None, None
    if amount is not None and percent is not None:
        problems.add("deposit_percent", "Give the deposit as an amount or a percentage, not both.")
    if not requires_payment:
        field = "deposit_amount" if amount is not None else "deposit_percent"
        problems.add(field, "A deposit is taken only for a service paid when booking.")
    if amount is not None:
        if amount <= 0 or (price is not None and amount >= price):
            problems.add("deposit_amount", "The deposit must be above 0 and below the price.")
        elif is_currency(currency) and not fits_minor_units(amount, currency):
            problems.add(
                "deposit_amount",
                gettext("%(currency)s amounts cannot have that many decimals.")
                % {"currency": currency},
            )
    return amount, percent


def _service_clean(raw: _ServiceInput) -> dict[str, Any]:
    problems = check.Problems()
    duration = check.whole_number(
        problems,
        "duration_minutes",
        raw.duration_minutes,
        minimum=1,
        maximum=MINUTES_PER_DAY,
        unit="minutes",
    )
    before = check.whole_number(
        problems,
        "buffer_before_minutes",
        raw.buffer_before_minutes,
        minimum=0,
        maximum=MINUTES_PER_DAY,
        unit="minutes",
    )
    after = check.whole_number(
        problems,
        "buffer_after_minutes",
        raw.buffer_after_minutes,
        minimum=0,
        maximum=MINUTES_PER_DAY,
        unit="minutes",
    )
    if duration is not None and before is not None and after is not None:
        total = duration + before + after
        if total > MINUTES_PER_DAY:
            message = gettext(
                "The service and its buffers take %(total)s minutes: together they must fit "
                "in one day (%(day)s minutes)."
            ) % {"total": total, "day": MINUTES_PER_DAY}
            if before:
                problems.add("buffer_before_minutes", message)
            if after:
                problems.add("buffer_after_minutes", message)
    currency = raw.currency.strip().upper() if isinstance(raw.currency, str) else raw.currency
    if not is_currency(currency):
        problems.add(
            "currency",
            gettext("“%(currency)s” is not an ISO 4217 currency code (e.g. USD).")
            % {"currency": raw.currency},
        )
    price = check.decimal_amount(problems, "price", raw.price)
    if price is not None:
        if price < 0:
            problems.add("price", "The price cannot be negative (0 means free).")
        elif price > MAX_PRICE:
            problems.add("price", gettext("Enter a price up to %(max)s.") % {"max": MAX_PRICE})
        elif not fits_minor_units(price, currency if is_currency(currency) else "USD"):
            units = minor_units(currency) if is_currency(currency) else 2
            problems.add(
                "price",
                gettext("%(currency)s amounts have no decimals.") % {"currency": currency}
                if units == 0
                else gettext("Use at most %(count)s decimals.") % {"count": units},
            )
    requires_payment = check.boolean(problems, "requires_payment", raw.requires_payment)
    if requires_payment and price is not None and price == 0:
        problems.add("requires_payment", "A service that requires payment needs a price above 0.")
    elif requires_payment and is_currency(currency):
        refusal = payment_currency_refusal(str(currency))
        if refusal:
            problems.add("currency", refusal)
    deposit_amount, deposit_percent = _deposit_clean(
        problems, raw, price=price, currency=currency, requires_payment=requires_payment
    )
    customers_may_repeat = check.boolean(problems, "customers_may_repeat", raw.customers_may_repeat)
    if customers_may_repeat and requires_payment:
        # apps/bookings/series.py: a paid series is booked by staff, paid at the venue.
        problems.add(
            "customers_may_repeat",
            gettext("Customers can book a series only of a service not paid online."),
        )
    cleaned: dict[str, Any] = {
        "name": check.text(problems, "name", raw.name, max_length=120),
        "description": check.text(
            problems, "description", raw.description, max_length=5000, required=False
        ),
        "duration_minutes": duration,
        "buffer_before_minutes": before,
        "buffer_after_minutes": after,
        "capacity": check.whole_number(
            problems, "capacity", raw.capacity, minimum=1, maximum=MAX_CAPACITY, unit="places"
        ),
        "price": price,
        "currency": currency,
        "min_notice_minutes": check.whole_number(
            problems,
            "min_notice_minutes",
            raw.min_notice_minutes,
            minimum=0,
            maximum=MAX_MIN_NOTICE_MINUTES,
            unit="minutes",
            nullable=True,
        ),
        "horizon_days": check.whole_number(
            problems,
            "horizon_days",
            raw.horizon_days,
            minimum=1,
            maximum=MAX_HORIZON_DAYS,
            unit="days",
            nullable=True,
        ),
        "requires_payment": requires_payment,
        "deposit_amount": deposit_amount,
        "deposit_percent": deposit_percent,
        "is_active": check.boolean(problems, "is_active", raw.is_active),
        "customers_may_repeat": customers_may_repeat,
    }
    resources = _service_resources_clean(problems, raw.resources)
    problems.raise_if_any("The service could not be saved.")
    cleaned["resources"] = resources
    return cleaned


@transaction.atomic
def service_create(
    *,
    name: str,
    duration_minutes: int,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    capacity: int = 1,
    price: Decimal | str | int = Decimal("0.00"),
    currency: str = "USD",
    resources: Iterable[Resource | UUID | str] = (),
    min_notice_minutes: int | None = None,
    horizon_days: int | None = None,
    requires_payment: bool = False,
    deposit_amount: Decimal | str | None = None,
    deposit_percent: int | None = None,
    is_active: bool = True,
    description: str = "",
    customers_may_repeat: bool = False,
) -> Service:
    """A service's duration need not be a multiple of any grid (PRODUCT.md §4.4): a 30-minute
    service on a 60-minute grid is offered on the hour; a 45-minute one on a 30-minute
    grid covers two steps."""
    cleaned = _service_clean(
        _ServiceInput(
            name=name,
            duration_minutes=duration_minutes,
            buffer_before_minutes=buffer_before_minutes,
            buffer_after_minutes=buffer_after_minutes,
            capacity=capacity,
            price=price,
            currency=currency,
            resources=resources,
            min_notice_minutes=min_notice_minutes,
            horizon_days=horizon_days,
            requires_payment=requires_payment,
            deposit_amount=deposit_amount,
            deposit_percent=deposit_percent,
            is_active=is_active,
            description=description,
            customers_may_repeat=customers_may_repeat,
        )
    )
    delivered_by = cleaned.pop("resources")
    service = Service.objects.create(**cleaned)
    service.resources.set(delivered_by)
    logger.info("service.created", extra={"service_id": str(service.id)})
    if service.horizon_days is not None:
        _announce_schedule_changed(r.id for r in delivered_by if r.is_active)
    return service


@transaction.atomic
def service_update(*, service: Service, data: Mapping[str, Any]) -> Service:
    problems = check.Problems()
    check.only_known_fields(problems, data, _SERVICE_FIELDS)
    problems.raise_if_any("The service could not be saved.")
    current = _ServiceInput(
        name=service.name,
        duration_minutes=service.duration_minutes,
        buffer_before_minutes=service.buffer_before_minutes,
        buffer_after_minutes=service.buffer_after_minutes,
        capacity=service.capacity,
        price=service.price,
        currency=service.currency,
        resources=list(service.resources.all()),
        min_notice_minutes=service.min_notice_minutes,
        horizon_days=service.horizon_days,
        requires_payment=service.requires_payment,
        deposit_amount=service.deposit_amount,
        deposit_percent=service.deposit_percent,
        is_active=service.is_active,
        description=service.description,
        customers_may_repeat=service.customers_may_repeat,
    )
    cleaned = _service_clean(replace(current, **data))
    delivered_by = cleaned.pop("resources")
    horizon_changed = cleaned["horizon_days"] != service.horizon_days
    for key, value in cleaned.items():
        setattr(service, key, value)
    service.save(update_fields=[*cleaned, "updated_at"])
    if "resources" in data:
        service.resources.set(delivered_by)
    if horizon_changed and service.horizon_days is not None:
        _announce_schedule_changed(r.id for r in delivered_by if r.is_active)
    return service
