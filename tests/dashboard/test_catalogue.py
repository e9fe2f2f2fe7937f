"""Services & resources on the dashboard: locations, resources and services are added
and changed through their services, whose field errors come back beside what was
typed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Membership
from apps.resources.models import Location, Resource, Service
from tests.dashboard.factories import ServiceFactory
from tests.plugins.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _service_form(clinic, **overrides: object) -> dict[str, object]:
    return {
        "name": "Physio assessment",
        "description": "",
        "duration_minutes": "45",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "10",
        "capacity": "1",
        "price": "60.00",
        "currency": "gbp",
        "resources": [str(clinic.smith.pk)],
        "min_notice_minutes": "",
        "horizon_days": "",
        "is_active": "on",
        **overrides,
    }


def test_catalogue_lists_services_resources_and_locations(admin_client_acme, clinic):
    ServiceFactory.create(name="Retired service", is_active=False)

    body = admin_client_acme.get(reverse("dashboard:catalogue")).content.decode()

    assert "Check-up" in body and "Dr Jones, Dr Smith" in body
    assert "Retired service" in body and "Not offered" in body
    assert "Harley Street" in body and "Europe/London" in body
    assert reverse("dashboard:service_edit", kwargs={"service_id": clinic.service.pk}) in body


def test_adding_a_service_saves_it_with_who_delivers_it(admin_client_acme, clinic):
    response = admin_client_acme.post(reverse("dashboard:service_create"), _service_form(clinic))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:catalogue")
    service = Service.objects.get(name="Physio assessment")
    assert (service.duration_minutes, service.buffer_after_minutes) == (45, 10)
    assert (str(service.price), service.currency) == ("60.00", "GBP")
    assert list(service.resources.all()) == [clinic.smith]
    assert service.min_notice_minutes is None and service.horizon_days is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "  "}, "name", "This field is required."),
        ({"duration_minutes": "forty"}, "duration_minutes", "Enter a whole number."),
        ({"duration_minutes": "0"}, "duration_minutes", "Enter at least 1 minutes."),
        ({"currency": "XYZ"}, "currency", "is not an ISO 4217 currency code"),
        ({"price": "-5"}, "price", "The price cannot be negative"),
        ({"price": "12.345"}, "price", "Use at most 2 decimals."),
        ({"price": "free"}, "price", "Enter an amount such as 45.00."),
        ({"capacity": "100000"}, "capacity", "Enter at most 1000 places."),
        ({"horizon_days": "-1"}, "horizon_days", "Enter at least 1 days."),
        ({"resources": ["not-an-id"]}, "resources", "Select a valid choice."),
    ],
)
def test_an_invalid_service_comes_back_with_the_error_and_the_typed_values(
    admin_client_acme, clinic, overrides, field, message
):
    data = _service_form(clinic, **overrides)

    response = admin_client_acme.post(reverse("dashboard:service_create"), data)

    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert f'name="duration_minutes" value="{data["duration_minutes"]}"' in body
    assert f'name="price" value="{data["price"]}"' in body
    assert not Service.objects.filter(name="Physio assessment").exists()


def test_a_service_that_requires_payment_needs_a_price(admin_client_acme, clinic):
    response = admin_client_acme.post(
        reverse("dashboard:service_create"),
        _service_form(clinic, price="0", requires_payment="on"),
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "<html" not in body
    assert "A service that requires payment needs a price above 0." in body


def test_editing_a_service_can_stop_offering_it(admin_client_acme, clinic):
    url = reverse("dashboard:service_edit", kwargs={"service_id": clinic.service.pk})
    form = admin_client_acme.get(url).content.decode()

    response = admin_client_acme.post(
        url, _service_form(clinic, name="Check-up", duration_minutes="30", is_active="")
    )

    assert 'name="name" value="Check-up"' in form
    assert response.status_code == 302
    clinic.service.refresh_from_db()
    assert clinic.service.is_active is False
    assert list(clinic.service.resources.all()) == [clinic.smith]


def test_adding_a_location_and_a_resource_linked_to_a_team_member(admin_client_acme, acme, clinic):
    member = MembershipFactory.create(tenant=acme, role=Membership.Role.SCHEDULER).user

    location = admin_client_acme.post(
        reverse("dashboard:location_create"),
        {"name": "Soho", "address": "1 Dean St", "timezone": "Europe/London"},
    )
    soho = Location.objects.get(name="Soho")
    resource = admin_client_acme.post(
        reverse("dashboard:resource_create"),
        {
            "name": "Treatment room",
            "kind": "asset",
            "location": str(soho.pk),
            "tags": "laser, quiet , laser",
            "user": str(member.pk),
            "is_active": "on",
        },
    )

    assert location.status_code == resource.status_code == 302
    room = Resource.objects.get(name="Treatment room")
    assert (room.kind, room.location, room.tags) == ("asset", soho, ["laser", "quiet"])
    assert room.user_id == member.pk


def test_a_resource_can_only_belong_to_someone_on_the_team(admin_client_acme, clinic):
    stranger = UserFactory.create()

    response = admin_client_acme.post(
        reverse("dashboard:resource_create"),
        {
            "name": "Room 2",
            "kind": "asset",
            "location": str(clinic.location.pk),
            "user": str(stranger.pk),
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert 'name="name" value="Room 2"' in response.content.decode()


def test_a_resource_is_made_unbookable_by_unticking_it(admin_client_acme, clinic):
    url = reverse("dashboard:resource_edit", kwargs={"resource_id": clinic.jones.pk})

    response = admin_client_acme.post(
        url,
        {"name": "Dr Jones", "kind": "person", "location": str(clinic.location.pk), "tags": ""},
    )

    assert response.status_code == 302
    clinic.jones.refresh_from_db()
    assert clinic.jones.is_active is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "   ", "timezone": "Europe/London"}, "This field is required."),
        ({"name": "Moon base", "timezone": "Moon/Base"}, "Select a valid choice."),
        ({"name": "x" * 200, "timezone": "UTC"}, "Keep it under 121 characters."),
    ],
)
def test_an_invalid_location_comes_back_with_the_error(admin_client_acme, acme, data, message):
    response = admin_client_acme.post(reverse("dashboard:location_create"), data)

    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert f'name="name" value="{data["name"]}"' in body


def test_an_htmx_save_navigates_back_to_the_catalogue(admin_client_acme, clinic):
    response = admin_client_acme.post(
        reverse("dashboard:location_edit", kwargs={"location_id": clinic.location.pk}),
        {"name": "Harley St", "address": "", "timezone": "Europe/Paris"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("dashboard:catalogue")
    clinic.location.refresh_from_db()
    assert (clinic.location.name, clinic.location.timezone) == ("Harley St", "Europe/Paris")
