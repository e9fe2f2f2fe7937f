"""Curated slot exposure (PRODUCT.md §4.5): a deterministic, fair pick of a few free starts per
viewer, cached 7 minutes per viewer, date and resource in Redis, reshuffled hourly."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import pytest
from django.core.cache import cache

from apps.accounts.models import Tenant
from apps.calendars.availability.exposure import (
    AFTERNOON,
    EVENING,
    EXPOSURE_CACHE_SECONDS,
    MORNING,
    day_part,
    exposure_pick,
    exposure_seed,
)
from apps.calendars.availability.selectors import availability_slots
from apps.core.errors import ValidationFailed
from tests.calendars.bookings import book
from tests.calendars.factories import ResourceFactory, ServiceFactory, WeeklyRuleFactory
from tests.calendars.times import LONDON, london, materialize_days

pytestmark = pytest.mark.usefixtures("exposure_cache")
VIEWERS = [f"session-{n}" for n in range(300)]
NOW = dt.datetime(2027, 1, 1, 10, 15, tzinfo=dt.UTC)


@pytest.fixture
def long_day(location, monday):
    """Ada and Bob at Camden, 08:00-20:00 on Monday: 8 morning, 10 afternoon and 6
    evening starts of a 30-minute consultation each."""
    people = [ResourceFactory(location=location, name=name) for name in ("Ada", "Bob")]
    for person in people:
        WeeklyRuleFactory(
            resource=person, days_of_week=[1], start_minute=8 * 60, end_minute=20 * 60
        )
        materialize_days(person, monday, 1)
    consultation = ServiceFactory(resources=people)
    return people, consultation


@pytest.fixture
def now(monday) -> dt.datetime:
    """Three days before, 10:15 London: one hour window for the whole test."""
    return london(monday - dt.timedelta(days=3), 10, 15)


def curated(service, day, now, viewer, **scope):
    return availability_slots(
        service=service,
        day=day,
        now=now,
        viewer_key=viewer,
        exposure_variant="curated",
        **scope,
    )


def parts(slots) -> list[str]:
    return [day_part(slot.start, LONDON) for slot in slots]


# --- Determinism and bounds ------------------------------------------------------------


def test_same_viewer_date_resource_and_hour_get_the_same_slots(long_day, monday, now):
    # given
    (ada, _), consultation = long_day

    # when: asked twice, forgetting the cache in between, within one hour
    first = curated(consultation, monday, now, "session-a", resource=ada)
    cache.delete_pattern("slot-exposure:*")
    again = curated(consultation, monday, now + dt.timedelta(minutes=40), "session-a", resource=ada)

    # then
    assert [slot.id for slot in first.slots] == [slot.id for slot in again.slots]
    assert first.slots == sorted(first.slots, key=lambda slot: slot.start)


def test_pick_is_a_pure_function_of_its_seed():
    slots = [_Slot(n) for n in range(24)]

    picks = {
        tuple(exposure_pick(slots=slots, seed=42, resource_scoped=True, bucket_tz=LONDON))
        for _ in range(5)
    }

    assert len(picks) == 1


def test_resource_scoped_views_show_one_to_three_starts_location_scoped_three_to_five(
    long_day, location, monday, now
):
    (ada, _), consultation = long_day

    resource_sizes = Counter(
        len(curated(consultation, monday, now, viewer, resource=ada).slots) for viewer in VIEWERS
    )
    location_sizes = Counter(
        len(curated(consultation, monday, now, viewer, location=location).slots)
        for viewer in VIEWERS
    )

    assert set(resource_sizes) == {1, 2, 3}
    assert set(location_sizes) == {3, 4, 5}


def test_exposure_is_capped_by_the_free_starts(location, monday, now):
    # given: two free starts only
    ada = ResourceFactory(location=location)
    WeeklyRuleFactory(resource=ada, days_of_week=[1], start_minute=9 * 60, end_minute=10 * 60)
    materialize_days(ada, monday, 1)
    consultation = ServiceFactory(resources=[ada])

    sizes = {
        len(curated(consultation, monday, now, viewer, location=location).slots)
        for viewer in VIEWERS[:50]
    }
    result = curated(consultation, monday, now, "session-x", location=location)

    assert sizes == {2}
    assert (result.total, result.has_more) == (2, False)


def test_result_carries_the_total_free_count_and_has_more(long_day, monday, now):
    (ada, _), consultation = long_day
    everything = availability_slots(service=consultation, resource=ada, day=monday, now=now)

    result = curated(consultation, monday, now, "session-a", resource=ada)

    assert result.total == everything.total == 24
    assert result.has_more is (len(result.slots) < 24)
    assert {slot.id for slot in result.slots} <= {slot.id for slot in everything.slots}


# --- Parts of the day and fairness -----------------------------------------------------


def test_one_start_from_each_part_of_the_day_comes_first(long_day, location, monday, now):
    (ada, _), consultation = long_day

    for viewer in VIEWERS[:100]:
        at_location = parts(curated(consultation, monday, now, viewer, location=location).slots)
        for_ada = parts(curated(consultation, monday, now, viewer, resource=ada).slots)

        # then: 3-5 starts always include each part; 1-3 starts never repeat a part
        assert {MORNING, AFTERNOON, EVENING} <= set(at_location)
        assert len(set(for_ada)) == len(for_ada)


def test_over_many_viewers_every_free_start_is_shown(long_day, monday, now):
    (ada, _), consultation = long_day

    picks = [
        tuple(curated(consultation, monday, now, viewer, resource=ada).slots) for viewer in VIEWERS
    ]

    # every one of the 24 starts reached somebody, and viewers do not share a handful of
    # picks
    assert len({slot.start for pick in picks for slot in pick}) == 24
    assert len(set(picks)) > len(VIEWERS) // 2


def test_viewers_shown_a_single_start_see_every_part_of_the_day(long_day, monday, now):
    """With k = 1 there is no room for one start per part: which part comes first is the
    viewer's shuffle, so afternoons and evenings are not starved by mornings."""
    (ada, _), consultation = long_day

    single = Counter(
        parts(result.slots)[0]
        for viewer in VIEWERS
        if len((result := curated(consultation, monday, now, viewer, resource=ada)).slots) == 1
    )

    assert set(single) == {MORNING, AFTERNOON, EVENING}


def _picks_of_many_viewers(count: int) -> list[list[_Slot]]:
    slots = [_Slot(n) for n in range(24)]  # 8 morning, 10 afternoon, 6 evening starts
    resource_id = uuid.UUID(int=7)
    return [
        exposure_pick(
            slots=slots,
            seed=exposure_seed(
                viewer_key=f"session-{n}", day=dt.date(2027, 1, 4), resource_id=resource_id, now=NOW
            ),
            resource_scoped=True,
            bucket_tz=LONDON,
        )
        for n in range(count)
    ]


def test_pick_spreads_evenly_over_the_starts_of_each_part_and_over_k():
    picks = _picks_of_many_viewers(3000)

    sizes = Counter(len(pick) for pick in picks)
    shown = Counter(slot.id for pick in picks for slot in pick)
    single = Counter(day_part(pick[0].start, LONDON) for pick in picks if len(pick) == 1)

    # k is drawn evenly from 1-3
    assert set(sizes) == {1, 2, 3} and min(sizes.values()) > 3000 // 4
    # within a part of the day every start is shown about as often as another
    for part in (MORNING, AFTERNOON, EVENING):
        counts = [shown[slot.id] for slot in map(_Slot, range(24)) if slot.part == part]
        assert max(counts) <= 1.5 * min(counts), (part, counts)
    # a single start is any start: each part in about its share of the day's starts
    for part, starts_in_part in ((MORNING, 8), (AFTERNOON, 10), (EVENING, 6)):
        assert single[part] >= 0.5 * sizes[1] * starts_in_part / 24, (part, single)


# --- Cache and salt --------------------------------------------------------------------


def _exposure_keys() -> list[str]:
    return sorted(cache.keys("slot-exposure:*"))  # type: ignore[attr-defined]


def test_pick_is_cached_seven_minutes_per_viewer_date_and_resource(long_day, location, monday, now):
    (ada, bob), consultation = long_day

    # when: one viewer, three scopes and two dates; a second viewer
    curated(consultation, monday, now, "session-a", resource=ada)
    curated(consultation, monday, now, "session-a", resource=bob)
    curated(consultation, monday, now, "session-a", location=location)
    curated(consultation, monday + dt.timedelta(days=1), now, "session-a", resource=ada)
    curated(consultation, monday, now, "session-b", resource=ada)

    # then: one entry each (an empty day caches nothing), living 7 minutes, whose
    # names never carry the viewer's session key
    keys = _exposure_keys()
    assert len(keys) == 4
    assert all("session-" not in key for key in keys)
    for key in keys:
        assert 0 < cache.ttl(key) <= EXPOSURE_CACHE_SECONDS
        assert cache.ttl(key) > EXPOSURE_CACHE_SECONDS - 60


def _viewer_whose_pick_changes_next_hour(ada, consultation, monday, now) -> str:
    everything = availability_slots(service=consultation, resource=ada, day=monday, now=now).slots
    for viewer in VIEWERS:
        this_hour, next_hour = (
            exposure_pick(
                slots=everything,
                seed=exposure_seed(viewer_key=viewer, day=monday, resource_id=ada.pk, now=moment),
                resource_scoped=True,
                bucket_tz=LONDON,
            )
            for moment in (now, now + dt.timedelta(hours=1))
        )
        if this_hour != next_hour:
            return viewer
    raise AssertionError("every viewer kept the same pick from one hour to the next")


def test_cached_pick_outlives_the_hour_and_a_new_one_is_drawn_once_it_expires(
    long_day, monday, now
):
    # given: a viewer whose seeded pick differs from this hour to the next
    (ada, _), consultation = long_day
    viewer = _viewer_whose_pick_changes_next_hour(ada, consultation, monday, now)
    first = curated(consultation, monday, now, viewer, resource=ada)

    # when: they reload just after the hour turns, then again after the entry expired
    reloaded = curated(consultation, monday, now + dt.timedelta(minutes=50), viewer, resource=ada)
    for key in _exposure_keys():
        cache.delete(key)  # what Redis does after EXPOSURE_CACHE_SECONDS
    expired = curated(consultation, monday, now + dt.timedelta(minutes=50), viewer, resource=ada)

    # then
    assert [s.id for s in reloaded.slots] == [s.id for s in first.slots]
    assert [s.id for s in expired.slots] != [s.id for s in first.slots]


def test_salt_rotates_with_the_hour_window(monday, now):
    top_of_hour = now.replace(minute=0)

    seeds = {
        minutes: exposure_seed(
            viewer_key="session-a",
            day=monday,
            resource_id=None,
            now=top_of_hour + dt.timedelta(minutes=minutes),
        )
        for minutes in (0, 59, 60, 119, 120)
    }

    assert seeds[0] == seeds[59] != seeds[60] == seeds[119] != seeds[120]
    assert seeds[0] != exposure_seed(viewer_key="session-b", day=monday, resource_id=None, now=now)
    assert seeds[0] != exposure_seed(
        viewer_key="session-a", day=monday + dt.timedelta(days=1), resource_id=None, now=now
    )


def test_remembered_starts_that_were_booked_meanwhile_are_left_out(long_day, monday, now):
    # given: a viewer shown three starts
    (ada, _), consultation = long_day
    viewer = next(
        v for v in VIEWERS if len(curated(consultation, monday, now, v, resource=ada).slots) == 3
    )
    shown = curated(consultation, monday, now, viewer, resource=ada)

    # when: somebody books the first of them
    book(service=consultation, resource=ada, start=shown.slots[0].start)
    after_one = curated(consultation, monday, now, viewer, resource=ada)
    for who, slot in enumerate(shown.slots[1:], start=1):
        book(service=consultation, resource=ada, start=slot.start, who=who)
    after_all = curated(consultation, monday, now, viewer, resource=ada)

    # then: the other two stay; once none is left a fresh pick is drawn
    assert [s.id for s in after_one.slots] == [s.id for s in shown.slots[1:]]
    assert (after_one.total, after_one.has_more) == (23, True)
    assert after_all.slots and not {s.id for s in after_all.slots} & {s.id for s in shown.slots}
    assert after_all.total == 21


# --- The mode and its override ---------------------------------------------------------


def test_tenant_mode_decides_and_the_variant_overrides_it(tenant, long_day, monday, now):
    (ada, _), consultation = long_day

    def read(variant=None):
        return availability_slots(
            service=consultation,
            resource=ada,
            day=monday,
            now=now,
            viewer_key="session-a",
            exposure_variant=variant,
        )

    all_by_default = read()
    forced_curated = read("curated")
    tenant.exposure_mode = Tenant.ExposureMode.CURATED
    curated_by_setting = read()
    forced_all = read("all")

    assert (len(all_by_default.slots), all_by_default.has_more) == (24, False)
    assert 1 <= len(forced_curated.slots) <= 3 and forced_curated.has_more
    assert [s.id for s in curated_by_setting.slots] == [s.id for s in forced_curated.slots]
    assert len(forced_all.slots) == forced_all.total == 24


def test_an_unknown_variant_is_refused_with_its_field(long_day, monday, now):
    (ada, _), consultation = long_day

    with pytest.raises(ValidationFailed) as refused:
        availability_slots(service=consultation, resource=ada, day=monday, exposure_variant="some")

    assert refused.value.code == "VALIDATION_ERROR"
    assert list(refused.value.field_messages()) == ["exposure_variant"]


class _Slot:
    """A free start for the pure pick: the n-th of 24 from 08:00 on a winter Monday."""

    def __init__(self, n: int) -> None:
        self.id = uuid.UUID(int=n)
        self.start = dt.datetime(2027, 1, 4, 8, tzinfo=dt.UTC) + dt.timedelta(minutes=30 * n)
        self.part = day_part(self.start, LONDON)

    def __repr__(self) -> str:
        return f"_Slot({self.id})"
