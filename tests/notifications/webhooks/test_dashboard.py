"""The dashboard's "API & webhooks" screen: admins only, whole pages and htmx partials,
secrets shown once, forms that keep what was typed, and each endpoint's delivery log."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership
from apps.api.models import ApiKey
from apps.notifications.webhooks.delivery import webhook_delivery_send
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.notifications.webhooks.services import webhook_endpoint_ping, webhook_endpoint_update
from tests.notifications.webhooks.conftest import Place, subscribe
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/integrations/"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(acme, acme_host) -> Client:
    return member_client(
        MembershipFactory.create(tenant=acme, role=Membership.Role.ADMIN), acme_host
    )


def _endpoint_page(endpoint: WebhookEndpoint) -> str:
    return f"{PAGE}webhooks/{endpoint.pk}/"


@pytest.mark.parametrize("role", ["frontdesk", "scheduler", "manager"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", PAGE), ("post", f"{PAGE}api-keys/"), ("post", f"{PAGE}webhooks/")],
)
def test_integrations_are_for_admins_only(acme, acme_host, role, method, path):
    client = member_client(MembershipFactory.create(tenant=acme, role=role), acme_host)

    response = getattr(client, method)(path, {"role": "admin", "url": "https://x.example"})

    assert response.status_code == 403
    assert not ApiKey.objects.exists()
    assert not WebhookEndpoint.objects.exists()


def test_integrations_of_another_business_are_404(acme, globex, globex_host):
    client = member_client(MembershipFactory.create(tenant=globex, role="admin"), globex_host)
    endpoint = subscribe("https://hooks.example.com/acme").endpoint  # acme's

    with tenant_context(globex):
        detail = client.get(_endpoint_page(endpoint))
        replay = client.post(f"{PAGE}webhooks/{endpoint.pk}/disable/")
    acme_only = member_client(MembershipFactory.create(tenant=acme, role="admin"), globex_host).get(
        PAGE
    )

    assert detail.status_code == 404
    assert replay.status_code == 404
    assert acme_only.status_code == 404
    with tenant_context(acme):
        endpoint.refresh_from_db()
    assert endpoint.is_active


def test_integrations_need_a_login(acme, acme_host):
    response = Client(HTTP_HOST=acme_host).get(PAGE)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_integrations_page_whole_and_as_htmx_partial(admin_client):
    subscribe("https://hooks.example.com/crm")

    full = admin_client.get(PAGE)
    partial = admin_client.get(PAGE, **HX)

    assert full.status_code == 200
    body = full.content.decode()
    assert "<html" in body
    assert "API &amp; webhooks" in body
    assert "https://hooks.example.com/crm" in body
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert "https://hooks.example.com/crm" in partial.content.decode()


def test_navigation_lists_the_screen_for_admins_only(acme, acme_host, admin_client):
    manager = member_client(MembershipFactory.create(tenant=acme, role="manager"), acme_host)

    assert f'href="{PAGE}"' in admin_client.get("/dashboard/team/").content.decode()
    assert f'href="{PAGE}"' not in manager.get("/dashboard/notifications/").content.decode()


def test_create_api_key_shows_it_once_and_it_works(admin_client, acme_host):
    response = admin_client.post(f"{PAGE}api-keys/", {"name": "Website", "role": "frontdesk"})

    assert response.status_code == 200
    key = ApiKey.objects.get()
    (secret,) = [
        word.split('"')[0]
        for word in response.content.decode().split('value="')[1:]
        if word.startswith(key.prefix)
    ]
    assert "no-store" in response["Cache-Control"]
    assert (key.name, key.role) == ("Website", "frontdesk")
    api = Client(HTTP_HOST=acme_host, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/admin/bookings").status_code == 200
    assert secret not in admin_client.get(PAGE).content.decode()


def test_create_api_key_with_a_bad_role_keeps_the_name_and_shows_the_error(admin_client):
    response = admin_client.post(
        f"{PAGE}api-keys/", {"name": "Kiosk tablet", "role": "owner"}, **HX
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="Kiosk tablet"' in body
    assert "Select a valid choice" in body
    assert "<html" not in body
    assert not ApiKey.objects.exists()


def test_revoke_api_key_without_and_with_htmx(admin_client):
    admin_client.post(f"{PAGE}api-keys/", {"name": "One", "role": "readonly"})
    admin_client.post(f"{PAGE}api-keys/", {"name": "Two", "role": "readonly"})
    one, two = ApiKey.objects.order_by("name")

    plain = admin_client.post(f"{PAGE}api-keys/{one.pk}/revoke/")
    partial = admin_client.post(f"{PAGE}api-keys/{two.pk}/revoke/", **HX)

    assert plain.status_code == 302
    assert plain["Location"] == PAGE
    assert partial.status_code == 200
    assert "Revoked" in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0


def test_create_endpoint_shows_the_secret_once(admin_client):
    response = admin_client.post(
        f"{PAGE}webhooks/",
        {
            "url": "https://hooks.example.com/crm",
            "description": "CRM",
            "events": ["booking.confirmed", "booking.cancelled"],
        },
    )

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["booking.confirmed", "booking.cancelled"]
    body = response.content.decode()
    assert 'value="whsec_' in body
    assert endpoint.secret_hint in body
    assert "no-store" in response["Cache-Control"]
    assert 'value="whsec_' not in admin_client.get(_endpoint_page(endpoint)).content.decode()


def test_create_endpoint_with_bad_input_keeps_what_was_typed(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    response = admin_client.post(
        f"{PAGE}webhooks/",
        {
            "url": "http://10.0.0.7/hooks",
            "description": "Back office",
            "events": ["booking.held"],
        },
        **HX,
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="http://10.0.0.7/hooks"' in body
    assert 'value="Back office"' in body
    assert 'value="booking.held" id="id_events_0" checked' in body
    assert 'value="booking.confirmed" id="id_events_1" checked' not in body
    assert "Use a public address" in body
    assert not WebhookEndpoint.objects.exists()


def test_create_endpoint_needs_an_event(admin_client):
    response = admin_client.post(f"{PAGE}webhooks/", {"url": "https://hooks.example.com/a"})

    assert response.status_code == 400
    assert "Choose at least one event." in response.content.decode()
    assert "<html" in response.content.decode()


def test_edit_endpoint_prefills_keeps_errors_and_saves(admin_client):
    endpoint = subscribe("https://hooks.example.com/old", ["booking.held"]).endpoint
    edit = f"{_endpoint_page(endpoint)}edit/"

    form = admin_client.get(edit)
    bad = admin_client.post(edit, {"url": "ftp://hooks.example.com", "events": ["booking.held"]})
    good = admin_client.post(
        edit, {"url": "https://hooks.example.com/new", "events": ["booking.expired"]}
    )

    assert 'value="https://hooks.example.com/old"' in form.content.decode()
    assert bad.status_code == 400
    assert 'value="ftp://hooks.example.com"' in bad.content.decode()
    assert "https://" in bad.content.decode()
    assert good.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == ("https://hooks.example.com/new", ["booking.expired"])


def test_disable_enable_ping_and_rotate_from_the_endpoint_page(admin_client):
    hook = subscribe("https://hooks.example.com/crm")
    page = _endpoint_page(hook.endpoint)

    disabled = admin_client.post(f"{page}disable/", **HX)
    hook.endpoint.refresh_from_db()
    was_active = hook.endpoint.is_active
    enabled = admin_client.post(f"{page}enable/")
    pinged = admin_client.post(f"{page}ping/", **HX)
    rotated = admin_client.post(f"{page}rotate-secret/")

    assert disabled.status_code == 200
    assert "Disabled" in disabled.content.decode()
    assert "<html" not in disabled.content.decode()
    assert was_active is False
    assert enabled.status_code == 302
    assert pinged.status_code == 200
    assert "webhook.ping" in pinged.content.decode()
    assert WebhookDelivery.objects.filter(event__type="webhook.ping").count() == 1
    assert rotated.status_code == 200
    hook.endpoint.refresh_from_db()
    assert hook.endpoint.is_active
    assert 'value="whsec_' in rotated.content.decode()
    assert hook.secret not in rotated.content.decode()


def test_delete_endpoint(admin_client):
    endpoint = subscribe("https://hooks.example.com/crm").endpoint

    response = admin_client.post(f"{_endpoint_page(endpoint)}delete/")

    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_lists_filters_and_pages(admin_client, place: Place, settings):
    hook = subscribe("https://hooks.example.com/crm", ["booking.held", "booking.confirmed"])
    place.book()
    held = WebhookDelivery.objects.get(event__type="booking.held")
    WebhookDelivery.objects.filter(pk=held.pk).update(status="failed", attempts=14)
    page = _endpoint_page(hook.endpoint)

    full = admin_client.get(page)
    failed_only = admin_client.get(page, {"status": "failed"}, HTTP_HX_TARGET="deliveries", **HX)
    past_the_end = admin_client.get(page, {"page": "99"})

    assert full.status_code == 200
    assert "booking.held" in full.content.decode()
    assert "booking.confirmed" in full.content.decode()
    body = failed_only.content.decode()
    assert "<h1>" not in body
    assert f"delivery-{held.pk}" in body
    assert "booking.confirmed" not in body.split("<tbody>")[1]
    assert past_the_end.status_code == 200


def test_delivery_page_shows_attempts_and_payload(admin_client, place: Place, receiver):
    subscribe(receiver.url, ["booking.confirmed"])
    receiver.answer(500)
    place.book()
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    response = admin_client.get(f"{PAGE}deliveries/{delivery.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "HTTP 500" in body
    assert "receiver is down" in body
    assert str(delivery.event_id) in body
    assert "jane@example.test" in body  # the payload, decrypted for the admin


def test_replay_from_the_log_without_and_with_htmx(admin_client, place: Place):
    hook = subscribe("https://hooks.example.com/crm", ["booking.confirmed"])
    place.book()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=14)
    replay = f"{PAGE}deliveries/{delivery.pk}/replay/"

    plain = admin_client.post(replay, {"next": "https://evil.example/"})
    delivery.refresh_from_db()
    status_after_plain = delivery.status
    webhook_endpoint_update(endpoint=hook.endpoint, active=False)
    refused = admin_client.post(replay, **HX)

    assert plain.status_code == 302
    assert plain["Location"] == _endpoint_page(hook.endpoint)
    assert status_after_plain == "pending"
    assert refused.status_code == 409
    assert "enable it before replaying" in refused.content.decode()
    assert refused.content.decode().startswith(f'<tr id="delivery-{delivery.pk}">')


def test_delivery_of_another_business_is_404(acme, admin_client, globex):
    with tenant_context(globex):
        globex_endpoint = subscribe("https://hooks.example.com/globex").endpoint
        globex_delivery = webhook_endpoint_ping(endpoint=globex_endpoint)

    page = admin_client.get(f"{PAGE}deliveries/{globex_delivery.pk}/")
    replay = admin_client.post(f"{PAGE}deliveries/{globex_delivery.pk}/replay/")
    endpoint_page = admin_client.get(_endpoint_page(globex_endpoint))

    assert (page.status_code, replay.status_code, endpoint_page.status_code) == (404, 404, 404)
    with tenant_context(globex):
        globex_delivery.refresh_from_db()
    assert globex_delivery.replays == 0
