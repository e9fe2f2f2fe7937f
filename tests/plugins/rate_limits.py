"""Plugin: the rate limiter (apps/core/rate_limits.py) under test.

- every test starts with empty rate-limit counters (`_rate_counters_empty`);
- `rate_clock`: the limiter's clock stopped at the moment the test starts, so a burst of
  requests never straddles two windows (Redis keys still expire in real time).
- `redis_unreachable`: the cache, and with it the limiter, points at a closed port; the
  in-process fallback and its log throttle start empty.
- `new_address`: an IPv4 address no other test used (its buckets start empty), and
  `new_ipv6_prefix`: a fresh /64, e.g. "2001:db8:1a2b:3c4d" (append "::1", "::2", …).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from apps.core import rate_limits

CLOSED_PORT_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture(autouse=True)
def _rate_counters_empty() -> None:
    """Tests share one client address and two businesses, so the counts earlier tests
    left in the same minute would refuse this one's requests: 429s that came and went
    with the order the tests ran in. Every business's counters go: the cache's keys
    start with the schema they were counted in (django-tenants' key function), so a
    pattern made by `cache.delete_pattern` would reach the current schema's only. (The
    key prefix is this test run's own.)"""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    with contextlib.suppress(RedisError, ConnectionInterrupted, AttributeError):
        client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
        keys = list(client.scan_iter(match=f"*:{prefix}:*:throttle:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    now = time.time()
    monkeypatch.setattr(rate_limits, "_now", lambda: now)
    return now


@pytest.fixture
def redis_unreachable(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT_REDIS},
    }
    # Both live for the process's life; each test gets its own.
    monkeypatch.setattr(
        rate_limits,
        "_process_windows",
        rate_limits.ProcessWindows(max_buckets=rate_limits.FALLBACK_MAX_BUCKETS),
    )
    monkeypatch.setattr(rate_limits, "_last_warned", {})


@pytest.fixture
def new_address() -> Callable[[], str]:
    def make() -> str:
        octets = (secrets.randbelow(256), secrets.randbelow(256), secrets.randbelow(254) + 1)
        return "10.{}.{}.{}".format(*octets)

    return make


@pytest.fixture
def new_ipv6_prefix() -> Callable[[], str]:
    def make() -> str:
        return f"2001:db8:{secrets.randbelow(0x10000):x}:{secrets.randbelow(0x10000):x}"

    return make
