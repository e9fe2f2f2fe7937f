"""A Python handle on a running stand-in's control API (urllib only), so tests and
scripts do not hand-roll HTTP. Works for one started in-process or by `make run`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from . import webhooks


class StandinError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"stand-in answered {status}: {body}")
        self.status = status
        self.body = body


class StandinClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    @property
    def api_base(self) -> str:
        return self.url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own http URL
            f"{self.url}/_standin{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise StandinError(error.code, json.loads(error.read() or b"null")) from None

    # --- state ---------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self._call("GET", "")

    def reset(self, *, keep_webhooks: bool = False) -> None:
        self._call("POST", "/reset", {"keep_webhooks": keep_webhooks})

    def webhook_add(
        self,
        url: str,
        secret: str | None = None,
        *,
        connect: bool = False,
        enabled_events: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register an endpoint; returns it (with its secret, generated when not given)."""
        body = {"url": url, "secret": secret, "connect": connect, "enabled_events": enabled_events}
        return self._call("POST", "/webhooks", body)

    def webhooks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks")

    def webhooks_clear(self) -> None:
        self._call("DELETE", "/webhooks")

    def requests(self, *, path: str | None = None, method: str | None = None) -> list[dict]:
        """The API requests received (method, path, params, stripe_account,
        idempotency_key, status, replayed), oldest first; optionally filtered."""
        found = self._call("GET", "/requests")
        return [
            entry
            for entry in found
            if (path is None or entry["path"] == path)
            and (method is None or entry["method"] == method.upper())
        ]

    def requests_clear(self) -> None:
        self._call("DELETE", "/requests")

    def fail_next(self, count: int = 1, *, mode: str = "error", status: int = 500) -> None:
        """The next `count` API requests fail: `error` answers `status` with an api_error,
        `drop` closes the connection without answering."""
        self._call("POST", "/failures", {"count": count, "mode": mode, "status": status})

    def object(self, object_id: str) -> dict[str, Any]:
        """Any stored object, whichever account owns it."""
        return self._call("GET", f"/objects/{object_id}")["object"]

    # --- moving objects ---------------------------------------------------------------------

    def checkout_complete(
        self, session_id: str, *, email: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """What the Pay button does; returns {session, redirect, events, deliveries}."""
        return self._call(
            "POST", f"/checkout/sessions/{session_id}/complete", {"email": email, "name": name}
        )

    def checkout_expire(self, session_id: str) -> dict[str, Any]:
        return self._call("POST", f"/checkout/sessions/{session_id}/expire", {})

    def subscription_status(self, subscription_id: str, status: str) -> dict[str, Any]:
        """past_due (a failed renewal invoice), active (the open invoice paid), canceled."""
        return self._call("POST", f"/subscriptions/{subscription_id}/status", {"status": status})

    def account_restrict(self, account_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/accounts/{account_id}/restrict", {"reason": reason})

    def account_onboard(self, account_id: str) -> dict[str, Any]:
        return self._call("POST", f"/accounts/{account_id}/onboard", {})

    # --- events and webhooks -------------------------------------------------------------

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event emitted (all accounts), newest first."""
        events = self._call("GET", "/events")
        return [event for event in events if event_type is None or event["type"] == event_type]

    def emit(self, event_type: str, object_id: str) -> dict[str, Any]:
        """Emit `event_type` about the object as it is now (and deliver it)."""
        return self._call("POST", "/events", {"type": event_type, "object": object_id})

    def resend(self, event_id: str, endpoint_id: str | None = None) -> list[dict[str, Any]]:
        return self._call("POST", f"/events/{event_id}/resend", {"endpoint": endpoint_id})[
            "deliveries"
        ]

    def deliveries(self) -> list[dict[str, Any]]:
        return self._call("GET", "/deliveries")

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the webhooks of earlier API calls have been delivered."""
        if not self._call("POST", "/flush", {"timeout": timeout})["flushed"]:
            raise TimeoutError("webhook deliveries still pending")

    @staticmethod
    def sign(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
        """A Stripe-Signature header value for `payload`."""
        return webhooks.sign(payload, secret, timestamp)

    def signed_event(self, event: dict[str, Any] | str, secret: str) -> tuple[str, str]:
        """(payload, Stripe-Signature) for an event (or an event id), e.g. to post it
        through Django's test client."""
        if isinstance(event, str):
            event = self.object(event)
        payload = webhooks.encode(event)
        return payload, webhooks.sign(payload, secret, int(time.time()))

    @staticmethod
    def send_event(url: str, secret: str, event: dict[str, Any]) -> tuple[int | None, str]:
        """Sign any JSON event and POST it to `url` like Stripe would: (status, body)."""
        status, body, error = webhooks.post(url, webhooks.encode(event), secret)
        if error:
            raise ConnectionError(error)
        return status, body
