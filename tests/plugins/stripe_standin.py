"""Plugin: the local Stripe stand-in (apps/billing/standin) instead of api.stripe.com.

- `stripe_standin`: a handle on one stand-in server started for the session (on a free
  port, in a thread). Each test gets it reset (no objects, events, requests, webhook
  endpoints or pending failures), with `stripe.api_base` (and `settings.STRIPE_API_BASE`)
  pointing at it for the test's duration. The handle is an
  `apps.billing.standin.StandinClient` (control API: `.requests()`, `.webhook_add()`,
  `.checkout_complete()`, `.fail_next()`, `.sign()`, `.send_event()`, …) plus `.url`,
  `.server` and `.api_key` (a test key dj-stripe's key pattern accepts).
- `stripe_webhook_receiver`: a tiny HTTP endpoint that keeps what it is sent, for
  asserting on webhook deliveries (`.url`, `.received`, `.wait_for(type)`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from django.conf import settings
from django.test import override_settings

from apps.billing.standin import StandinClient, StandinServer

# dj-stripe refuses keys shorter than 24 characters after the prefix.
STANDIN_API_KEY = "sk_test_standin0standin0standin0"


class StripeStandin(StandinClient):
    api_key = STANDIN_API_KEY

    def __init__(self, server: StandinServer) -> None:
        super().__init__(server.url)
        self.server = server


@pytest.fixture(scope="session")
def stripe_standin_server() -> Iterator[StandinServer]:
    server = StandinServer().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_standin(stripe_standin_server: StandinServer) -> Iterator[StripeStandin]:
    handle = StripeStandin(stripe_standin_server)
    handle.reset()
    previous_base = stripe.api_base
    stripe.api_base = handle.url
    try:
        if hasattr(settings, "STRIPE_API_BASE"):
            with override_settings(STRIPE_API_BASE=handle.url):
                yield handle
        else:
            yield handle
    finally:
        stripe.api_base = previous_base
        handle.flush()


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def signature(self) -> str:
        return self.headers.get("Stripe-Signature", "")


class WebhookReceiver:
    """Answers 200 (or `status`) to every POST and keeps it."""

    def __init__(self) -> None:
        self.received: list[Delivery] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.received.append(Delivery(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def types(self) -> list[str]:
        return [delivery.event["type"] for delivery in self.received]

    def wait_for(self, event_type: str, timeout: float = 5.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in self.received:
                if delivery.event["type"] == event_type:
                    return delivery
            time.sleep(0.01)
        raise AssertionError(f"no {event_type} webhook; got {self.types()}")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stripe_webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
