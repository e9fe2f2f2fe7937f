"""Rate limits in Redis (the django cache), as fixed windows with one counter each.

Buckets: one per API key (`api_key`), one per staff member (`user`), and for anonymous
callers one per client IP for reads (`anon_read`) and one for booking writes
(`anon_booking`; a view may name another scope, e.g. `auth` for the token endpoint).
Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read on each request
(tests override them). Keys carry the tenant's schema (django-tenants' cache key
function), so businesses never share a bucket.

If Redis cannot be reached the request is let through: an outage of the limiter must
not take the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from apps.api.permissions import principal_of

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "60/min" → (60, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS.get(period.strip().lower(), _PERIODS.get(period[:1], 60))


def _hit(key: str, *, period: int) -> int:
    """Increments the window's counter; returns its new value. One round trip."""
    client_holder = getattr(cache, "client", None)
    get_client = getattr(client_holder, "get_client", None)
    if get_client is None:  # a non-Redis cache (never in production)
        if cache.add(key, 1, timeout=period + 1):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:
            cache.set(key, 1, timeout=period + 1)
            return 1
    redis = get_client(write=True)
    full_key = cache.make_key(key)
    pipe = redis.pipeline(transaction=False)
    pipe.incr(full_key)
    pipe.expire(full_key, period + 1, nx=True)
    count, _ = pipe.execute()
    return int(count)


class ApiRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def bucket(self, request: Request, view: Any) -> tuple[str, str]:
        principal = principal_of(request)
        if principal is not None:
            return principal.throttle_scope, principal.throttle_ident
        ident = self.get_ident(request)
        if request.method in SAFE_METHODS:
            return "anon_read", ident
        return getattr(view, "anonymous_write_scope", "anon_booking"), ident

    def allow_request(self, request: Request, view: Any) -> bool:
        scope, ident = self.bucket(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        limit, period = parse_rate(str(rate))
        now = time.time()
        window = int(now // period)
        try:
            count = _hit(f"throttle:{scope}:{ident}:{window}", period=period)
        except RedisError:
            logger.warning("api.throttle_unavailable", extra={"scope": scope})
            return True
        if count <= limit:
            return True
        self.wait_seconds = math.ceil((window + 1) * period - now)
        logger.info("api.throttled", extra={"scope": scope})
        return False

    def wait(self) -> float | None:
        return self.wait_seconds
