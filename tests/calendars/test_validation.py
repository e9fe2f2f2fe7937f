"""Bad input to the scheduling services: one domain error with a stable code and the
fields at fault, and nothing written (no row, no rebuild queued)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.services import availability_rule_create, availability_rule_update
from apps.core.errors import ValidationFailed
from apps.resources.models import Location, Resource, Service
from apps.resources.services import (
    location_create,
    location_update,
    resource_create,
    resource_update,
    service_create,
    service_update,
)
from tests.calendars.factories import ResourceFactory, WeeklyRuleFactory

WEEKLY = AvailabilityRule.Kind.WEEKLY
DATE_RANGE = AvailabilityRule.Kind.DATE_RANGE
EXCEPTION = AvailabilityRule.Kind.EXCEPTION


def _refused(call, *, captured, **kwargs) -> dict[str, list[str]]:
    """Runs a service expected to refuse; returns its field messages after checking the
    error's stable code and that no rebuild was queued."""
    with captured() as callbacks, pytest.raises(ValidationFailed) as refused:
        call(**kwargs)
    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.http_status == 400
    assert refused.value.details, "a refusal names the fields at fault"
    assert callbacks == []
    return refused.value.field_messages()


@pytest.fixture
def refused(django_capture_on_commit_callbacks):
    def run(call, **kwargs):
        return _refused(call, captured=django_capture_on_commit_callbacks, **kwargs)

    return run


# --- Locations -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "europe/london", "", None, "+01:00", 5])
def test_location_create_refuses_a_name_that_is_not_an_iana_zone(tenant, refused, bad):
    # when
    errors = refused(location_create, name="Camden", timezone=bad)

    # then
    assert list(errors) == ["timezone"]
    assert "IANA time zone" in errors["timezone"][0]
    assert not Location.objects.exists()


def test_location_create_lists_every_problem_at_once(tenant, refused):
    errors = refused(location_create, name="  ", timezone="Nowhere", address="x" * 501)

    assert set(errors) == {"name", "timezone", "address"}
    assert not Location.objects.exists()


def test_location_create_accepts_an_iana_zone_and_trims_the_name(tenant):
    location = location_create(name="  Camden ", timezone="Asia/Kathmandu")

    assert (location.name, location.timezone) == ("Camden", "Asia/Kathmandu")


def test_location_update_refuses_a_bad_zone_and_keeps_the_old_one(location, refused):
    # when
    errors = refused(location_update, location=location, data={"timezone": "Atlantis/Capital"})

    # then
    assert list(errors) == ["timezone"]
    location.refresh_from_db()
    assert location.timezone == "Europe/London"


def test_location_update_refuses_fields_it_does_not_own(location, refused):
    errors = refused(location_update, location=location, data={"id": uuid.uuid4()})

    assert errors == {"id": ["This field cannot be changed here."]}


# --- Resources -------------------------------------------------------------------------


def test_resource_create_refuses_an_unknown_location_kind_and_tags(tenant, refused):
    errors = refused(
        resource_create,
        name="Ada",
        location=uuid.uuid4(),
        kind="robot",
        tags="not-a-list",
    )

    assert set(errors) == {"location", "kind", "tags"}
    assert "There is no location" in errors["location"][0]
    assert not Resource.objects.exists()


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ok", ""], "non-empty"),
        (["x" * 41], "too long"),
        ([f"t{n}" for n in range(21)], "at most 20"),
        ([3], "non-empty"),
        (None, "list of words"),
        ({"quiet": True}, "list of words"),
    ],
    ids=["empty", "long", "many", "number", "none", "mapping"],
)
def test_resource_create_refuses_bad_tags(location, refused, tags, message):
    errors = refused(resource_create, name="Ada", location=location, tags=tags)

    assert list(errors) == ["tags"]
    assert message in errors["tags"][0]


def test_resource_create_refuses_a_user_who_is_not_a_member(location, refused):
    from tests.plugins.factories import UserFactory

    errors = refused(resource_create, name="Ada", location=location, user=UserFactory())

    assert errors == {"user": ["This person is not a member of this business."]}
    assert not Resource.objects.exists()


def test_resource_create_deduplicates_and_trims_tags(location):
    resource = resource_create(
        name="Room 1", location=location, kind="asset", tags=[" quiet", "quiet", "x-ray"]
    )

    assert (resource.kind, resource.tags) == ("asset", ["quiet", "x-ray"])


def test_resource_update_refuses_a_bad_value_and_changes_nothing(location, refused):
    resource = ResourceFactory(location=location, name="Ada")

    errors = refused(resource_update, resource=resource, data={"name": "", "is_active": "yes"})

    assert set(errors) == {"name", "is_active"}
    resource.refresh_from_db()
    assert (resource.name, resource.is_active) == ("Ada", True)


# --- Services --------------------------------------------------------------------------


def _service(**overrides):
    return {"name": "Massage", "duration_minutes": 60, **overrides}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_minutes", 0, "at least 1"),
        ("duration_minutes", 24 * 60 + 1, "at most 1440"),
        ("duration_minutes", "an hour", "whole number"),
        ("duration_minutes", True, "whole number"),
        ("buffer_before_minutes", -5, "at least 0"),
        ("capacity", 0, "at least 1"),
        ("capacity", 1001, "at most 1000"),
        ("price", "-1.00", "cannot be negative"),
        ("price", "forty", "amount"),
        ("price", "NaN", "amount"),
        ("min_notice_minutes", -1, "at least 0"),
        ("horizon_days", 0, "at least 1"),
        ("horizon_days", 731, "at most 730"),
        ("requires_payment", "yes", "true or false"),
        ("name", "", "required"),
    ],
)
def test_service_create_refuses_each_bad_value_with_its_field(
    tenant, refused, field, value, message
):
    # when
    errors = refused(service_create, **_service(**{field: value}))

    # then
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert not Service.objects.exists()


@pytest.mark.parametrize("code", ["ABC", "US", "usdollar", "XAU", "XXX", "", None])
def test_service_create_refuses_a_currency_that_is_not_iso_4217_money(tenant, refused, code):
    errors = refused(service_create, **_service(currency=code))

    assert list(errors) == ["currency"]
    assert "ISO 4217" in errors["currency"][0]
    assert not Service.objects.exists()


def test_service_create_normalises_a_lower_case_iso_currency(tenant):
    service = service_create(**_service(currency=" eur ", price="45.50"))

    assert (service.currency, service.price) == ("EUR", Decimal("45.50"))


@pytest.mark.parametrize(
    ("currency", "price", "message"),
    [("JPY", "4500.5", "JPY amounts have no decimals."), ("USD", "1.005", "at most 2 decimals")],
)
def test_service_create_refuses_more_decimals_than_the_currency_has(
    tenant, refused, currency, price, message
):
    errors = refused(service_create, **_service(currency=currency, price=price))

    assert list(errors) == ["price"]
    assert message in errors["price"][0]


def test_service_create_refuses_buffers_that_with_the_session_exceed_the_day(tenant, refused):
    # given: 10 h of session and 15 h of buffers
    errors = refused(
        service_create,
        **_service(duration_minutes=600, buffer_before_minutes=500, buffer_after_minutes=400),
    )

    # then: both buffers are named, with the total
    assert set(errors) == {"buffer_before_minutes", "buffer_after_minutes"}
    assert "take 1500 minutes" in errors["buffer_after_minutes"][0]
    assert not Service.objects.exists()


def test_service_create_accepts_a_session_and_buffers_filling_exactly_one_day(tenant):
    service = service_create(
        **_service(duration_minutes=1200, buffer_before_minutes=120, buffer_after_minutes=120)
    )

    assert service.duration_minutes + service.buffer_before_minutes == 1320


def test_service_create_refuses_payment_for_a_free_service(tenant, refused):
    errors = refused(service_create, **_service(price="0", requires_payment=True))

    assert list(errors) == ["requires_payment"]


def test_service_create_refuses_unknown_resources_and_links_none(location, refused):
    known = ResourceFactory(location=location)

    errors = refused(service_create, **_service(resources=[known, uuid.uuid4(), "nonsense"]))

    assert list(errors) == ["resources"]
    assert len(errors["resources"]) == 2
    assert not Service.objects.exists()
    assert not known.services.exists()


@pytest.mark.parametrize("resources", [None, "r1,r2", 7])
def test_service_create_refuses_resources_that_are_not_a_list(tenant, refused, resources):
    errors = refused(service_create, **_service(resources=resources))

    assert errors == {"resources": ["Give the resources as a list of ids."]}


def test_service_create_accepts_a_duration_that_is_not_a_multiple_of_any_grid(resource):
    """Issue 3 asks to refuse "a duration that is not a multiple of the granularity";
    PRODUCT.md §4.4 says such combinations are valid (a 30-minute service on a 60-minute
    grid is offered on the hour). PRODUCT.md is the contract, so no duration is refused for
    its grid: durations are checked only for their range."""
    # given: resource hours on a 60-minute grid
    WeeklyRuleFactory(resource=resource, granularity_minutes=60)

    # when
    short = service_create(name="Quick check", duration_minutes=30, resources=[resource])
    odd = service_create(name="Long check", duration_minutes=45, resources=[resource])

    # then
    assert (short.duration_minutes, odd.duration_minutes) == (30, 45)
    assert set(resource.services.all()) == {short, odd}


def test_service_update_refuses_bad_values_and_keeps_the_old_ones(resource, refused):
    service = service_create(name="Massage", duration_minutes=60, resources=[resource])

    errors = refused(
        service_update,
        service=service,
        data={"currency": "ABC", "buffer_after_minutes": 2000, "resources": []},
    )

    assert set(errors) == {"currency", "buffer_after_minutes"}
    service.refresh_from_db()
    assert (service.currency, service.buffer_after_minutes) == ("USD", 0)
    assert list(service.resources.all()) == [resource]


# --- Availability rules ----------------------------------------------------------------


def _weekly(resource, **overrides):
    rule = {
        "kind": WEEKLY,
        "resource": resource,
        "days_of_week": [1, 2, 3, 4, 5],
        "start_time": "09:00",
        "end_time": "17:00",
    }
    return rule | overrides


@pytest.mark.parametrize(
    "days", [[0], [8], [1, 9], ["Mon"], [True], "1,2,3", None, [1.5]], ids=repr
)
def test_rule_create_refuses_days_that_are_not_iso_weekdays(resource, refused, days):
    errors = refused(availability_rule_create, **_weekly(resource, days_of_week=days))

    assert list(errors) == ["days_of_week"]
    assert "ISO weekday" in errors["days_of_week"][0]
    assert not AvailabilityRule.objects.exists()


def test_rule_create_refuses_a_weekly_rule_without_days(resource, refused):
    errors = refused(availability_rule_create, **_weekly(resource, days_of_week=[]))

    assert errors == {"days_of_week": ["Choose at least one day of the week."]}


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("17:00", "09:00", "end_time", "after the start"),
        ("09:00", "09:00", "end_time", "after the start"),
        ("09:00", "24:30", "end_time", "between 00:00 and 24:00"),
        ("09:00", "25:00", "end_time", "between 00:00 and 24:00"),
        ("24:00", "24:00", "start_time", "23:59 at the latest"),
        ("9am", "17:00", "start_time", "HH:MM"),
        ("09:60", "17:00", "start_time", "between 00:00 and 24:00"),
        (None, "17:00", "start_time", "required"),
        ("09:00", dt.time(17, 0, 30), "end_time", "whole minutes"),
    ],
)
def test_rule_create_refuses_hours_that_are_not_an_ordered_day_window(
    resource, refused, start, end, field, message
):
    # when
    errors = refused(availability_rule_create, **_weekly(resource, start_time=start, end_time=end))

    # then
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert not AvailabilityRule.objects.exists()


def test_rule_create_accepts_24_00_as_an_end_meaning_midnight(resource):
    rule = availability_rule_create(**_weekly(resource, start_time="18:00", end_time="24:00"))

    assert (rule.start_minute, rule.end_minute) == (18 * 60, 24 * 60)


@pytest.mark.parametrize(
    ("granularity", "message"),
    [
        (0, "at least 5"),
        (7, "multiple of 5"),
        (721, "at most 720"),
        ("half an hour", "whole number"),
        (600, "shorter than one 600-minute slot"),
    ],
)
def test_rule_create_refuses_a_granularity_that_cannot_make_a_grid(
    resource, refused, granularity, message
):
    errors = refused(availability_rule_create, **_weekly(resource, granularity_minutes=granularity))

    assert list(errors) == ["granularity_minutes"]
    assert message in errors["granularity_minutes"][0]


def test_rule_create_refuses_a_scope_of_both_or_neither(resource, refused):
    both = refused(availability_rule_create, **_weekly(resource, location=resource.location))
    neither = refused(availability_rule_create, **_weekly(None))
    unknown = refused(availability_rule_create, **_weekly(uuid.uuid4()))

    assert set(both) == {"resource", "location"}
    assert list(neither) == ["resource"]
    assert "There is no resource" in unknown["resource"][0]
    assert not AvailabilityRule.objects.exists()


def test_rule_create_refuses_a_closure_that_is_not_an_exception_or_has_hours(resource, refused):
    weekly_closure = refused(availability_rule_create, **_weekly(resource, is_closed=True))
    closure_with_hours = refused(
        availability_rule_create,
        kind=EXCEPTION,
        resource=resource,
        valid_from="2026-12-24",
        start_time="09:00",
        is_closed=True,
    )

    assert "Only an exception closes dates" in weekly_closure["is_closed"][0]
    assert "leave the hours empty" in closure_with_hours["start_time"][0]
    assert not AvailabilityRule.objects.exists()


@pytest.mark.parametrize(
    ("kind", "dates", "field", "message"),
    [
        (EXCEPTION, {}, "valid_from", "date (or first date) of the exception"),
        (DATE_RANGE, {"valid_from": "2026-12-01"}, "valid_to", "last date of the range"),
        (DATE_RANGE, {"valid_to": "2026-12-01"}, "valid_from", "first date of the range"),
        (
            DATE_RANGE,
            {"valid_from": "2026-12-10", "valid_to": "2026-12-01"},
            "valid_to",
            "not be before",
        ),
        (WEEKLY, {"valid_from": "2026-12-10", "valid_to": "2026-12-09"}, "valid_to", "before"),
        (EXCEPTION, {"valid_from": "10/12/2026"}, "valid_from", "YYYY-MM-DD"),
        (
            EXCEPTION,
            {"valid_from": dt.datetime(2026, 12, 10, tzinfo=dt.UTC)},
            "valid_from",
            "not a date and time",
        ),
    ],
)
def test_rule_create_refuses_missing_or_disordered_dates(
    resource, refused, kind, dates, field, message
):
    errors = refused(
        availability_rule_create,
        kind=kind,
        resource=resource,
        days_of_week=[1, 2, 3, 4, 5] if kind == WEEKLY else [],
        start_time="09:00",
        end_time="12:00",
        **dates,
    )

    assert list(errors) == [field]
    assert message in errors[field][0]
    assert not AvailabilityRule.objects.exists()


def test_rule_create_refuses_an_unknown_kind_and_a_capacity_below_one(resource, refused):
    errors = refused(availability_rule_create, **_weekly(resource, kind="monthly", capacity=0))

    assert set(errors) == {"kind", "capacity"}


def test_rule_create_refuses_a_weekly_rule_overlapping_another_of_the_same_scope(resource, refused):
    # given
    availability_rule_create(**_weekly(resource, days_of_week=[1, 2, 3]))

    # when: Wednesday 16:00-18:00 overlaps Wednesday 09:00-17:00
    errors = refused(
        availability_rule_create,
        **_weekly(resource, days_of_week=[3, 6], start_time="16:00", end_time="18:00"),
    )

    # then: a clear message naming the rule in the way
    assert list(errors) == ["start_time"]
    assert errors["start_time"][0] == (
        "These hours overlap another weekly rule of the same resource "
        "(Mon,Tue,Wed 09:00-17:00). Change or remove that rule first."
    )
    assert AvailabilityRule.objects.count() == 1


def test_rule_create_refuses_date_ranges_of_one_location_sharing_a_date(location, refused):
    availability_rule_create(
        kind=DATE_RANGE,
        location=location,
        valid_from="2026-12-01",
        valid_to="2026-12-10",
        start_time="10:00",
        end_time="14:00",
    )

    errors = refused(
        availability_rule_create,
        kind=DATE_RANGE,
        location=location,
        valid_from="2026-12-10",
        valid_to="2026-12-20",
        start_time="13:00",
        end_time="15:00",
    )

    assert errors["start_time"][0].startswith(
        "These hours overlap another date-range rule of the same location "
        "(Mon,Tue,Wed,Thu,Fri,Sat,Sun 10:00-14:00 2026-12-01"
    )


def test_rule_create_accepts_rules_that_never_overlap(resource):
    """Touching hours, other days, disjoint date ranges, other kinds and other scopes
    are not contradictions: the precedence decides between kinds and scopes."""
    availability_rule_create(**_weekly(resource, start_time="09:00", end_time="12:00"))
    availability_rule_create(**_weekly(resource, start_time="12:00", end_time="17:00"))
    availability_rule_create(**_weekly(resource, days_of_week=[6], start_time="10:00"))
    availability_rule_create(
        **_weekly(resource, days_of_week=[7], valid_from="2027-01-01", valid_to="2027-01-31")
    )
    availability_rule_create(
        **_weekly(resource, days_of_week=[7], valid_from="2027-02-01", start_time="08:00")
    )
    availability_rule_create(
        kind=DATE_RANGE,
        resource=resource,
        valid_from="2027-01-04",
        valid_to="2027-01-08",
        start_time="09:00",
        end_time="17:00",
    )
    availability_rule_create(
        kind=EXCEPTION, resource=resource, valid_from="2027-01-05", is_closed=True
    )
    availability_rule_create(**_weekly(None, location=resource.location))

    assert AvailabilityRule.objects.count() == 8


def test_rule_create_accepts_a_weekly_pair_whose_shared_weekday_falls_outside_both_ranges(
    resource,
):
    # given: Mondays in a range that holds no Monday (a Tuesday to a Sunday)
    availability_rule_create(
        **_weekly(resource, days_of_week=[1], valid_from="2027-01-05", valid_to="2027-01-10")
    )

    # when: another Monday rule over the same dates
    rule = availability_rule_create(
        **_weekly(resource, days_of_week=[1, 2], valid_from="2027-01-05", valid_to="2027-01-10")
    )

    # then: accepted, as the one weekday they share (Monday) never falls in their dates
    assert rule.days_of_week == [1, 2]


def test_rule_update_refuses_a_change_that_overlaps_a_sibling_and_keeps_the_rule(resource, refused):
    # given
    availability_rule_create(**_weekly(resource, start_time="09:00", end_time="12:00"))
    afternoon = availability_rule_create(**_weekly(resource, start_time="13:00", end_time="17:00"))

    # when
    errors = refused(availability_rule_update, rule=afternoon, data={"start_time": "11:30"})

    # then
    assert "overlap another weekly rule" in errors["start_time"][0]
    afternoon.refresh_from_db()
    assert afternoon.start_minute == 13 * 60


def test_rule_update_refuses_fields_it_does_not_own_and_a_bad_value(resource, refused):
    rule = availability_rule_create(**_weekly(resource))

    unknown = refused(availability_rule_update, rule=rule, data={"start_minute": 600})
    bad = refused(availability_rule_update, rule=rule, data={"end_time": "08:00"})

    assert unknown == {"start_minute": ["This field cannot be changed here."]}
    assert list(bad) == ["end_time"]
    rule.refresh_from_db()
    assert (rule.start_minute, rule.end_minute) == (9 * 60, 17 * 60)


def test_rule_update_turns_an_opening_exception_into_a_closure(resource):
    rule = availability_rule_create(
        kind=EXCEPTION,
        resource=resource,
        valid_from="2027-01-05",
        start_time="09:00",
        end_time="12:00",
    )

    availability_rule_update(rule=rule, data={"is_closed": True})

    rule.refresh_from_db()
    assert (rule.is_closed, rule.start_minute, rule.end_minute) == (True, None, None)
    assert (rule.valid_from, rule.valid_to) == (dt.date(2027, 1, 5), dt.date(2027, 1, 5))
