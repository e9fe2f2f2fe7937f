"""The one way billing talks to Stripe: the secret key of the mode we run in, an
idempotency key on every write, and Stripe's failures as one domain error.

The API's base URL is `STRIPE_API_BASE` (set on the client at start-up, apps.py), so
tests and `make run` talk to the local stand-in (`apps/billing/standin`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from apps.core.errors import DomainError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class PaymentsUnavailable(DomainError):
    """Stripe could not be reached or failed; nothing was charged (every write carries an
    idempotency key, so trying again does not charge twice)."""

    code = "PAYMENTS_UNAVAILABLE"
    http_status = 503


class PaymentRefused(DomainError):
    """Stripe refused the request (bad parameters, an account that cannot take it)."""

    code = "PAYMENT_REFUSED"
    http_status = 422


def secret_key() -> str:
    if settings.STRIPE_LIVE_MODE:
        return str(settings.STRIPE_LIVE_SECRET_KEY)
    return str(settings.STRIPE_TEST_SECRET_KEY)


def stripe_call(operation: str, call: Callable[..., _T], /, **params: Any) -> _T:
    """Calls `call(**params)` with our key; Stripe's failures become PaymentsUnavailable
    (unreachable, 5xx, rate limited, our key) or PaymentRefused (the request itself)."""
    try:
        return call(api_key=secret_key(), **params)
    except stripe.InvalidRequestError as error:
        logger.warning(
            "billing.stripe_refused",
            extra={"operation": operation, "stripe_code": error.code or "", "param": error.param},
        )
        raise PaymentRefused(error.user_message or _("Stripe refused the request.")) from error
    except stripe.StripeError as error:
        logger.error(
            "billing.stripe_unavailable",
            extra={"operation": operation, "error": type(error).__name__},
        )
        raise PaymentsUnavailable(
            _("The payment service could not be reached. Nothing was charged; try again.")
        ) from error
