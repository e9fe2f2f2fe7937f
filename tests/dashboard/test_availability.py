"""Availability on the dashboard: the rules by location and resource, adding, changing
and removing rules with the service's validation, the week of slots shown right after a
save, and the conflicts a change leaves behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.calendars.grid.services import slots_week_materialize
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.timezones import zone
from tests.dashboard.factories import WeeklyRuleFactory, booking_made

pytestmark = pytest.mark.django_db


def _next_monday() -> dt.date:
    today = timezone.now().astimezone(zone("Europe/London")).date()
    return today + dt.timedelta(days=7 - today.weekday())


def _weekly(scope: str, **overrides: object) -> dict[str, object]:
    return {
        "kind": "weekly",
        "applies_to": scope,
        "days_of_week": ["1", "2", "3", "4", "5"],
        "start_time": "09:00",
        "end_time": "12:00",
        "valid_from": _next_monday().isoformat(),
        "granularity_minutes": "30",
        **overrides,
    }


def _week_slots(resource, monday: dt.date) -> list[SlotInstance]:
    tz = zone(resource.location.timezone)
    start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    return list(
        SlotInstance.objects.filter(
            resource=resource, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=7)
        ).order_by("starts_at")
    )


def test_overview_lists_each_locations_and_resources_rules(admin_client_acme, clinic):
    WeeklyRuleFactory.create(location=clinic.location)
    WeeklyRuleFactory.create(
        resource=clinic.smith, days_of_week=[6], start_minute=10 * 60, end_minute=14 * 60
    )

    body = admin_client_acme.get(reverse("dashboard:availability")).content.decode()

    location_part, smith_part = body.split("Everyone at Harley Street")[1].split(
        'id="resource-' + str(clinic.smith.pk)
    )
    assert "Mon-Fri" in location_part and "09:00-17:00" in location_part
    assert "Sat" in smith_part and "10:00-14:00" in smith_part
    assert "Follows the location's hours." in body  # Dr Jones has no rules of his own
    assert f"kind=exception&amp;for=resource:{clinic.jones.pk}" in body


def test_overview_names_closures_and_special_hours_by_their_dates(admin_client_acme, clinic):
    holiday = dt.date(2031, 12, 25)
    AvailabilityRule.objects.create(
        resource=clinic.smith,
        kind="exception",
        valid_from=holiday,
        valid_to=holiday,
        is_closed=True,
    )
    AvailabilityRule.objects.create(
        resource=clinic.jones,
        kind="exception",
        valid_from=holiday,
        valid_to=holiday,
        start_minute=10 * 60,
        end_minute=12 * 60,
    )

    body = admin_client_acme.get(reverse("dashboard:availability")).content.decode()

    jones_part, smith_part = body.split(f'id="resource-{clinic.jones.pk}"')[1].split(
        f'id="resource-{clinic.smith.pk}"'
    )
    assert "<td>Special hours</td>\n      <td>-</td>\n      <td>10:00-12:00</td>" in jones_part
    assert "<td>Closure</td>\n      <td>-</td>\n      <td>Closed</td>" in smith_part
    assert "25 Dec 2031" in smith_part


def test_adding_weekly_hours_shows_that_weeks_slots_at_once(admin_client_acme, clinic):
    # given no hours at all; background rebuilds do not run in these tests (no commit),
    # so whatever appears comes from the view's own rebuild of the week

    # when
    response = admin_client_acme.post(
        reverse("dashboard:rule_create"), _weekly(f"resource:{clinic.smith.pk}")
    )

    # then the scheduler lands on the slots of that week, and they are there
    monday = _next_monday()
    assert response.status_code == 302
    assert response["Location"] == (
        f"{reverse('dashboard:slots')}?resource={clinic.smith.pk}&date={monday.isoformat()}"
    )
    slots = _week_slots(clinic.smith, monday)
    assert len(slots) == 5 * 6
    assert slots[0].starts_at.astimezone(zone("Europe/London")).time() == dt.time(9, 0)
    page = admin_client_acme.get(response["Location"]).content.decode()
    assert "30 slots" in page and ">09:00<" in page and ">11:30<" in page


def test_location_hours_rebuild_every_resource_there_and_show_the_first(admin_client_acme, clinic):
    response = admin_client_acme.post(
        reverse("dashboard:rule_create"), _weekly(f"location:{clinic.location.pk}")
    )

    monday = _next_monday()
    assert response.status_code == 302
    assert f"resource={clinic.jones.pk}" in response["Location"]  # Dr Jones comes first
    assert len(_week_slots(clinic.smith, monday)) == len(_week_slots(clinic.jones, monday)) == 30


def test_an_htmx_save_navigates_to_the_slots(admin_client_acme, clinic):
    response = admin_client_acme.post(
        reverse("dashboard:rule_create"),
        _weekly(f"resource:{clinic.smith.pk}"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("dashboard:slots"))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_time": "08:00"}, "end_time", "The end must be after the start"),
        ({"start_time": "9am"}, "start_time", "Enter a time as HH:MM"),
        ({"days_of_week": []}, "days_of_week", "Choose at least one day of the week."),
        ({"granularity_minutes": "7"}, "granularity_minutes", "Use a multiple of 5 minutes"),
        ({"granularity_minutes": "lots"}, "granularity_minutes", "Enter a whole number."),
        ({"capacity": "0"}, "capacity", "Enter at least 1 places."),
        ({"applies_to": "resource:not-a-uuid"}, "applies_to", "Select a valid choice."),
        ({"valid_to": "2020-01-01"}, "valid_to", "The last date must not be before"),
    ],
)
def test_invalid_hours_come_back_with_the_field_error_and_the_typed_values(
    admin_client_acme, clinic, overrides, field, message
):
    data = _weekly(f"resource:{clinic.smith.pk}", **overrides)

    response = admin_client_acme.post(reverse("dashboard:rule_create"), data)

    body = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}_error" role="alert">{message}' in body
    for name in ("start_time", "end_time"):
        assert f'name="{name}" value="{data[name]}"' in body
    assert not AvailabilityRule.objects.exists()


def test_a_closure_with_hours_is_refused_with_the_services_explanation(admin_client_acme, clinic):
    response = admin_client_acme.post(
        reverse("dashboard:rule_create"),
        {
            "kind": "exception",
            "applies_to": f"resource:{clinic.smith.pk}",
            "valid_from": _next_monday().isoformat(),
            "is_closed": "on",
            "start_time": "09:00",
            "granularity_minutes": "30",
        },
    )

    assert response.status_code == 400
    assert "A closure closes whole dates" in response.content.decode()


def test_overlapping_hours_name_the_rule_they_overlap(admin_client_acme, clinic):
    WeeklyRuleFactory.create(resource=clinic.smith)

    response = admin_client_acme.post(
        reverse("dashboard:rule_create"), _weekly(f"resource:{clinic.smith.pk}")
    )

    assert response.status_code == 400
    assert "These hours overlap another" in response.content.decode()


def test_a_closure_blocks_a_booked_slot_and_lists_the_booking_to_resolve(admin_client_acme, clinic):
    # given Dr Smith's weekly hours and a booking next Monday at 10:00
    admin_client_acme.post(reverse("dashboard:rule_create"), _weekly(f"resource:{clinic.smith.pk}"))
    monday = _next_monday()
    booking = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=dt.datetime.combine(monday, dt.time(10), tzinfo=zone("Europe/London")),
        name="Grace Hopper",
    )

    # when the scheduler closes that Monday
    response = admin_client_acme.post(
        reverse("dashboard:rule_create"),
        {
            "kind": "exception",
            "applies_to": f"resource:{clinic.smith.pk}",
            "valid_from": monday.isoformat(),
            "is_closed": "on",
            "granularity_minutes": "30",
        },
    )

    # then Monday's free slots are gone, the booked one is blocked, and it is listed
    assert response.status_code == 302
    london = zone("Europe/London")
    monday_slots = [
        s
        for s in _week_slots(clinic.smith, monday)
        if s.starts_at.astimezone(london).date() == monday
    ]
    assert [(s.starts_at, s.status) for s in monday_slots] == [
        (booking.starts_at, SlotInstance.Status.BLOCKED)
    ]
    conflicts = admin_client_acme.get(reverse("dashboard:conflicts")).content.decode()
    assert "Grace Hopper" in conflicts
    assert reverse("dashboard:booking", kwargs={"booking_id": booking.pk}) in conflicts
    assert reverse("dashboard:booking_reschedule", kwargs={"booking_id": booking.pk}) in conflicts
    overview = admin_client_acme.get(reverse("dashboard:availability")).content.decode()
    assert "1 booked time no longer within opening hours" in overview


def test_editing_hours_rebuilds_the_week(admin_client_acme, clinic):
    admin_client_acme.post(reverse("dashboard:rule_create"), _weekly(f"resource:{clinic.smith.pk}"))
    rule = AvailabilityRule.objects.get()

    form = admin_client_acme.get(reverse("dashboard:rule_edit", kwargs={"rule_id": rule.pk}))
    response = admin_client_acme.post(
        reverse("dashboard:rule_edit", kwargs={"rule_id": rule.pk}),
        _weekly(f"resource:{clinic.smith.pk}", end_time="10:00"),
    )

    assert 'name="end_time" value="12:00"' in form.content.decode()
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.end_minute == 10 * 60
    assert len(_week_slots(clinic.smith, _next_monday())) == 5 * 2


def test_removing_hours_removes_their_free_slots_after_commit(
    admin_client_acme, clinic, django_capture_on_commit_callbacks
):
    rule = WeeklyRuleFactory.create(resource=clinic.smith)
    slots_week_materialize(resources=[clinic.smith], day=_next_monday())
    assert len(_week_slots(clinic.smith, _next_monday())) == 5 * 16

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            reverse("dashboard:rule_delete", kwargs={"rule_id": rule.pk})
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:availability")
    assert not AvailabilityRule.objects.exists()
    assert _week_slots(clinic.smith, _next_monday()) == []


def test_week_rebuild_fills_only_that_week_and_changes_nothing_the_second_time(clinic):
    WeeklyRuleFactory.create(resource=clinic.smith)
    monday = _next_monday()

    first = slots_week_materialize(resources=[clinic.smith], day=monday + dt.timedelta(days=3))
    second = slots_week_materialize(resources=[clinic.smith], day=monday)

    assert (first.created, second.created, second.kept) == (80, 0, 80)
    assert SlotInstance.objects.filter(resource=clinic.smith).count() == 80
    assert len(_week_slots(clinic.smith, monday)) == 80


def test_week_rebuild_leaves_the_past_and_inactive_resources_alone(clinic):
    WeeklyRuleFactory.create(location=clinic.location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    clinic.jones.is_active = False
    clinic.jones.save(update_fields=["is_active"])
    last_week = _next_monday() - dt.timedelta(days=14)

    past = slots_week_materialize(resources=[clinic.smith, clinic.jones], day=last_week)
    future = slots_week_materialize(resources=[clinic.smith, clinic.jones], day=_next_monday())

    assert past.created == 0
    assert future.created == 7 * 16
    assert not SlotInstance.objects.filter(resource=clinic.jones).exists()


@pytest.mark.parametrize(
    "params",
    [{"date": "2031-02-30"}, {"resource": "nobody"}, {"date": "0001-01-01"}],
)
def test_slots_page_reports_bad_input_and_shows_a_week_anyway(admin_client_acme, clinic, params):
    response = admin_client_acme.get(reverse("dashboard:slots"), params)

    assert response.status_code == 400
    assert "Slots of" in response.content.decode()


@pytest.mark.parametrize(
    "params", [{"kind": "sideways"}, {"for": "location:../../"}, {"kind": "exception", "for": "x"}]
)
def test_the_rule_form_ignores_odd_preset_values(admin_client_acme, clinic, params):
    response = admin_client_acme.get(reverse("dashboard:rule_create"), params)

    assert response.status_code == 200
    assert "Save and show the slots" in response.content.decode()
