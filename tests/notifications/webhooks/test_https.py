"""https receivers: the certificate is verified against the URL's host name while the
connection goes to the address that was checked (no second DNS lookup)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from apps.notifications.webhooks.delivery import webhook_delivery_send
from apps.notifications.webhooks.models import WebhookAttempt
from apps.notifications.webhooks.services import webhook_endpoint_ping
from tests.notifications.webhooks.certificates import ThrowawayPki, issue
from tests.notifications.webhooks.conftest import subscribe
from tests.notifications.webhooks.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db

HOST = "hooks.example.test"


@pytest.fixture
def pki(tmp_path) -> ThrowawayPki:
    return issue(tmp_path, hosts=[HOST])


@pytest.fixture
def tls_receiver(pki: ThrowawayPki) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(tls=pki.server_context(), name=HOST).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def host_on_loopback(monkeypatch) -> list[str]:
    """HOST resolves to 127.0.0.1 (once per lookup, recorded)."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == HOST:
            lookups.append(host)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return lookups


def _ping_attempt(url: str) -> WebhookAttempt:
    endpoint = subscribe(url).endpoint
    delivery = webhook_endpoint_ping(endpoint=endpoint)
    webhook_delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    return WebhookAttempt.objects.get(delivery=delivery)


def test_https_receiver_with_a_trusted_certificate_gets_the_event(
    acme, pki, tls_receiver, host_on_loopback, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))

    attempt = _ping_attempt(tls_receiver.url)

    assert (attempt.status_code, attempt.succeeded) == (200, True)
    (request,) = tls_receiver.requests
    assert request.header("Host") == f"{HOST}:{tls_receiver.server.server_address[1]}"
    assert host_on_loopback == [HOST]  # resolved once, by the SSRF check


def test_https_receiver_with_an_untrusted_certificate_is_refused(
    acme, tls_receiver, host_on_loopback
):
    attempt = _ping_attempt(tls_receiver.url)

    assert attempt.status_code is None
    assert "certificate" in attempt.error.lower()
    assert tls_receiver.requests == []


def test_certificate_for_another_name_is_refused(acme, pki, monkeypatch):
    # given a receiver at 127.0.0.1 whose certificate (from a trusted CA) names HOST only
    server = WebhookReceiver(tls=pki.server_context(), name="127.0.0.1").start()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    try:
        attempt = _ping_attempt(server.url)
    finally:
        server.stop()

    assert attempt.status_code is None
    assert "certificate" in attempt.error.lower() or "hostname" in attempt.error.lower()
    assert server.requests == []
