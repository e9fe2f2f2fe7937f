"""An answer cut from a cached computation names the first instant the clock alone may
change it (`CachedAnswer.unchanged_until`, apps/calendars/availability/selectors.py);
the API's fast reads give a kept answer again until then. The property: at any instant
before it, the answer computed afresh from the database (no cache) is the kept one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Tenant
from apps.calendars.availability.selectors import (
    AvailabilityScope,
    AvailableSlots,
    availability_cache_keys,
    availability_dates,
    availability_dates_cached,
    availability_slots,
    availability_slots_cached,
)
from apps.calendars.timezones import zone
from apps.resources.models import Resource, Service
from tests.calendars.factories import LocationFactory, ResourceFactory, WeeklyRuleFactory
from tests.calendars.times import london, materialize_days

NOTICE_MINUTES = 90
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def kathmandu(service: Service, monday: dt.date) -> Resource:
    """A second person delivering the service, at +05:45 (midnights far from London's)."""
    location = LocationFactory.create(name="Thamel", timezone="Asia/Kathmandu")
    resource = ResourceFactory.create(name="Bina", location=location, kind=Resource.Kind.PERSON)
    service.resources.add(resource)
    WeeklyRuleFactory.create(resource=resource)
    materialize_days(resource, monday - dt.timedelta(days=1), 9)
    return resource


def _raw(scope, *, first: dt.date, last: dt.date, tenant: Tenant) -> list[bytes | None]:
    keys = availability_cache_keys(scope, first=first, last=last, tz=None, tenant=tenant)
    return cache.client.get_client(write=True).mget(keys)  # type: ignore[attr-defined]


def _shown(answer: AvailableSlots) -> list[tuple[str, str, str, int]]:
    """Every start as written out (offsets included), not only as instants."""
    return [
        (str(slot.id), slot.start.isoformat(), slot.end.isoformat(), slot.remaining)
        for slot in answer.slots
    ]


def _slots_kept(service, resource, *, day: dt.date, at: dt.datetime, tenant: Tenant):
    """The answer kept from a cached computation read at `at` (None: it does not hold)."""
    availability_slots(service=service, resource=resource, day=day, now=at)
    scope = answer_scope(service, resource)
    raw = _raw(scope, first=day, last=day, tenant=tenant)
    return availability_slots_cached(scope=scope, day=day, raw=raw, now=at, tenant=tenant)


def answer_scope(service: Service, resource: Resource | None) -> AvailabilityScope:
    return AvailabilityScope(
        service_id=service.pk, resource_id=resource.pk if resource is not None else None
    )


def _later(start: dt.datetime, until: dt.datetime, fraction: float) -> dt.datetime:
    """An instant in [start, until) (`until` is later than `start`)."""
    later = start + (until - start) * fraction
    return max(start, min(later, until - dt.timedelta(microseconds=1)))


@EXAMPLES
@given(
    who=st.sampled_from(["london", "kathmandu", "anyone"]),
    day_offset=st.integers(min_value=-1, max_value=5),
    seconds=st.integers(min_value=0, max_value=7 * 24 * 3600),
    # The last instant before it half the time: where a late limit would show.
    fraction=st.one_of(st.just(1.0), st.floats(min_value=0, max_value=1)),
)
def test_a_kept_slots_answer_is_the_fresh_answer_until_it_may_change(
    tenant,
    service,
    weekday_hours,
    kathmandu,
    monday,
    who,
    day_offset,
    seconds,
    fraction,
):
    tenant.min_notice_minutes = NOTICE_MINUTES
    resource = {"london": weekday_hours, "kathmandu": kathmandu, "anyone": None}[who]
    day = monday + dt.timedelta(days=day_offset)
    first = london(monday, 0) - dt.timedelta(days=2) + dt.timedelta(seconds=seconds)

    kept = _slots_kept(service, resource, day=day, at=first, tenant=tenant)
    assert kept is not None  # just computed and cached at `first`
    assert kept.unchanged_until >= first
    assume(kept.unchanged_until > first)  # a start exactly at the notice: nothing to keep
    later = _later(first, kept.unchanged_until, fraction)
    with override_settings(AVAILABILITY_CACHE_SECONDS=0):
        fresh = availability_slots(service=service, resource=resource, day=day, now=later)

    assert isinstance(kept.answer, AvailableSlots)
    assert _shown(fresh) == _shown(kept.answer)
    assert fresh == kept.answer


@EXAMPLES
@given(
    who=st.sampled_from(["london", "kathmandu", "anyone"]),
    seconds=st.integers(min_value=0, max_value=7 * 24 * 3600),
    # The last instant before it half the time: where a late limit would show.
    fraction=st.one_of(st.just(1.0), st.floats(min_value=0, max_value=1)),
)
def test_a_kept_dates_answer_is_the_fresh_answer_until_it_may_change(
    tenant, service, weekday_hours, kathmandu, monday, who, seconds, fraction
):
    tenant.min_notice_minutes = NOTICE_MINUTES
    resource = {"london": weekday_hours, "kathmandu": kathmandu, "anyone": None}[who]
    start, end = monday - dt.timedelta(days=1), monday + dt.timedelta(days=6)
    first = london(monday, 0) - dt.timedelta(days=2) + dt.timedelta(seconds=seconds)

    availability_dates(service=service, resource=resource, start=start, end=end, now=first)
    scope = answer_scope(service, resource)
    raw = _raw(scope, first=start, last=end, tenant=tenant)
    kept = availability_dates_cached(
        scope=scope, start=start, end=end, raw=raw, now=first, tenant=tenant
    )
    assert kept is not None
    assert kept.unchanged_until >= first
    assume(kept.unchanged_until > first)
    later = _later(first, kept.unchanged_until, fraction)
    with override_settings(AVAILABILITY_CACHE_SECONDS=0):
        fresh = availability_dates(
            service=service, resource=resource, start=start, end=end, now=later
        )

    assert fresh == kept.answer


def test_the_answer_holds_until_its_first_start_passes_the_notice(
    tenant, service, weekday_hours, monday
):
    tenant.min_notice_minutes = NOTICE_MINUTES
    # 07:20 London: the first start after the notice is 09:00, shown until 07:30.
    kept = _slots_kept(service, weekday_hours, day=monday, at=london(monday, 7, 20), tenant=tenant)

    assert kept is not None
    assert kept.unchanged_until == london(monday, 9) - dt.timedelta(minutes=NOTICE_MINUTES)
    assert kept.answer.slots[0].start == london(monday, 9)


def test_the_answer_holds_no_later_than_the_next_midnight_in_scope(
    tenant, service, weekday_hours, kathmandu, monday
):
    tenant.min_notice_minutes = NOTICE_MINUTES
    # 17:00 London on Monday: no more starts today; Kathmandu's midnight (18:15 London in
    # winter, 19:15 in summer) comes before London's and UTC's.
    at = london(monday, 17)
    kept = _slots_kept(service, None, day=monday + dt.timedelta(days=1), at=at, tenant=tenant)

    assert kept is not None
    kathmandu_midnight = dt.datetime.combine(
        monday + dt.timedelta(days=1), dt.time(), tzinfo=zone("Asia/Kathmandu")
    )
    assert kept.unchanged_until == kathmandu_midnight.astimezone(dt.UTC)
