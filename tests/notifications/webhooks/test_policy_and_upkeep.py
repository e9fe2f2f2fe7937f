"""The SSRF guard at send time (what a host name resolves to), retention, the disabled
notice's own checks, and the tenant admin pages support uses."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.notifications.webhooks.delivery import webhook_delivery_send
from apps.notifications.webhooks.errors import WebhookAddressRefused
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from apps.notifications.webhooks.notices import webhook_endpoint_disabled_notify
from apps.notifications.webhooks.services import (
    webhook_endpoint_ping,
    webhook_endpoint_update,
    webhook_events_purge,
)
from apps.notifications.webhooks.url_policy import webhook_target, webhook_target_resolve
from tests.notifications.webhooks.conftest import Place, subscribe
from tests.plugins.factories import verified_staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_rules(settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_ALLOW_PLAIN_HTTP = False


def _resolving_to(monkeypatch, *addresses: str) -> None:
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    "addresses",
    [
        ("10.0.0.5",),
        ("127.0.0.1",),
        ("169.254.169.254",),
        ("100.64.0.1",),
        ("::1",),
        ("::ffff:192.168.1.1",),
        ("93.184.216.34", "192.168.1.10"),
    ],
)
def test_a_public_name_resolving_to_a_private_address_is_refused(
    production_rules, monkeypatch, addresses
):
    _resolving_to(monkeypatch, *addresses)
    target = webhook_target("https://hooks.example.com/in")

    with pytest.raises(WebhookAddressRefused):
        webhook_target_resolve(target)


def test_a_public_name_resolving_to_public_addresses_is_allowed(production_rules, monkeypatch):
    _resolving_to(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")

    address = webhook_target_resolve(webhook_target("https://hooks.example.com/in"))

    assert address == "93.184.216.34"


def test_delivery_to_a_name_resolving_privately_is_never_attempted(
    acme, production_rules, monkeypatch
):
    # given an endpoint whose public name now resolves to the metadata service
    endpoint = subscribe("https://hooks.example.com/in", ["booking.held"]).endpoint
    _resolving_to(monkeypatch, "169.254.169.254")
    delivery = webhook_endpoint_ping(endpoint=endpoint)

    webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_status_code is None
    assert "169.254.169.254" in delivery.last_error


def test_purge_deletes_old_events_but_keeps_recent_and_queued_ones(acme, settings):
    settings.WEBHOOK_RETENTION_DAYS = 30
    endpoint = subscribe("https://hooks.example.com/a").endpoint
    old_done = webhook_endpoint_ping(endpoint=endpoint)
    old_queued = webhook_endpoint_ping(endpoint=endpoint)
    recent = webhook_endpoint_ping(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=old_done.pk).update(status="failed")
    long_ago = timezone.now() - timedelta(days=31)
    WebhookEvent.objects.filter(pk__in=[old_done.event_id, old_queued.event_id]).update(
        created_at=long_ago
    )

    purged = webhook_events_purge()

    assert purged == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
        old_queued.pk,
        recent.pk,
    }


def test_disabled_notice_is_not_sent_once_the_endpoint_is_enabled_again(
    acme, mailoutbox, place: Place
):
    endpoint = subscribe("https://hooks.example.com/a").endpoint
    webhook_endpoint_update(endpoint=endpoint, active=False)
    webhook_endpoint_update(endpoint=endpoint, active=True)

    sent = webhook_endpoint_disabled_notify(endpoint_id=str(endpoint.pk), tenant=acme)

    assert sent == 0
    assert mailoutbox == []


@pytest.fixture
def support(acme, acme_host) -> Client:
    return verified_staff_client(acme_host)


def test_tenant_admin_lists_endpoints_and_deliveries_without_secrets(support):
    hook = subscribe("https://hooks.example.com/crm")
    delivery = webhook_endpoint_ping(endpoint=hook.endpoint)

    endpoints = support.get("/admin/notifications/webhookendpoint/")
    endpoint_page = support.get(f"/admin/notifications/webhookendpoint/{hook.endpoint.pk}/change/")
    deliveries = support.get("/admin/notifications/webhookdelivery/")
    delivery_page = support.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/")

    assert [r.status_code for r in (endpoints, endpoint_page, deliveries, delivery_page)] == [
        200
    ] * 4
    assert "https://hooks.example.com/crm" in endpoints.content.decode()
    assert "webhook.ping" in deliveries.content.decode()
    for response in (endpoints, endpoint_page, deliveries, delivery_page):
        assert hook.secret not in response.content.decode()
        assert hook.endpoint.secret_encrypted not in response.content.decode()


def test_tenant_admin_replay_action_queues_the_deliveries(support):
    hook = subscribe("https://hooks.example.com/crm")
    delivery = webhook_endpoint_ping(endpoint=hook.endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=1)

    response = support.post(
        "/admin/notifications/webhookdelivery/",
        {"action": "replay_selected", "_selected_action": [str(delivery.pk)]},
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.replays) == ("pending", 1)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("HTTPS://Hooks.Example.COM/In?x=1#frag", "https://hooks.example.com/In?x=1"),
        ("https://bücher.example/café?q=ü", "https://xn--bcher-kva.example/caf%C3%A9?q=%C3%BC"),
        ("https://hooks.example.com", "https://hooks.example.com/"),
        ("https://hooks.example.com:8443/a%20b", "https://hooks.example.com:8443/a%20b"),
    ],
)
def test_urls_are_stored_canonical_and_ascii(production_rules, typed, stored):
    assert webhook_target(typed).url == stored


def test_a_secret_encrypted_under_an_old_key_fails_the_delivery_without_sending(acme, receiver):
    endpoint = subscribe(receiver.url).endpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted="gAAAAAnot-a-token")
    delivery = webhook_endpoint_ping(endpoint=endpoint)

    outcome = webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert outcome.value == "failed"
    assert (delivery.status, delivery.status_reason) == ("failed", "unreadable")
    assert receiver.requests == []
