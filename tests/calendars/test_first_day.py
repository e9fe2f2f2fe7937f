"""The first-day checklist and going live (apps/calendars/first_day.py), in the service
layer: each step follows what exists, going live waits for every required step."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import AuthenticatorDevice, Tenant, User
from apps.calendars.first_day import (
    NotReadyToGoLive,
    business_go_live,
    first_day_checklist,
    holidays_close,
    holidays_decline,
    public_holidays,
    weekly_hours_apply,
    weekly_hours_proposal,
)
from apps.calendars.models import AvailabilityRule
from apps.core.errors import ValidationFailed
from apps.resources.services import location_create
from tests.plugins.factories import ResourceFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_business(acme: Tenant) -> Tenant:
    """acme as a business just opened by signup: not live, nothing decided."""
    acme.live_at = None
    acme.holidays_decided_at = None
    acme.save(update_fields=["live_at", "holidays_decided_at"])
    return acme


def _owner(*, two_step: bool = False, confirmed: bool = True) -> User:
    user = UserFactory.create(email_confirmed_at=timezone.now() if confirmed else None)
    if two_step:
        AuthenticatorDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def _done(tenant: Tenant, user: User) -> dict[str, bool]:
    return {step.key: step.done for step in first_day_checklist(tenant=tenant, user=user).steps}


def _bookable_setup() -> None:
    location = location_create(name="Mitte", timezone="Europe/Berlin")
    person = ResourceFactory.create(name="Anna", location=location)
    ServiceFactory.create(name="Haircut", resources=[person])
    weekly_hours_apply(location=location)


def test_checklist_steps_follow_what_exists_not_tick_boxes(new_business):
    # given a new business with nothing in it
    user = _owner()
    assert _done(new_business, user) == {
        "location": False,
        "service": False,
        "resource": False,
        "hours": False,
        "holidays": False,
        "two_step": False,
        "email": True,
        "live": False,
    }

    # when a location, a service and a person delivering it exist
    location = location_create(name="Mitte", timezone="Europe/Berlin")
    service = ServiceFactory.create(name="Haircut")
    person = ResourceFactory.create(name="Anna", location=location)
    done = _done(new_business, user)
    # then the person step waits until they deliver an active service
    assert done["location"] and done["service"] and not done["resource"]
    service.resources.add(person)
    assert _done(new_business, user)["resource"]

    # and a service switched off undoes the step again: it is computed, not stored
    service.is_active = False
    service.save(update_fields=["is_active"])
    done = _done(new_business, user)
    assert not done["service"] and not done["resource"]


def test_two_step_and_email_steps_are_the_viewing_admins_own(new_business):
    with_factor = _owner(two_step=True)
    unconfirmed = _owner(confirmed=False)

    assert _done(new_business, with_factor)["two_step"] is True
    assert _done(new_business, unconfirmed)["two_step"] is False
    assert _done(new_business, unconfirmed)["email"] is False


def test_going_live_is_refused_naming_every_missing_step(new_business):
    user = _owner()

    with pytest.raises(NotReadyToGoLive) as refused:
        business_go_live(tenant=new_business, user=user)

    assert refused.value.code == "NOT_READY"
    assert {d.field for d in refused.value.details} == {
        "location",
        "service",
        "resource",
        "hours",
        "two_step",
    }
    assert "Two-step sign-in" in refused.value.message
    new_business.refresh_from_db()
    assert new_business.live_at is None


def test_going_live_needs_the_admins_two_step_sign_in_even_when_all_else_is_done(new_business):
    _bookable_setup()

    with pytest.raises(NotReadyToGoLive) as refused:
        business_go_live(tenant=new_business, user=_owner())

    assert [d.field for d in refused.value.details] == ["two_step"]


def test_going_live_when_ready_opens_the_business_once(new_business):
    _bookable_setup()
    user = _owner(two_step=True)

    business_go_live(tenant=new_business, user=user)
    first = Tenant.objects.get(pk=new_business.pk).live_at
    business_go_live(tenant=new_business, user=user)

    assert first is not None
    assert Tenant.objects.get(pk=new_business.pk).live_at == first
    # the holidays decision is not required to go live
    assert not _done(new_business, user)["holidays"]
    assert _done(new_business, user)["live"]


def test_proposed_hours_are_weekdays_nine_to_five_in_the_locations_zone(new_business):
    assert weekly_hours_proposal() is None
    location = location_create(name="Mitte", timezone="Europe/Berlin")

    proposal = weekly_hours_proposal()
    rule = weekly_hours_apply(location=location)

    assert proposal is not None and proposal.location == location
    assert rule.kind == AvailabilityRule.Kind.WEEKLY
    assert rule.location == location and rule.resource is None
    assert list(rule.days_of_week) == [1, 2, 3, 4, 5]
    assert (rule.start_minute, rule.end_minute) == (9 * 60, 17 * 60)
    # applying it twice is refused like any overlapping rule, not doubled
    with pytest.raises(ValidationFailed):
        weekly_hours_apply(location=location)
    assert AvailabilityRule.objects.filter(location=location).count() == 1


def test_a_locations_country_defaults_to_its_time_zones_and_can_be_changed(acme):
    berlin = location_create(name="Mitte", timezone="Europe/Berlin")
    utc = location_create(name="Online", timezone="UTC")
    chosen = location_create(name="Wien", timezone="Europe/Berlin", country="at")

    assert (berlin.country, utc.country, chosen.country) == ("DE", "", "AT")
    with pytest.raises(ValidationFailed) as refused:
        location_create(name="Nowhere", timezone="Europe/Berlin", country="XX")
    assert refused.value.details[0].field == "country"


def test_public_holidays_are_the_next_twelve_months_of_the_locations_country(acme):
    location = location_create(name="Mitte", timezone="Europe/Berlin")
    today = dt.date(2027, 3, 1)

    offered = public_holidays(location=location, today=today)

    days = [holiday.day for holiday in offered]
    assert dt.date(2027, 10, 3) in days  # German Unity Day
    assert dt.date(2027, 12, 25) in days
    assert dt.date(2028, 1, 1) in days
    assert all(today <= day < dt.date(2028, 3, 1) for day in days)
    assert days == sorted(days)
    assert public_holidays(location=location_create(name="Online", timezone="UTC")) == []


def test_closing_chosen_holidays_makes_closures_and_records_the_decision(new_business):
    location = location_create(name="Mitte", timezone="Europe/Berlin")
    today = dt.date(2027, 3, 1)
    christmas, unity = dt.date(2027, 12, 25), dt.date(2027, 10, 3)
    # a closure the business already made is kept, not doubled
    AvailabilityRule.objects.create(
        location=location,
        kind=AvailabilityRule.Kind.EXCEPTION,
        valid_from=unity,
        valid_to=unity,
        is_closed=True,
    )

    created = holidays_close(
        tenant=new_business, location=location, days=[christmas, unity], today=today
    )

    assert [(r.valid_from, r.is_closed) for r in created] == [(christmas, True)]
    assert AvailabilityRule.objects.filter(location=location, valid_from=unity).count() == 1
    assert Tenant.objects.get(pk=new_business.pk).holidays_decided_at is not None
    assert next(
        h for h in public_holidays(location=location, today=today) if h.day == christmas
    ).closed


def test_a_day_that_is_no_public_holiday_is_refused_and_nothing_is_closed(new_business):
    location = location_create(name="Mitte", timezone="Europe/Berlin")

    with pytest.raises(ValidationFailed) as refused:
        holidays_close(
            tenant=new_business,
            location=location,
            days=[dt.date(2027, 12, 25), dt.date(2027, 12, 27)],
            today=dt.date(2027, 3, 1),
        )

    assert "2027-12-27" in refused.value.details[0].message
    assert not AvailabilityRule.objects.filter(kind=AvailabilityRule.Kind.EXCEPTION).exists()
    assert Tenant.objects.get(pk=new_business.pk).holidays_decided_at is None


def test_declining_holidays_is_a_decision_that_completes_the_step(new_business):
    user = _owner()

    holidays_decline(tenant=new_business)

    assert _done(new_business, user)["holidays"]
    assert not AvailabilityRule.objects.exists()
