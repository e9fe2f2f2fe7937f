"""The endpoints Stripe delivers events to (root domain): the platform's own, and
those of the businesses' connected accounts."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.billing.webhooks import SignatureInvalid, stripe_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """The platform's own events (plans)."""
    return _receive(request, secret=settings.STRIPE_WEBHOOK_SECRET)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> JsonResponse:
    """Events on the businesses' own accounts (booking payments, account status)."""
    return _receive(request, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET)


def _receive(request: HttpRequest, *, secret: str) -> JsonResponse:
    """200 once the event is recorded (and applied, or ignored with a reason); 400 when
    the signature does not verify (nothing recorded); 500 when applying failed, so
    Stripe delivers it again (the failure is kept on the event for support)."""
    try:
        outcome = stripe_event_receive(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            secret=secret,
        )
    except SignatureInvalid:
        logger.warning("billing.stripe_signature_invalid")
        return JsonResponse(
            {"error": {"code": "SIGNATURE_INVALID", "message": "The signature does not verify."}},
            status=400,
        )
    except Exception:
        return JsonResponse(
            {"error": {"code": "NOT_PROCESSED", "message": "Recorded; will be retried."}},
            status=500,
        )
    return JsonResponse({"received": True, "outcome": outcome})
