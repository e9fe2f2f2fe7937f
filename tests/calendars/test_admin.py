"""The scheduling models in the tenant's admin (support agents, on the tenant's domain):
all registered; lists and forms render; adds and changes go through the services."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client

from apps.accounts.admin_sites import tenant_admin_site
from apps.calendars.models import AvailabilityRule, SlotHold, SlotInstance
from apps.resources.models import Location, Resource, Service
from tests.calendars.bookings import hold
from tests.calendars.factories import WeeklyRuleFactory
from tests.calendars.times import london
from tests.plugins.factories import UserFactory, verified_staff_client

CONFIGURED = ["location", "resource", "service", "availabilityrule"]


def _url(model: str, *suffix: str) -> str:
    app = "calendars" if model in ("availabilityrule", "slotinstance", "slothold") else "resources"
    return "/".join(["", "admin", app, model, *suffix, ""])


@pytest.fixture
def support(tenant, acme_host):
    """A platform staff member on acme's own domain."""
    return verified_staff_client(acme_host)


@pytest.fixture
def grid(service, weekday_hours, monday):
    """Every scheduling model has a row: a rule, slots, and a hold on one of them."""
    hold(service=service, resource=weekday_hours, start=london(monday, 10))
    return weekday_hours


def test_every_scheduling_model_is_registered_on_the_tenant_admin():
    models = [
        *apps.get_app_config("resources").get_models(),
        *apps.get_app_config("calendars").get_models(),
    ]

    assert {model.__name__ for model in models} == {
        "Location",
        "Resource",
        "Service",
        "IntakeQuestion",
        "AvailabilityRule",
        "SlotInstance",
        "SlotHold",
    }
    assert all(model in tenant_admin_site._registry for model in models)


@pytest.mark.parametrize("model", [*CONFIGURED, "slotinstance", "slothold"])
def test_changelist_and_object_page_render_for_support(support, grid, model):
    obj = {
        "location": Location,
        "resource": Resource,
        "service": Service,
        "availabilityrule": AvailabilityRule,
        "slotinstance": SlotInstance,
        "slothold": SlotHold,
    }[model].objects.first()

    listing = support.get(_url(model))
    page = support.get(_url(model, str(obj.pk), "change"))

    assert listing.status_code == 200
    assert listing.context["cl"].result_count >= 1
    assert page.status_code == 200


@pytest.mark.parametrize("model", CONFIGURED)
def test_add_page_renders_for_support(support, model):
    response = support.get(_url(model, "add"))

    assert response.status_code == 200
    assert response.context["adminform"].form.adding


@pytest.mark.parametrize("model", ["slotinstance", "slothold"])
def test_derived_slots_and_holds_cannot_be_added_or_changed(support, grid, model):
    obj = (SlotInstance if model == "slotinstance" else SlotHold).objects.first()

    add = support.get(_url(model, "add"))
    change = support.post(_url(model, str(obj.pk), "change"), {})

    assert add.status_code == 403
    assert change.status_code == 403


def test_admin_refuses_what_anonymous_and_non_staff_visitors_ask(tenant, acme_host):
    anonymous = Client(HTTP_HOST=acme_host)
    member = Client(HTTP_HOST=acme_host)
    member.force_login(UserFactory(is_staff=False))

    for client in (anonymous, member):
        response = client.get(_url("location"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_adding_a_location_goes_through_the_service_and_shows_its_errors(support):
    # when: a zone that is not one
    refused = support.post(
        _url("location", "add"), {"name": "Camden", "address": "", "timezone": "Mars/Base"}
    )
    # and a real one
    added = support.post(
        _url("location", "add"), {"name": " Camden ", "address": "", "timezone": "Europe/London"}
    )

    # then
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["timezone"] == [
        "“Mars/Base” is not an IANA time zone (e.g. Europe/London)."
    ]
    assert added.status_code == 302
    location = Location.objects.get()
    assert location.name == "Camden"  # trimmed by the service
    assert added["Location"] == _url("location")


def test_adding_a_rule_validates_and_queues_the_rebuild(
    support, resource, django_capture_on_commit_callbacks
):
    form = {
        "kind": "weekly",
        "resource": str(resource.pk),
        "location": "",
        "days_of_week": "1,2,3",
        "start_time": "09:00",
        "end_time": "17:00",
        "valid_from": "",
        "valid_to": "",
        "granularity_minutes": "30",
        "capacity": "",
    }

    # when: hours ending before they start, then good ones
    with django_capture_on_commit_callbacks() as refused_callbacks:
        refused = support.post(_url("availabilityrule", "add"), form | {"end_time": "08:00"})
    with django_capture_on_commit_callbacks() as added_callbacks:
        added = support.post(_url("availabilityrule", "add"), form)

    # then
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["end_time"] == [
        "The end must be after the start (use 24:00 for midnight)."
    ]
    assert refused_callbacks == []
    assert added.status_code == 302
    rule = AvailabilityRule.objects.get()
    assert (rule.days_of_week, rule.start_minute, rule.end_minute) == ([1, 2, 3], 540, 1020)
    assert len(added_callbacks) == 1


def test_changing_a_rule_through_the_admin_refuses_an_overlap(support, resource):
    WeeklyRuleFactory(resource=resource, start_minute=9 * 60, end_minute=12 * 60)
    afternoon = WeeklyRuleFactory(resource=resource, start_minute=13 * 60, end_minute=17 * 60)
    page = support.get(_url("availabilityrule", str(afternoon.pk), "change"))
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if name in form.fields}
    data |= {"days_of_week": "1,2,3,4,5", "start_time": "11:00", "capacity": "", "location": ""}
    data |= {"valid_from": "", "valid_to": "", "resource": str(resource.pk)}

    response = support.post(_url("availabilityrule", str(afternoon.pk), "change"), data)

    assert response.status_code == 200
    assert (
        "overlap another weekly rule" in response.context["adminform"].form.errors["start_time"][0]
    )
    afternoon.refresh_from_db()
    assert afternoon.start_minute == 13 * 60


def test_adding_a_service_links_its_resources(support, resource):
    response = support.post(
        _url("service", "add"),
        {
            "name": "Massage",
            "description": "",
            "duration_minutes": "45",
            "buffer_before_minutes": "0",
            "buffer_after_minutes": "15",
            "capacity": "1",
            "price": "60.00",
            "currency": "gbp",
            "resources": [str(resource.pk)],
            "min_notice_minutes": "",
            "horizon_days": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    service = Service.objects.get()
    assert (service.currency, list(service.resources.all())) == ("GBP", [resource])
