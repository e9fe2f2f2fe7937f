"""Calls of the API as tests make them: JSON bodies, the error envelope checked on the way,
clients with a key of a role, a hold, and the rate table to set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings as django_settings
from django.test import Client

from apps.api.services import api_key_create
from apps.calendars.models import SlotInstance
from apps.resources.models import Location, Resource, Service

RATE_SCOPES = ("anon_read", "anon_booking", "api_key", "user", "auth")


def rates(**overrides: str) -> dict[str, Any]:
    """REST_FRAMEWORK with every rate generous except the ones given."""
    return {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **dict.fromkeys(RATE_SCOPES, "100000/min"),
            **overrides,
        },
    }


def send_json(client: Client, method: str, path: str, data: Any = None, **headers: str):
    body = "" if data is None else json.dumps(data)
    return getattr(client, method)(path, data=body, content_type="application/json", **headers)


def error_of(response) -> dict[str, Any]:
    """The envelope's `error`, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}, error
    assert error["request_id"] == response["X-Request-Id"]
    for detail in error["details"]:
        assert set(detail) == {"field", "message"}
    return error


def key_client(host: str, role: str = "admin") -> Client:
    """A client of the tenant the connection is on, with a new API key of `role`."""
    _key, secret = api_key_create(role=role, name=f"test {role}")
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {secret}")


@dataclass
class Catalogue:
    location: Location
    resource: Resource
    service: Service
    slots: list[SlotInstance]

    @property
    def start(self) -> datetime:
        return self.slots[0].starts_at


def hold_payload(
    catalogue: Catalogue, *, slot: SlotInstance | None = None, email: str = ""
) -> dict:
    return {
        "service": str(catalogue.service.pk),
        "slot": str((slot or catalogue.slots[0]).pk),
        "customer": {
            "name": "Jane Doe",
            "email": email or "jane@example.test",
            "phone": "+447911123456",
        },
        "notes": "First visit",
    }


def hold(client: Client, catalogue: Catalogue, *, key: str = "hold-1", **kwargs: Any):
    return send_json(
        client,
        "post",
        "/api/v1/bookings",
        hold_payload(catalogue, **kwargs),
        HTTP_IDEMPOTENCY_KEY=key,
    )
