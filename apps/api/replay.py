"""Idempotency-Key on mutating endpoints, over the booking core's `idempotent_call`.

The success body is rendered to JSON once, stored with its status, and sent as those
exact bytes both the first time and on every replay (which carries
`Idempotent-Replayed: true`). The key is scoped to the caller (API key, staff member,
or customer) and to the request: the same key with another method, path or body is a
422 IDEMPOTENCY_KEY_REUSED. Errors raised by the operation are not stored: the key
stays free for a corrected retry.

An anonymous caller (holding a booking without a key or a token) is its client address
as the rate limiter finds it (`core.rate_limits.client_ident`: REMOTE_ADDR, or the
trusted proxies' X-Forwarded-For entry, never one the client picks), so two clients
that happen to send the same key never get each other's answer. The address is kept
only as a keyed hash (`pii.lookup_hash`). Stored answers are encrypted by the booking
core (apps/bookings/idempotency.py) and replayed whole, secrets included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from apps.api.errors import IdempotencyKeyRequired
from apps.bookings.actors import ActorRef
from apps.bookings.audit import audit_actor
from apps.bookings.idempotency import IdempotentResponse, idempotent_call
from apps.bookings.models import Actor
from apps.bookings.pii import lookup_hash
from apps.core.rate_limits import client_ident

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

# The operation's answer: (HTTP status, data to render as JSON; None = no body).
Outcome = tuple[int, Any]


def idempotency_parameter(*, required: bool) -> OpenApiParameter:
    return OpenApiParameter(
        IDEMPOTENCY_HEADER,
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        required=required,
        description=(
            "A unique value per intended change (e.g. a UUID), at most 255 printable "
            "characters. Repeating it with the same request within 24 h returns the "
            "first answer byte for byte (header Idempotent-Replayed: true); with another "
            "request it is refused with 422 IDEMPOTENCY_KEY_REUSED."
        ),
    )


def _render(outcome: Outcome) -> IdempotentResponse:
    status, data = outcome
    body = "" if data is None else JSONRenderer().render(data).decode()
    return IdempotentResponse(status_code=status, body=body)


def _as_http(result: IdempotentResponse) -> HttpResponse:
    response = HttpResponse(
        result.body.encode(),
        status=result.status_code,
        content_type="application/json" if result.body else None,
    )
    if result.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def idempotency_scope(request: Request, actor: ActorRef) -> ActorRef:
    """Whose keys these are: the actor, or for an anonymous customer their client."""
    if actor.type != Actor.CUSTOMER or actor.id:
        return actor
    client = lookup_hash(client_ident(request._request))
    return ActorRef.customer(f"client:{client}", label=actor.label)


def idempotent_response(
    request: Request,
    *,
    actor: ActorRef,
    perform: Callable[[], Outcome],
    required: bool = False,
) -> HttpResponse:
    """Runs `perform` once per Idempotency-Key (when one is sent) and answers its outcome.
    Model history of the change is attributed to `actor`."""
    key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()

    def run() -> IdempotentResponse:
        with audit_actor(actor):
            return _render(perform())

    if not key:
        if required:
            raise IdempotencyKeyRequired()
        return _as_http(run())
    payload = {"method": request.method, "path": request.path, "body": request.data}
    scope = idempotency_scope(request, actor)
    return _as_http(idempotent_call(key=key, actor=scope, payload=payload, perform=run))
