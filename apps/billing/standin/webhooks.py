"""Webhook signing and delivery, the way Stripe does it: the event as JSON in a POST with
`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>" keyed by the endpoint
secret>` (what stripe.Webhook.construct_event checks).

Platform events go to the endpoints registered without `connect`, events of connected
accounts (those with an `account` field) to the `connect` endpoints. Deliveries of events
caused by an API call run on one background thread, in order, after the API answer has
been sent; the hosted pages and the control API deliver before they answer (so the app
has its webhook before the browser lands on success_url). Every attempt is recorded;
a failed one is not retried by itself: the control API resends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .store import Endpoint, Store, new_id

TIMEOUT_SECONDS = 10
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`."""
    body = payload.decode() if isinstance(payload, bytes) else payload
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def encode(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2)


def post(url: str, payload: str, secret: str) -> tuple[int | None, str, str | None]:
    """POST a signed payload; (HTTP status or None, body snippet, error)."""
    request = urllib.request.Request(  # noqa: S310 - the endpoints are http(s) URLs we were given
        url,
        data=payload.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, secret),
            "User-Agent": USER_AGENT,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read(2000).decode(errors="replace"), None
    except urllib.error.HTTPError as error:
        return error.code, error.read(2000).decode(errors="replace"), None
    except (OSError, ValueError) as error:
        return None, "", f"{type(error).__name__}: {error}"


class Deliverer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="stripe-standin-webhooks")
        self._worker.daemon = True
        self._worker.start()

    def enqueue(self, events: list[dict[str, Any]]) -> None:
        if events:
            self._queue.put(list(events))

    def deliver_all(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [record for event in events for record in self.deliver(event)]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the background queue is empty; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def deliver(self, event: dict[str, Any], endpoint_id: str | None = None) -> list[dict]:
        with self.store.lock:
            endpoints = [
                endpoint
                for endpoint in self.store.endpoints
                if (endpoint.id == endpoint_id if endpoint_id else endpoint.wants(event))
            ]
        return [self._attempt(event, endpoint) for endpoint in endpoints]

    def _attempt(self, event: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
        payload = encode(event)
        status, body, error = post(endpoint.url, payload, endpoint.secret)
        record = {
            "id": new_id("wd_"),
            "event": event["id"],
            "type": event["type"],
            "endpoint": endpoint.id,
            "url": endpoint.url,
            "status": status,
            "ok": status is not None and 200 <= status < 300,
            "error": error,
            "response": body,
            "attempted_at": time.time(),
        }
        with self.store.lock:
            self.store.deliveries.append(record)
        return record

    def _run(self) -> None:
        while True:
            events = self._queue.get()
            try:
                self.deliver_all(events)
            finally:
                self._queue.task_done()
