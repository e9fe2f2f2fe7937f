"""acme's credentials never open globex's data, and globex's ids are unknown on acme."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership
from apps.api.services import api_key_create
from apps.core.tenancy import use_tenant
from tests.api.calls import error_of, hold, send_json
from tests.api.factories import LocationFactory, ResourceFactory, ServiceFactory
from tests.plugins.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex_data(globex, acme):
    """A location, resource and service in globex (the test itself runs in acme)."""
    with tenant_context(globex):
        location = LocationFactory(name="Globex HQ", timezone="America/New_York")
        resource = ResourceFactory(name="Hank", location=location)
        service = ServiceFactory(name="Globex audit", resources=[resource])
    use_tenant(acme)
    return {"location": location, "resource": resource, "service": service}


def test_acme_api_key_is_401_on_globex(acme, globex, globex_data, globex_host):
    _key, secret = api_key_create(role="admin")
    on_globex = Client(HTTP_HOST=globex_host, HTTP_AUTHORIZATION=f"Bearer {secret}")

    for path in ("/api/v1/admin/locations", "/api/v1/services", "/api/v1/admin/bookings"):
        response = on_globex.get(path)
        assert response.status_code == 401, path
        assert error_of(response)["code"] == "UNAUTHENTICATED"
        assert "Globex" not in response.content.decode()


def test_acme_jwt_is_401_on_globex(acme, globex, globex_data, acme_host, globex_host):
    user = UserFactory(email="both@example.test")
    MembershipFactory(tenant=acme, user=user, role=Membership.Role.FRONTDESK)
    MembershipFactory(tenant=globex, user=user, role=Membership.Role.FRONTDESK)
    pair = send_json(
        Client(HTTP_HOST=acme_host),
        "post",
        "/api/v1/auth/token",
        {"email": "both@example.test", "password": "correct-horse-battery"},
    ).json()
    on_globex = Client(HTTP_HOST=globex_host)

    # Even a person who works for both businesses needs a token issued by globex.
    read = on_globex.get("/api/v1/admin/locations", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    refresh = send_json(on_globex, "post", "/api/v1/auth/refresh", {"refresh": pair["refresh"]})
    logout = send_json(on_globex, "post", "/api/v1/auth/logout", {"refresh": pair["refresh"]})

    assert read.status_code == 401
    assert "Globex" not in read.content.decode()
    assert refresh.status_code == 401
    assert logout.status_code == 401


def test_acme_session_opens_nothing_on_globex(acme, globex, globex_data, globex_host):
    user = UserFactory()
    MembershipFactory(tenant=acme, user=user, role=Membership.Role.ADMIN)
    client = Client(HTTP_HOST=globex_host)
    client.force_login(user)

    response = client.get("/api/v1/admin/locations")

    assert response.status_code == 401
    assert "Globex" not in response.content.decode()


def test_acme_booking_token_is_401_on_globex(acme, globex, catalogue, acme_host, globex_host):
    held = hold(Client(HTTP_HOST=acme_host), catalogue).json()
    on_globex = Client(HTTP_HOST=globex_host, HTTP_X_BOOKING_TOKEN=held["token"])

    read = on_globex.get(f"/api/v1/bookings/{held['id']}")
    confirm = on_globex.post(f"/api/v1/bookings/{held['id']}/confirm")

    assert read.status_code == 401
    assert confirm.status_code == 401
    assert "Jane" not in read.content.decode()


def test_globex_ids_are_404_on_acme(acme, globex_data, admin_client):
    location, resource, service = (
        globex_data["location"],
        globex_data["resource"],
        globex_data["service"],
    )

    responses = [
        admin_client.get(f"/api/v1/admin/locations/{location.pk}"),
        admin_client.get(f"/api/v1/admin/resources/{resource.pk}"),
        admin_client.get(f"/api/v1/admin/services/{service.pk}"),
        send_json(admin_client, "patch", f"/api/v1/admin/services/{service.pk}", {"name": "x"}),
        admin_client.delete(f"/api/v1/admin/resources/{resource.pk}"),
        admin_client.get(f"/api/v1/slots?service={service.pk}&date=2026-06-01"),
        admin_client.get(f"/api/v1/resources?location={location.pk}"),
    ]

    for response in responses:
        assert response.status_code == 404, response.request["PATH_INFO"]
        assert error_of(response)["code"] == "NOT_FOUND"
        assert "Globex" not in response.content.decode()
        assert "Hank" not in response.content.decode()


def test_globex_booking_is_404_on_acme(acme, globex, globex_host, admin_client):
    with tenant_context(globex):
        from tests.api.factories import future_start, slots_create

        location = LocationFactory(timezone="America/New_York")
        resource = ResourceFactory(location=location)
        service = ServiceFactory(resources=[resource])
        slot = slots_create(resource=resource, starts_at=future_start())[0]
    held = send_json(
        Client(HTTP_HOST=globex_host),
        "post",
        "/api/v1/bookings",
        {
            "service": str(service.pk),
            "slot": str(slot.pk),
            "customer": {"name": "Gloria", "email": "gloria@globex.test"},
        },
        HTTP_IDEMPOTENCY_KEY="g1",
    ).json()
    use_tenant(acme)

    read = admin_client.get(f"/api/v1/bookings/{held['id']}")
    admin_read = admin_client.get(f"/api/v1/admin/bookings/{held['id']}")
    cancel = admin_client.post(f"/api/v1/bookings/{held['id']}/cancel")

    assert read.status_code == admin_read.status_code == cancel.status_code == 404
    assert "Gloria" not in read.content.decode() + admin_read.content.decode()
