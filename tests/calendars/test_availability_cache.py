"""Cached availability answers (apps/calendars/availability/cache.py) never outlive what
they were computed from: a write, a catalogue change, an expiring hold, the clock."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.accounts.models import Tenant
from apps.calendars.availability import cache as availability_cache
from apps.calendars.availability.selectors import availability_dates, availability_slots
from apps.resources.models import Location, Resource, Service
from apps.resources.services import resource_update, service_update
from tests.calendars.bookings import cancel, hold
from tests.calendars.factories import WeeklyRuleFactory
from tests.calendars.times import london, materialize_days


def starts(result) -> list[dt.datetime]:
    return [slot.start for slot in result.slots]


def _statements(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_a_repeated_read_is_answered_from_the_cache_without_sql(service, weekday_hours, monday):
    # given
    first = availability_slots(service=service, resource=weekday_hours, day=monday)

    # when
    statements = _statements(
        lambda: availability_slots(service=service, resource=weekday_hours, day=monday)
    )

    # then
    assert statements == 0
    assert starts(availability_slots(service=service, resource=weekday_hours, day=monday)) == (
        starts(first)
    )


def test_a_hold_and_its_cancellation_retire_the_cached_answer(service, weekday_hours, monday):
    # given: a warm cache
    ten = london(monday, 10)
    assert ten in starts(availability_slots(service=service, resource=weekday_hours, day=monday))

    # when / then: the hold takes the start away at once ...
    booking = hold(service=service, resource=weekday_hours, start=ten)
    assert ten not in starts(
        availability_slots(service=service, resource=weekday_hours, day=monday)
    )
    dates = availability_dates(service=service, resource=weekday_hours, start=monday, end=monday)
    assert dates.dates[0].free == 15

    # ... and the cancellation gives it back at once
    cancel(booking)
    assert ten in starts(availability_slots(service=service, resource=weekday_hours, day=monday))
    dates = availability_dates(service=service, resource=weekday_hours, start=monday, end=monday)
    assert dates.dates[0].free == 16


def test_an_expired_hold_frees_its_place_even_with_a_warm_cache(service, weekday_hours, monday):
    # given: a held start, and the answer that counts it cached
    ten = london(monday, 10)
    booking = hold(service=service, resource=weekday_hours, start=ten)
    assert booking.hold_expires_at is not None
    before = booking.hold_expires_at - dt.timedelta(seconds=1)
    held = availability_slots(service=service, resource=weekday_hours, day=monday, now=before)
    assert ten not in starts(held)
    assert (
        _statements(
            lambda: availability_slots(
                service=service, resource=weekday_hours, day=monday, now=before
            )
        )
        == 0
    ), "the answer is cached while the hold lasts"

    # when: the hold's end is reached (no sweeper has run)
    at_expiry = availability_slots(
        service=service, resource=weekday_hours, day=monday, now=booking.hold_expires_at
    )

    # then: the place is free at that very instant
    assert ten in starts(at_expiry)


def test_minimum_notice_and_the_clock_apply_to_a_cached_answer(
    tenant, service, weekday_hours, monday
):
    # given: an answer cached early in the morning
    early = london(monday, 7)
    assert london(monday, 9) in starts(
        availability_slots(service=service, resource=weekday_hours, day=monday, now=early)
    )

    # when: read again at 11:10 with a one-hour notice
    tenant.min_notice_minutes = 60
    later = london(monday, 11, 10)
    result = availability_slots(service=service, resource=weekday_hours, day=monday, now=later)

    # then: only starts from 12:10 on
    assert starts(result)[0] == london(monday, 12, 30)
    assert all(start >= later + dt.timedelta(minutes=60) for start in starts(result))


def test_a_catalogue_change_retires_the_cached_answer(service, weekday_hours, monday):
    # given
    availability_slots(service=service, resource=weekday_hours, day=monday)

    # when: the service gets longer
    service_update(service=service, data={"duration_minutes": 60})
    longer = availability_slots(service=service, resource=weekday_hours, day=monday)

    # then
    assert all(slot.end - slot.start == dt.timedelta(minutes=60) for slot in longer.slots)

    # when: the resource is deactivated
    resource_update(resource=weekday_hours, data={"is_active": False})

    # then
    assert availability_slots(service=service, resource=weekday_hours, day=monday).slots == []


def test_a_materialization_retires_the_cached_answer(service, resource, monday):
    # given: no hours yet, and that answer cached
    assert availability_slots(service=service, resource=resource, day=monday).slots == []

    # when
    WeeklyRuleFactory.create(resource=resource)
    materialize_days(resource, monday, 7)

    # then
    assert len(availability_slots(service=service, resource=resource, day=monday).slots) == 16


def test_tenants_never_read_each_others_cached_answers(
    tenant: Tenant, monday: dt.date, globex: Tenant
):
    # given: the same ids in both tenants' schemas, open hours only in acme's
    ids = {"location": uuid.uuid4(), "resource": uuid.uuid4(), "service": uuid.uuid4()}

    def catalogue(*, hours: bool) -> tuple[Service, Resource]:
        location = Location.objects.create(
            id=ids["location"], name="Same", timezone="Europe/London"
        )
        resource = Resource.objects.create(id=ids["resource"], name="Same", location=location)
        service = Service.objects.create(id=ids["service"], name="Same", duration_minutes=30)
        service.resources.add(resource)
        if hours:
            WeeklyRuleFactory.create(resource=resource)
            materialize_days(resource, monday, 7)
        return service, resource

    service, resource = catalogue(hours=True)
    in_acme = availability_slots(service=service, resource=resource, day=monday)
    assert len(in_acme.slots) == 16

    # when: globex asks the very same question
    with tenant_context(globex):
        globex_service, globex_resource = catalogue(hours=False)
        in_globex = availability_slots(service=globex_service, resource=globex_resource, day=monday)

    # then: globex sees its own (empty) grid, not acme's cached answer
    assert in_globex.slots == []
    assert in_globex.timezone == "Europe/London"


@pytest.mark.parametrize("seconds", [0])
def test_the_cache_can_be_turned_off(settings, service, weekday_hours, monday, seconds):
    settings.AVAILABILITY_CACHE_SECONDS = seconds
    availability_slots(service=service, resource=weekday_hours, day=monday)

    assert _statements(
        lambda: availability_slots(service=service, resource=weekday_hours, day=monday)
    )


def test_a_new_day_of_a_known_scope_costs_its_slot_rows_only(service, weekday_hours, monday):
    # given: the scope resolved and cached by a first read
    availability_slots(service=service, resource=weekday_hours, day=monday)

    # when: another day is asked
    with CaptureQueriesContext(connection) as captured:
        tuesday = availability_slots(
            service=service, resource=weekday_hours, day=monday + dt.timedelta(days=1)
        )

    # then: one query, the slot rows
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1
    assert "calendars_slotinstance" in selects[0]
    assert len(tuesday.slots) == 16


def test_a_service_no_longer_delivered_by_the_resource_is_not_offered(
    service, weekday_hours, monday
):
    # given: the scope cached
    assert availability_slots(service=service, resource=weekday_hours, day=monday).slots

    # when
    service.resources.remove(weekday_hours)

    # then
    assert availability_slots(service=service, resource=weekday_hours, day=monday).slots == []


class _Unreachable:
    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise RedisConnectionError("Redis is out of reach")

        return fail


def test_availability_and_holds_work_with_redis_out_of_reach(
    service, weekday_hours, monday, monkeypatch
):
    # given
    monkeypatch.setattr(availability_cache, "_client", lambda: _Unreachable())
    ten = london(monday, 10)

    # when / then: reads compute from the database, a hold still succeeds and counts
    assert ten in starts(availability_slots(service=service, resource=weekday_hours, day=monday))
    hold(service=service, resource=weekday_hours, start=ten)
    assert ten not in starts(
        availability_slots(service=service, resource=weekday_hours, day=monday)
    )


def _entries(service: Service) -> dict[bytes, bytes]:
    """The cached availability answers about `service` as Redis holds them."""
    client = availability_cache._client()
    keys = [
        key
        for key in client.keys(cache.make_key("availability*"))
        if str(service.pk).encode() in key
    ]
    values = dict(zip(keys, client.mget(keys), strict=True)) if keys else {}
    return {key: value for key, value in values.items() if value and value[:1] == b"["}


def test_cached_answers_are_json_and_an_unreadable_entry_is_a_miss(service, weekday_hours, monday):
    # given: answers cached by a first read (the scope's objects and the computation)
    first = availability_slots(service=service, resource=weekday_hours, day=monday)
    entries = _entries(service)
    assert len(entries) == 2
    for value in entries.values():
        assert isinstance(json.loads(value), list)  # JSON, not pickle

    # when: one is replaced by a pickle (as an older release wrote), the other by an
    # entry under the current tokens whose value this release cannot read
    client = availability_cache._client()
    (pickled, foreign), values = list(entries), list(entries.values())
    client.set(pickled, pickle.dumps(first), keepttl=True)
    tokens = json.loads(values[1])[0]
    client.set(foreign, json.dumps([tokens, {"grid": 3}]), keepttl=True)

    # then: the read computes again, from the database, and is the same answer
    again = _statements(
        lambda: availability_slots(service=service, resource=weekday_hours, day=monday)
    )
    assert again > 0
    assert starts(availability_slots(service=service, resource=weekday_hours, day=monday)) == (
        starts(first)
    )
    assert all(value[:1] == b"[" for value in _entries(service).values())
