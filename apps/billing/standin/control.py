"""The control API for tests and development, under `/_standin/` (JSON in, JSON out):
webhook endpoints, reset, the request log, failure injection, and moving objects the way
Stripe (or a customer in a browser) would. Changes that emit events deliver them before
answering and report the deliveries."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from . import checkout, connect, subscriptions
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid, missing, required
from .store import Endpoint, new_id
from .webhooks import Deliverer

F = TypeVar("F", bound=Callable[..., "Result"])


def locked(method: F) -> F:
    """Run a control operation under the store's lock (never one that waits for
    deliveries: the delivery thread needs the lock to record them)."""

    @functools.wraps(method)
    def wrapper(self: Control, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            return method(self, body, *ids)

    return cast(F, wrapper)


@dataclass
class Result:
    body: Any
    events: list[Obj] = field(default_factory=list)
    status: int = 200


@dataclass
class Control:
    engine: Engine
    deliverer: Deliverer
    base_url: str

    def ctx_for(self, object_id: str) -> Ctx:
        return Ctx(account=self.engine.store.owner_of(object_id), base_url=self.base_url)

    def obj(self, object_id: str, kind: str) -> Obj:
        obj = self.engine.store.find(object_id)
        if obj is None or obj.get("object") != kind:
            raise missing(kind, object_id)
        return obj

    # --- state -------------------------------------------------------------------

    def info(self, body: dict, *ids: str) -> Result:
        store = self.engine.store
        with store.lock:
            return Result(
                {
                    "api_base": self.base_url,
                    "platform_account": store.platform_account_id,
                    "webhooks": [endpoint.public() for endpoint in store.endpoints],
                    "objects": len(store.objects),
                    "events": len(store.events),
                    "requests": len(store.requests),
                }
            )

    def reset(self, body: dict, *ids: str) -> Result:
        self.deliverer.flush()
        self.engine.reset(keep_webhooks=bool(body.get("keep_webhooks")))
        return Result({"reset": True})

    def webhooks(self, body: dict, *ids: str) -> Result:
        return Result([endpoint.public() for endpoint in self.engine.store.endpoints])

    def webhook_add(self, body: dict, *ids: str) -> Result:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid("url", "A webhook endpoint needs an http(s) url.")
        endpoint = Endpoint(
            id=new_id("we_"),
            url=url,
            secret=body.get("secret") or "whsec_" + secrets.token_hex(16),
            connect=bool(body.get("connect")),
            enabled_events=list(body.get("enabled_events") or ["*"]),
        )
        with self.engine.store.lock:
            self.engine.store.endpoints.append(endpoint)
        return Result(endpoint.public(), status=201)

    def webhooks_clear(self, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            kept = [e for e in self.engine.store.endpoints if ids and e.id != ids[0]]
            self.engine.store.endpoints = kept
        return Result({"webhooks": [endpoint.public() for endpoint in kept]})

    def requests(self, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            return Result(list(self.engine.store.requests))

    def requests_clear(self, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            self.engine.store.requests.clear()
        return Result({"requests": []})

    def failures(self, body: dict, *ids: str) -> Result:
        mode = body.get("mode", "error")
        if mode not in ("error", "drop"):
            raise invalid("mode", "mode is `error` (500 api_error) or `drop` (no answer)")
        plan = self.engine.store.failures
        with self.engine.store.lock:
            plan.count = int(body.get("count", 1))
            plan.mode = mode
            plan.status = int(body.get("status", 500))
        return Result({"count": plan.count, "mode": plan.mode, "status": plan.status})

    def failures_clear(self, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            self.engine.store.failures.count = 0
        return Result({"count": 0})

    @locked
    def object_get(self, body: dict, object_id: str) -> Result:
        obj = self.engine.store.find(object_id)
        if obj is None:
            raise missing("object", object_id)
        return Result(
            {
                "owner": self.engine.store.owner_of(object_id) or None,
                "object": self.engine.view(obj),
            }
        )

    # --- moving objects -------------------------------------------------------------

    @locked
    def checkout_complete(self, body: dict, session_id: str) -> Result:
        self.obj(session_id, "checkout.session")
        ctx = self.ctx_for(session_id)
        session = checkout.session_complete(
            self.engine, ctx, session_id, email=body.get("email"), name=body.get("name")
        )
        redirect = checkout.success_redirect(session)
        result = {"session": self.engine.view(session), "redirect": redirect}
        return Result(result, ctx.emitted)

    @locked
    def checkout_expire(self, body: dict, session_id: str) -> Result:
        self.obj(session_id, "checkout.session")
        ctx = self.ctx_for(session_id)
        session = checkout.session_expire(self.engine, ctx, {}, session_id)
        return Result({"session": session}, ctx.emitted)

    @locked
    def subscription_status(self, body: dict, subscription_id: str) -> Result:
        subscription = self.obj(subscription_id, "subscription")
        status = body.get("status")
        if not status:
            raise required("status")
        ctx = self.ctx_for(subscription_id)
        subscriptions.set_status(self.engine, ctx, subscription, str(status))
        return Result({"subscription": self.engine.view(subscription)}, ctx.emitted)

    @locked
    def account_restrict(self, body: dict, account_id: str) -> Result:
        account = connect.connected(self.engine, account_id, "id")
        ctx = self.ctx_for(account_id)
        connect.restrict(self.engine, ctx, account, body.get("reason"))
        return Result({"account": self.engine.view(account)}, ctx.emitted)

    @locked
    def account_onboard(self, body: dict, account_id: str) -> Result:
        account = connect.connected(self.engine, account_id, "id")
        ctx = self.ctx_for(account_id)
        connect.onboard(self.engine, ctx, account)
        return Result({"account": self.engine.view(account)}, ctx.emitted)

    # --- events -------------------------------------------------------------------------

    @locked
    def events(self, body: dict, *ids: str) -> Result:
        found = self.engine.store.all_of("event", None)
        kind = body.get("type")
        if kind:
            found = [event for event in found if event["type"] == kind]
        return Result([self.engine.view(event) for event in found])

    @locked
    def event_emit(self, body: dict, *ids: str) -> Result:
        kind, object_id = body.get("type"), body.get("object")
        if not kind or not object_id:
            raise StripeError("Give `type` (an event type) and `object` (an object id).")
        obj = self.engine.store.find(str(object_id))
        if obj is None:
            raise missing("object", str(object_id), "object")
        ctx = self.ctx_for(str(object_id))
        event = self.engine.emit(ctx, str(kind), obj)
        return Result({"event": event}, ctx.emitted)

    def event_resend(self, body: dict, event_id: str) -> Result:
        event = self.obj(event_id, "event")
        records = self.deliverer.deliver(self.engine.view(event), body.get("endpoint"))
        return Result({"event": event_id, "deliveries": records})

    def deliveries(self, body: dict, *ids: str) -> Result:
        with self.engine.store.lock:
            return Result(list(self.engine.store.deliveries))

    def flush(self, body: dict, *ids: str) -> Result:
        return Result({"flushed": self.deliverer.flush(float(body.get("timeout", 10)))})


_TABLE: list[tuple[str, str, Callable[..., Result]]] = [
    ("GET", "", Control.info),
    ("POST", "/reset", Control.reset),
    ("GET", "/webhooks", Control.webhooks),
    ("POST", "/webhooks", Control.webhook_add),
    ("DELETE", "/webhooks", Control.webhooks_clear),
    ("DELETE", "/webhooks/([^/]+)", Control.webhooks_clear),
    ("GET", "/requests", Control.requests),
    ("DELETE", "/requests", Control.requests_clear),
    ("POST", "/failures", Control.failures),
    ("DELETE", "/failures", Control.failures_clear),
    ("GET", "/objects/([^/]+)", Control.object_get),
    ("POST", "/checkout/sessions/([^/]+)/complete", Control.checkout_complete),
    ("POST", "/checkout/sessions/([^/]+)/expire", Control.checkout_expire),
    ("POST", "/subscriptions/([^/]+)/status", Control.subscription_status),
    ("POST", "/accounts/([^/]+)/restrict", Control.account_restrict),
    ("POST", "/accounts/([^/]+)/onboard", Control.account_onboard),
    ("GET", "/events", Control.events),
    ("POST", "/events", Control.event_emit),
    ("POST", "/events/([^/]+)/resend", Control.event_resend),
    ("GET", "/deliveries", Control.deliveries),
    ("POST", "/flush", Control.flush),
]
ROUTES = [(m, re.compile(f"/_standin{p}/?"), action) for m, p, action in _TABLE]


def dispatch(control: Control, method: str, path: str, body: dict[str, Any]) -> Result:
    for verb, pattern, action in ROUTES:
        match = pattern.fullmatch(path)
        if match is not None and verb == method:
            return action(control, body, *match.groups())
    raise StripeError(f"No control operation {method} {path}", status=404)
