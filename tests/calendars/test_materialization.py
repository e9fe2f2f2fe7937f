"""Slot materialization: an idempotent diff of the grid against the rules that never
drops a slot people are on; run after a rule change commits, hourly from beat, and by
`manage.py materialize_slots`."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.calendars.availability.selectors import availability_slots, slot_conflicts
from apps.calendars.errors import BeyondHorizon
from apps.calendars.grid.services import (
    resources_materialize,
    slots_materialize,
    slots_materialize_dates,
    tenant_materialize,
)
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.rules.services import (
    availability_rule_create,
    availability_rule_delete,
    availability_rule_update,
)
from apps.calendars.tasks import materialize_tenant
from apps.calendars.timezones import local_date, zone
from apps.resources.services import location_update, resource_update, service_create
from config.celery import app
from tests.calendars.bookings import book, cancel, hold
from tests.calendars.factories import LocationFactory, ResourceFactory, WeeklyRuleFactory
from tests.calendars.times import LONDON, london, materialize_days

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def _slots(resource, **filters):
    return SlotInstance.objects.filter(resource=resource, **filters).order_by("starts_at")


def _rule(resource) -> AvailabilityRule:
    return AvailabilityRule.objects.get(resource=resource)


def _no_overlaps(resource) -> bool:
    slots = list(_slots(resource))
    return all(a.ends_at <= b.starts_at for a, b in itertools.pairwise(slots))


# --- The diff --------------------------------------------------------------------------


def test_materialize_creates_the_grid_and_a_second_run_changes_nothing(resource, monday):
    # given
    WeeklyRuleFactory(resource=resource)
    start, end = london(monday, 0), london(monday + dt.timedelta(days=7), 0)

    # when
    first = slots_materialize(resource=resource, start=start, end=end)
    rows = list(_slots(resource).values_list("id", "starts_at", "ends_at", "updated_at"))
    second = slots_materialize(resource=resource, start=start, end=end)

    # then
    assert first.as_dict() == {"created": 80, "kept": 0, "removed": 0, "blocked": 0}
    assert second.as_dict() == {"created": 0, "kept": 80, "removed": 0, "blocked": 0}
    assert list(_slots(resource).values_list("id", "starts_at", "ends_at", "updated_at")) == rows
    assert _slots(resource).first().starts_at == london(monday, 9)
    assert _slots(resource).last().ends_at == london(monday + dt.timedelta(days=4), 17)


def test_materialize_touches_only_slots_starting_in_its_range(resource, monday):
    WeeklyRuleFactory(resource=resource)
    materialize_days(resource, monday, 7)
    _rule(resource).delete()

    # when: only Tuesday is rebuilt
    result = materialize_days(resource, monday + dt.timedelta(days=1), 1)

    # then
    assert result.as_dict() == {"created": 0, "kept": 0, "removed": 16, "blocked": 0}
    days = {local_date(slot.starts_at, LONDON) for slot in _slots(resource)}
    assert days == {monday + dt.timedelta(days=n) for n in (0, 2, 3, 4)}


def test_materialize_after_a_rule_change_creates_missing_and_removes_what_no_rule_allows(
    resource, monday
):
    # given
    WeeklyRuleFactory(resource=resource)
    materialize_days(resource, monday, 7)
    rule = _rule(resource)

    # when: the afternoon goes
    availability_rule_update(rule=rule, data={"end_time": "12:00"})
    shorter = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )
    # and an early hour comes
    availability_rule_update(rule=rule, data={"start_time": "08:00"})
    earlier = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )

    # then
    assert shorter.as_dict() == {"created": 0, "kept": 30, "removed": 50, "blocked": 0}
    assert earlier.as_dict() == {"created": 10, "kept": 30, "removed": 0, "blocked": 0}
    monday_starts = [
        slot.starts_at for slot in _slots(resource) if local_date(slot.starts_at, LONDON) == monday
    ]
    assert monday_starts == [london(monday, 8) + dt.timedelta(minutes=30 * n) for n in range(8)]


def test_materialize_updates_the_capacity_cap_of_existing_slots(resource, monday):
    WeeklyRuleFactory(resource=resource)
    materialize_days(resource, monday, 7)

    availability_rule_update(rule=_rule(resource), data={"capacity": 3})
    materialize_days(resource, monday, 7)

    assert set(_slots(resource).values_list("capacity", flat=True)) == {3}
    assert _slots(resource).count() == 80


def test_rule_removal_empties_the_grid_of_free_slots(resource, monday):
    WeeklyRuleFactory(resource=resource)
    materialize_days(resource, monday, 7)

    availability_rule_delete(rule=_rule(resource))
    materialize_days(resource, monday, 7)

    assert not _slots(resource).exists()


# --- Slots that carry people -----------------------------------------------------------


def test_materialize_never_drops_a_booked_slot_it_marks_it_blocked_as_a_conflict(
    service, weekday_hours, monday
):
    # given: a confirmed booking at 15:00 on Monday
    resource = weekday_hours
    booking = book(service=service, resource=resource, start=london(monday, 15))

    # when: the afternoon is closed
    availability_rule_update(rule=_rule(resource), data={"end_time": "12:00"})
    result = materialize_days(resource, monday, 7)

    # then: the booked slot stays, blocked, listed for the tenant to resolve
    kept = _slots(resource, starts_at=booking.starts_at).get()
    assert (kept.status, kept.booked, kept.session_service_id) == ("blocked", 1, service.pk)
    assert list(slot_conflicts(resource=resource)) == [kept]
    assert result.as_dict() == {"created": 0, "kept": 30, "removed": 49, "blocked": 1}
    assert _slots(resource).count() == 5 * 6 + 1
    # and nobody can book beside it or on it
    offered = availability_slots(service=service, resource=resource, day=monday)
    assert [slot.start for slot in offered.slots] == [
        london(monday, 9) + dt.timedelta(minutes=30 * n) for n in range(6)
    ]


def test_materialize_reports_the_slots_it_blocks(service, weekday_hours, monday):
    resource = weekday_hours
    book(service=service, resource=resource, start=london(monday, 15))
    hold(service=service, resource=resource, start=london(monday, 16), who=1)
    availability_rule_update(rule=_rule(resource), data={"end_time": "12:00"})

    result = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )
    again = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )

    assert result.as_dict() == {"created": 0, "kept": 30, "removed": 48, "blocked": 2}
    assert again.as_dict() == {"created": 0, "kept": 30, "removed": 0, "blocked": 2}
    assert [slot.starts_at for slot in slot_conflicts(resource=resource)] == [
        london(monday, 15),
        london(monday, 16),
    ]


def test_blocked_slot_unblocks_when_a_rule_allows_it_again(service, weekday_hours, monday):
    # given: a booking whose slot was blocked by a shorter day
    resource = weekday_hours
    book(service=service, resource=resource, start=london(monday, 15))
    rule = _rule(resource)
    availability_rule_update(rule=rule, data={"end_time": "12:00"})
    materialize_days(resource, monday, 7)

    # when: the afternoon returns
    availability_rule_update(rule=rule, data={"end_time": "17:00"})
    result = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )

    # then: the slot is full again (one-to-one, booked), not a conflict; the rest is back
    slot = _slots(resource, starts_at=london(monday, 15)).get()
    assert (slot.status, slot.booked) == ("full", 1)
    assert not slot_conflicts(resource=resource).exists()
    assert result.as_dict() == {"created": 49, "kept": 31, "removed": 0, "blocked": 0}
    assert _slots(resource).count() == 80


def test_blocked_slot_goes_once_its_booking_is_cancelled(service, weekday_hours, monday):
    resource = weekday_hours
    booking = hold(service=service, resource=resource, start=london(monday, 15))
    availability_rule_update(rule=_rule(resource), data={"end_time": "12:00"})
    materialize_days(resource, monday, 7)

    cancel(booking)
    result = slots_materialize(
        resource=resource, start=london(monday, 0), end=london(monday + dt.timedelta(days=7), 0)
    )

    assert result.removed == 1
    assert not _slots(resource, starts_at=london(monday, 15)).exists()
    assert not slot_conflicts().exists()


def test_grid_change_keeps_a_booked_slot_and_builds_no_slot_over_it(service, weekday_hours, monday):
    # given: a booking 10:00-10:30 on the 30-minute grid
    resource = weekday_hours
    book(service=service, resource=resource, start=london(monday, 10))

    # when: the grid becomes hourly from 09:15
    availability_rule_update(
        rule=_rule(resource),
        data={"start_time": "09:15", "end_time": "17:15", "granularity_minutes": 60},
    )
    materialize_days(resource, monday, 7)

    # then: the booked slot is a conflict and no new step overlaps it
    monday_starts = [
        slot.starts_at.astimezone(LONDON).strftime("%H:%M")
        for slot in _slots(resource)
        if local_date(slot.starts_at, LONDON) == monday
    ]
    assert monday_starts == ["10:00", "11:15", "12:15", "13:15", "14:15", "15:15", "16:15"]
    assert [slot.starts_at for slot in slot_conflicts()] == [london(monday, 10)]
    assert _no_overlaps(resource)


# --- When it runs ----------------------------------------------------------------------


def test_rule_change_rebuilds_the_grid_in_a_task_after_commit_in_the_tenants_schema(
    resource, django_capture_on_commit_callbacks
):
    # given: a rule created inside a transaction
    with django_capture_on_commit_callbacks() as callbacks:
        availability_rule_create(
            kind="weekly",
            resource=resource,
            days_of_week=EVERY_DAY,
            start_time="09:00",
            end_time="17:00",
        )
    assert not _slots(resource).exists(), "nothing is built before the commit"
    assert len(callbacks) == 1

    # when: the commit's callback runs on a connection that is elsewhere
    with schema_context("public"):
        callbacks[0]()

    # then: the task built this tenant's grid from now to the 90-day horizon
    now = timezone.now()
    today = local_date(now, LONDON)
    slots = _slots(resource)
    assert slots.exists()
    assert slots.first().starts_at >= now - dt.timedelta(minutes=1)
    assert local_date(slots.last().starts_at, LONDON) == today + dt.timedelta(days=90)
    assert resources_materialize(resources=[resource]).created == 0
    with schema_context("t_globex"):
        assert not SlotInstance.objects.exists()


def test_rule_write_refused_queues_no_rebuild(resource, django_capture_on_commit_callbacks):
    from apps.core.errors import ValidationFailed

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationFailed):
        availability_rule_create(kind="weekly", resource=resource, days_of_week=[1])

    assert callbacks == []


@pytest.mark.parametrize(
    "change",
    ["location_timezone", "resource_moved", "resource_reactivated", "service_horizon"],
)
def test_schedule_changes_outside_rules_queue_a_rebuild_of_the_resources_they_touch(
    resource, django_capture_on_commit_callbacks, change
):
    # given
    WeeklyRuleFactory(location=resource.location, days_of_week=EVERY_DAY)
    if change == "resource_reactivated":
        resource_update(resource=resource, data={"is_active": False})

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        if change == "location_timezone":
            location_update(location=resource.location, data={"timezone": "America/New_York"})
        elif change == "resource_moved":
            elsewhere = ResourceFactory().location
            WeeklyRuleFactory(location=elsewhere, days_of_week=EVERY_DAY, start_minute=600)
            resource_update(resource=resource, data={"location": elsewhere})
        elif change == "resource_reactivated":
            resource_update(resource=resource, data={"is_active": True})
        else:
            service_create(
                name="Long view", duration_minutes=30, horizon_days=120, resources=[resource]
            )

    # then: one rebuild (beside the renewal of cached availability), and the grid
    # follows the change
    rebuilds = [c for c in callbacks if "slots_materialize_enqueue" in c.__qualname__]
    assert len(rebuilds) == 1
    resource.refresh_from_db()
    tz = zone(resource.location.timezone)
    opening = 10 if change == "resource_moved" else 9
    hours = {slot.starts_at.astimezone(tz).hour for slot in _slots(resource)}
    assert hours == set(range(opening, 17))
    if change == "service_horizon":
        last_day = local_date(_slots(resource).last().starts_at, tz)
        assert last_day == local_date(timezone.now(), tz) + dt.timedelta(days=120)


def test_beat_sends_the_materialization_only_where_it_is_due():
    entry = settings.CELERY_BEAT_SCHEDULE["calendars-materialize"]

    assert entry["task"] == "accounts.run_where_due"
    assert entry["args"] == ("materialize", "calendars.materialize_tenant")
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.minute == set(range(0, 60, 5))
    assert "calendars.materialize_tenant" in app.tasks


def test_materialize_tenant_task_extends_every_resources_grid_to_the_horizon(location):
    # given: two resources on location hours every day, one inactive
    ada, bob = ResourceFactory(location=location), ResourceFactory(location=location)
    retired = ResourceFactory(location=location, is_active=False)
    WeeklyRuleFactory(location=location, days_of_week=EVERY_DAY)

    # when
    result = materialize_tenant.delay().get()

    # then
    today = local_date(timezone.now(), LONDON)
    for resource in (ada, bob):
        last = _slots(resource).last()
        assert local_date(last.starts_at, LONDON) == today + dt.timedelta(days=90)
    assert not _slots(retired).exists()
    assert result["created"] == _slots(ada).count() + _slots(bob).count()


def test_hourly_runs_roll_the_horizon_forward_without_rebuilding(location):
    # given: a grid built from some hour
    resource = ResourceFactory(location=location)
    WeeklyRuleFactory(location=location, days_of_week=EVERY_DAY)
    now = dt.datetime(2027, 1, 4, 6, 0, tzinfo=dt.UTC)
    first = tenant_materialize(now=now)

    # when: the same hour a day later
    later = tenant_materialize(now=now + dt.timedelta(days=1))

    # then: one more day of 16 slots at the far end; nothing removed or rebuilt
    assert later.as_dict() == {
        "created": 16,
        "kept": first.created - 16,
        "removed": 0,
        "blocked": 0,
    }
    last = _slots(resource).last()
    assert local_date(last.starts_at, LONDON) == dt.date(2027, 1, 5) + dt.timedelta(days=90)
    assert _slots(resource).first().starts_at == london(dt.date(2027, 1, 4), 9)


# --- The command -----------------------------------------------------------------------


def test_materialize_slots_command_builds_one_tenants_grids_with_a_progress_bar(location, capsys):
    # given
    ada, bob = ResourceFactory(location=location), ResourceFactory(location=location)
    WeeklyRuleFactory(location=location, days_of_week=EVERY_DAY)

    # when
    call_command("materialize_slots", "--tenant=acme", "--days=14")

    # then
    out, err = capsys.readouterr()
    built = _slots(ada).count() + _slots(bob).count()
    assert "Materialized 1 tenant(s) in " in out
    assert f"created {built}, kept 0, removed 0, blocked 0." in out
    assert "tenants: 100%" in err and "acme" in err  # the bars: tenants, then resources
    today = local_date(timezone.now(), LONDON)
    assert local_date(_slots(ada).last().starts_at, LONDON) == today + dt.timedelta(days=14)


def test_materialize_slots_command_runs_every_ready_tenant_and_is_idempotent(location, capsys):
    ResourceFactory(location=location)
    WeeklyRuleFactory(location=location, days_of_week=EVERY_DAY)
    call_command("materialize_slots", "--days=3")
    capsys.readouterr()

    call_command("materialize_slots", "--days=3", verbosity=0)

    out, err = capsys.readouterr()
    assert "created 0," in out and "removed 0," in out
    assert err == ""  # verbosity 0 hides the bars


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--tenant=nope"], "No ready tenant"), (["--days=0"], "between 1 and 3650")],
)
def test_materialize_slots_command_refuses_bad_arguments(tenant, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("materialize_slots", *args)


# --- One entry point for a range of dates -----------------------------------------------


def _every_day_one_slot(resource) -> None:
    WeeklyRuleFactory(
        resource=resource,
        days_of_week=EVERY_DAY,
        start_minute=9 * 60,
        end_minute=10 * 60,
        granularity_minutes=60,
    )
    resource.refresh_from_db()


def test_materialize_dates_refuses_a_range_past_the_horizon_and_names_the_limit(tenant, resource):
    # given a 90-day horizon
    _every_day_one_slot(resource)
    today = local_date(timezone.now(), zone(tenant.timezone))
    limit = today + dt.timedelta(days=90)

    # when a range ending one day after it is asked for
    with pytest.raises(BeyondHorizon) as refused:
        slots_materialize_dates(
            resources=[resource], first=limit, last=limit + dt.timedelta(days=1)
        )

    # then nothing is built and the error says up to when slots are made
    assert refused.value.code == "BEYOND_HORIZON"
    assert refused.value.http_status == 422
    assert limit.isoformat() in refused.value.message
    assert refused.value.field_messages().keys() == {"to"}
    assert not _slots(resource).exists()


def test_materialize_dates_clips_at_the_horizon_or_builds_beyond_it_on_purpose(tenant, resource):
    _every_day_one_slot(resource)
    today = local_date(timezone.now(), LONDON)
    limit = today + dt.timedelta(days=90)
    first, last = limit - dt.timedelta(days=1), limit + dt.timedelta(days=2)

    clipped = slots_materialize_dates(
        resources=[resource], first=first, last=last, beyond_horizon="clip"
    )
    built = slots_materialize_dates(
        resources=[resource], first=first, last=last, beyond_horizon="build"
    )

    # the horizon's last two days, then the two days after it that staff asked for
    assert clipped.created == 2
    assert built.created == 2 and built.kept == 2
    assert [local_date(s.starts_at, LONDON) for s in _slots(resource)] == [
        first + dt.timedelta(days=n) for n in range(4)
    ]


def test_materialize_dates_never_builds_the_past(tenant, resource):
    _every_day_one_slot(resource)
    today = local_date(timezone.now(), LONDON)

    result = slots_materialize_dates(
        resources=[resource], first=today - dt.timedelta(days=3), last=today - dt.timedelta(days=1)
    )

    assert result.created == 0
    assert not _slots(resource).exists()


def test_materialize_dates_checks_each_location_against_its_own_horizon(tenant, resource):
    # given a business in London with a resource in New York, at 02:00 UTC: London is on
    # day D, New York still on day D - 1, so New York's horizon ends a day earlier
    new_york = LocationFactory.create(name="Manhattan", timezone="America/New_York")
    far = ResourceFactory.create(name="Bea", location=new_york, kind=resource.kind)
    _every_day_one_slot(far)
    now = dt.datetime.combine(timezone.now().date(), dt.time(2), tzinfo=dt.UTC)
    london_limit = local_date(now, LONDON) + dt.timedelta(days=90)
    new_york_limit = local_date(now, zone("America/New_York")) + dt.timedelta(days=90)

    # when a range ending on London's last date is asked for
    with pytest.raises(BeyondHorizon) as refused:
        slots_materialize_dates(
            resources=[resource, far], first=london_limit, last=london_limit, now=now
        )

    # then it is refused naming New York's last date, before anything is built
    assert new_york_limit == london_limit - dt.timedelta(days=1)
    assert new_york_limit.isoformat() in refused.value.message
    assert not SlotInstance.objects.filter(resource__in=[resource, far]).exists()
