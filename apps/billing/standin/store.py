"""The stand-in's memory: every Stripe object by id with the account that owns it, the
events, the log of API requests, idempotent replies, webhook endpoints and deliveries.

One re-entrant lock guards all of it: the server takes it for the whole of an API
operation (so an idempotency check, the change and the stored reply are one step) and
never holds it while it talks to the network.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PLATFORM = ""  # the owner of objects created without a Stripe-Account header
_ALPHABET = string.ascii_letters + string.digits

# Lists embedded in an object, stored as ids and rendered as full objects.
EMBEDDED_LISTS = {"subscription": "items", "invoice": "lines", "charge": "refunds"}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


@dataclass
class Endpoint:
    id: str
    url: str
    secret: str
    connect: bool = False
    enabled_events: list[str] = field(default_factory=lambda: ["*"])

    def wants(self, event: dict[str, Any]) -> bool:
        if bool(event.get("account")) != self.connect:
            return False
        return "*" in self.enabled_events or event["type"] in self.enabled_events

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "secret": self.secret,
            "connect": self.connect,
            "enabled_events": list(self.enabled_events),
        }


@dataclass
class FailurePlan:
    """The next `count` API requests fail: `error` answers 500 api_error, `drop` closes
    the connection without an answer."""

    count: int = 0
    mode: str = "error"
    status: int = 500


@dataclass
class IdempotentReply:
    method: str
    path: str
    fingerprint: str
    status: int
    body: bytes


class Store:
    def __init__(self, platform_account_id: str = "acct_1Standin0Platform") -> None:
        self.lock = threading.RLock()
        self.platform_account_id = platform_account_id
        self.endpoints: list[Endpoint] = []
        self.reset()

    def reset(self, *, keep_webhooks: bool = False) -> None:
        with self.lock:
            self.objects: dict[str, dict[str, Any]] = {}
            self.owners: dict[str, str] = {}
            self.events: list[str] = []
            self.requests: list[dict[str, Any]] = []
            self.replies: dict[tuple[str, str], IdempotentReply] = {}
            self.deliveries: list[dict[str, Any]] = []
            self.failures = FailurePlan()
            self.checkout_line_items: dict[str, list[dict[str, Any]]] = {}
            self.account_links: dict[str, dict[str, Any]] = {}
            # What a real Stripe keeps but never shows (e.g. a session's
            # payment_intent_data), by object id.
            self.private: dict[str, dict[str, Any]] = {}
            self.journal: list[str] | None = None
            if not keep_webhooks:
                self.endpoints = []

    # --- objects ------------------------------------------------------------------

    def put(self, obj: dict[str, Any], owner: str) -> dict[str, Any]:
        with self.lock:
            if self.journal is not None and obj["id"] not in self.objects:
                self.journal.append(obj["id"])
            self.objects[obj["id"]] = obj
            self.owners[obj["id"]] = owner
            if obj.get("object") == "event":
                self.events.append(obj["id"])
            return obj

    def begin(self) -> None:
        """Start noting the objects created, so that a failed operation can drop them."""
        self.journal = []

    def commit(self) -> None:
        self.journal = None

    def rollback(self) -> None:
        """Forget the objects (and events) created since begin(): an operation that
        ends in an error leaves nothing half made."""
        created = set(self.journal or [])
        for object_id in created:
            self.objects.pop(object_id, None)
            self.owners.pop(object_id, None)
        self.events = [event_id for event_id in self.events if event_id not in created]
        self.journal = None

    def find(self, object_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """The stored object, if it exists and (when `owner` is given) belongs to it."""
        with self.lock:
            obj = self.objects.get(object_id)
            if obj is None or (owner is not None and self.owners[object_id] != owner):
                return None
            return obj

    def owner_of(self, object_id: str) -> str:
        with self.lock:
            return self.owners.get(object_id, PLATFORM)

    def all_of(self, kind: str, owner: str | None) -> list[dict[str, Any]]:
        """Objects of one kind, newest first (Stripe's list order)."""
        with self.lock:
            found = [
                obj
                for object_id, obj in self.objects.items()
                if obj.get("object") == kind and (owner is None or self.owners[object_id] == owner)
            ]
        found.reverse()
        return found

    # --- rendering --------------------------------------------------------------

    def render(self, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
        """A deep copy ready for the wire: embedded lists filled in, `expand` applied."""
        with self.lock:
            out = self._render(obj)
            for path in expand or []:
                self.expand(out, path.split("."))
            return out

    def _render(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        list_key = EMBEDDED_LISTS.get(str(obj.get("object")))
        if list_key and isinstance(out.get(list_key), dict):
            entries = out[list_key]
            entries["data"] = [
                self._render(self.objects[entry]) if isinstance(entry, str) else entry
                for entry in entries["data"]
                if not isinstance(entry, str) or entry in self.objects
            ]
            entries["total_count"] = len(entries["data"])
        return out

    def expand(self, node: Any, path: list[str]) -> None:
        """Replace the id at `path` (dotted, `data` for list entries) by the object."""
        if not path or not isinstance(node, dict):
            return
        key, rest = path[0], path[1:]
        if key == "line_items" and node.get("object") == "checkout.session":
            node["line_items"] = self.line_items_list(node["id"])
            return
        value = node.get(key)
        if isinstance(value, str) and value in self.objects:
            value = self._render(self.objects[value])
            node[key] = value
        if key == "data" and isinstance(value, list):
            for entry in value:
                self.expand(entry, rest)
        elif isinstance(value, dict):
            self.expand(value, rest)

    def line_items_list(self, session_id: str) -> dict[str, Any]:
        data = copy.deepcopy(self.checkout_line_items.get(session_id, []))
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    # --- log ------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def take_failure(self) -> FailurePlan | None:
        with self.lock:
            if self.failures.count <= 0:
                return None
            self.failures.count -= 1
            return FailurePlan(1, self.failures.mode, self.failures.status)
