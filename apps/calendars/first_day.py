"""The first day of a new business: the checklist that walks an admin from signup to a
bookable page, and going live.

Each step is computed from what exists (a location, an active service, a person or room
delivering it, opening hours, the admin's second factor and confirmed address), never
from a stored tick box; the one exception is the public-holidays offer, a decision
recorded on the tenant (`holidays_decided_at`) whichever way it went. Going live needs
every required step, the admin's own two-step sign-in included: until then the business
takes no bookings and its admins may use the dashboard before setting up the factor
(apps.accounts.mfa.mfa_enrol_deferred).

The checklist lives here because it reads what accounts, resources and calendars hold:
this is the highest of them, so every import points down.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import holidays as holiday_calendars
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.accounts.mfa import mfa_has_factor
from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_holidays_decided, tenant_live_mark
from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.services import availability_rule_create
from apps.calendars.timezones import local_date, zone
from apps.core.errors import DomainError, FieldError, ValidationFailed
from apps.resources.models import Location, Resource, Service

logger = logging.getLogger(__name__)

# The hours proposed for a business that has none yet: Monday to Friday, 9 to 5 in the
# location's own time zone, on a 30-minute grid.
PROPOSED_DAYS = (1, 2, 3, 4, 5)
PROPOSED_START = "09:00"
PROPOSED_END = "17:00"
PROPOSED_GRANULARITY = 30
HOLIDAY_MONTHS = 12


class NotReadyToGoLive(DomainError):
    code = "NOT_READY"
    http_status = 409


@dataclass(frozen=True)
class Step:
    key: str
    title: str | Promise
    done: bool
    # Required to go live; a step that is a decision (holidays) is not.
    required: bool = True


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]
    live: bool

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def missing(self) -> list[Step]:
        """The required steps not done yet (going live waits for them)."""
        return [
            step for step in self.steps if step.required and not step.done and step.key != "live"
        ]

    def step(self, key: str) -> Step:
        return next(step for step in self.steps if step.key == key)


def _bookable_resource_exists() -> bool:
    return Resource.objects.filter(is_active=True, services__is_active=True).exists()


def _hours_exist() -> bool:
    return AvailabilityRule.objects.filter(
        kind__in=[AvailabilityRule.Kind.WEEKLY, AvailabilityRule.Kind.DATE_RANGE],
        is_closed=False,
    ).exists()


def first_day_checklist(*, tenant: Tenant, user: User) -> Checklist:
    """The steps for this business as `user` (an admin) sees them: the second factor
    and the confirmed address are that admin's own."""
    steps = (
        Step("location", _("Location and time zone"), Location.objects.exists()),
        Step("service", _("First service"), Service.objects.filter(is_active=True).exists()),
        Step(
            "resource", _("First person or room, delivering a service"), _bookable_resource_exists()
        ),
        Step("hours", _("Weekly opening hours"), _hours_exist()),
        Step(
            "holidays", _("Public holidays"), tenant.holidays_decided_at is not None, required=False
        ),
        Step("two_step", _("Two-step sign-in"), mfa_has_factor(user)),
        Step("email", _("Confirmed email address"), user.email_confirmed_at is not None),
        Step("live", _("Go live"), tenant.live_at is not None),
    )
    return Checklist(steps=steps, live=tenant.live_at is not None)


def business_go_live(*, tenant: Tenant, user: User) -> Tenant:
    """Opens the business's booking pages. Refused (NotReadyToGoLive, naming each step
    still to do) until every required step is done, the admin's own two-step sign-in
    included. Going live twice changes nothing."""
    if tenant.live_at is not None:
        return tenant
    checklist = first_day_checklist(tenant=tenant, user=user)
    if checklist.missing:
        raise NotReadyToGoLive(
            str(_("Finish these steps before going live: %(steps)s."))
            % {"steps": ", ".join(str(step.title) for step in checklist.missing)},
            [FieldError(step.key, str(_("Not done yet."))) for step in checklist.missing],
        )
    tenant_live_mark(tenant=tenant)
    logger.info("first_day.live", extra={"tenant": tenant.slug})
    return tenant


# --- Weekly hours ----------------------------------------------------------------------


@dataclass(frozen=True)
class HoursProposal:
    location: Location
    days_of_week: tuple[int, ...] = PROPOSED_DAYS
    start_time: str = PROPOSED_START
    end_time: str = PROPOSED_END


def weekly_hours_proposal() -> HoursProposal | None:
    """Monday to Friday, 9 to 17, at the first location (in its own zone); None without
    a location."""
    location = Location.objects.order_by("created_at", "id").first()
    return HoursProposal(location=location) if location is not None else None


@transaction.atomic
def weekly_hours_apply(*, location: Location) -> AvailabilityRule:
    """The proposed hours as the location's weekly rule (every resource there follows
    it unless it has hours of its own); refused like any overlapping rule."""
    proposal = HoursProposal(location=location)
    return availability_rule_create(
        kind=AvailabilityRule.Kind.WEEKLY,
        location=location,
        days_of_week=proposal.days_of_week,
        start_time=proposal.start_time,
        end_time=proposal.end_time,
        granularity_minutes=PROPOSED_GRANULARITY,
    )


# --- Public holidays -------------------------------------------------------------------


@dataclass(frozen=True)
class PublicHoliday:
    day: dt.date
    name: str
    closed: bool  # the location already has a closure (or other exception) that day


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    return frozenset(holiday_calendars.list_supported_countries())


def holidays_supported(country: str) -> bool:
    return bool(country) and country.upper() in _supported_countries()


def public_holidays(*, location: Location, today: dt.date | None = None) -> list[PublicHoliday]:
    """The next 12 months' public holidays of the location's country (the `holidays`
    library's national calendar), each marked when the location already has an exception
    on it. Empty when the location has no country or the library does not know it."""
    country = (location.country or "").upper()
    if not holidays_supported(country):
        return []
    today = today or local_date(timezone.now(), zone(location.timezone))
    until = _months_later(today, HOLIDAY_MONTHS)
    calendar = holiday_calendars.country_holidays(
        country, years=range(today.year, until.year + 1), language=_holiday_language(country)
    )
    taken = _exception_days(location=location, start=today, end=until)
    return [
        PublicHoliday(day=day, name=str(name), closed=day in taken)
        for day, name in sorted(calendar.items())
        if today <= day < until
    ]


def _holiday_language(country: str) -> str | None:
    """The holidays' names in the page's language when the calendar has them (English as
    "en_US" or "en_GB"), else in the country's own."""
    supported = holiday_calendars.country_holidays(country).supported_languages
    wanted = (translation.get_language() or "en").replace("-", "_").lower()
    for candidate in supported:
        if candidate.lower() == wanted:
            return str(candidate)
    primary = wanted.split("_")[0]
    return next((str(c) for c in supported if c.lower().split("_")[0] == primary), None)


def _months_later(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def _exception_days(*, location: Location, start: dt.date, end: dt.date) -> set[dt.date]:
    days: set[dt.date] = set()
    for valid_from, valid_to in AvailabilityRule.objects.filter(
        location=location,
        kind=AvailabilityRule.Kind.EXCEPTION,
        valid_from__lte=end,
        valid_to__gte=start,
    ).values_list("valid_from", "valid_to"):
        if valid_from is None or valid_to is None:
            continue  # an exception always has both (the rule services say so)
        day = max(valid_from, start)
        while day <= min(valid_to, end):
            days.add(day)
            day += dt.timedelta(days=1)
    return days


@transaction.atomic
def holidays_close(
    *, tenant: Tenant, location: Location, days: Iterable[dt.date], today: dt.date | None = None
) -> list[AvailabilityRule]:
    """Closes the location on the chosen public holidays (one closed exception each) and
    records the decision. A day that is not one of the offered holidays is refused; one
    the location already has an exception on is left as it is."""
    offered = {holiday.day: holiday for holiday in public_holidays(location=location, today=today)}
    chosen = sorted(set(days))
    unknown = [day for day in chosen if day not in offered]
    if unknown:
        raise ValidationFailed(
            str(_("Choose from the public holidays listed.")),
            [
                FieldError("days", str(_("%(day)s is not one of them.")) % {"day": day.isoformat()})
                for day in unknown
            ],
        )
    created = [
        availability_rule_create(
            kind=AvailabilityRule.Kind.EXCEPTION,
            location=location,
            valid_from=day,
            valid_to=day,
            is_closed=True,
        )
        for day in chosen
        if not offered[day].closed
    ]
    tenant_holidays_decided(tenant=tenant)
    logger.info("first_day.holidays_closed", extra={"tenant": tenant.slug, "count": len(created)})
    return created


def holidays_decline(*, tenant: Tenant) -> None:
    """The admin chose no public-holiday closures (they can add exceptions any time)."""
    tenant_holidays_decided(tenant=tenant)
