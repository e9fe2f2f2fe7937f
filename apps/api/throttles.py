"""The API's throttle over the shared rate limits (apps/core/rate_limits.py).

Buckets: one per API key (`api_key`, at the rate of the business's plan), one per staff
member (`user`), and for anonymous callers one per client IP for reads (`anon_read`) and
one for booking writes (`anon_booking`; a view may name another scope, e.g. `auth` for
the token endpoint). Anonymous writes (bookings, password guesses) stay limited when
Redis is out of reach, by the in-process fallback; everything else is let through then.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.api.permissions import principal_of
from apps.core.entitlements import plan_api_rate
from apps.core.rate_limits import client_ident, configured_rate, rate_limit_wait, stricter_rate

logger = logging.getLogger(__name__)


class ApiRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def bucket(self, request: Request, view: Any) -> tuple[str, str]:
        principal = principal_of(request)
        if principal is not None:
            return principal.throttle_scope, principal.throttle_ident
        ident = client_ident(request._request)
        if request.method in SAFE_METHODS:
            return "anon_read", ident
        return getattr(view, "anonymous_write_scope", "anon_booking"), ident

    def allow_request(self, request: Request, view: Any) -> bool:
        scope, ident = self.bucket(request, view)
        rate = None
        if scope == "api_key":
            # The business's plan sets its keys' rate; the configured one is a ceiling.
            plan_rate = plan_api_rate() if settings.API_RATE_PLAN_LIMITS else None
            rate = stricter_rate(configured_rate(scope), plan_rate)
        fail_closed = principal_of(request) is None and request.method not in SAFE_METHODS
        # A fast read counted this request already before handing it over (fast_reads.py).
        counted = getattr(request._request, "rate_limit_counted", None)
        if counted is not None and counted[0] == (scope, ident):
            wait = counted[1]
        else:
            wait = rate_limit_wait(scope=scope, ident=ident, rate=rate, fail_closed=fail_closed)
        self.wait_seconds = wait
        if wait is not None:
            logger.info("api.throttled", extra={"scope": scope})
        return wait is None

    def wait(self) -> float | None:
        return self.wait_seconds
