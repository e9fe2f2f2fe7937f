"""The rate limiter's client key (trusted proxies, IPv6 /64), its in-process fallback
when Redis is out of reach, and production's refusal to guess the proxy count."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpRequest
from django.test import RequestFactory

from apps.core import rate_limits

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scope(settings) -> str:
    """A scope of its own at 3 a minute: its counters (which expire with their window)
    and its log throttle start empty."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            name: "3/min",
        },
    }
    return name


def _request(remote_addr: str, forwarded: str | None = None) -> HttpRequest:
    headers: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


def _allowed(scope: str, ident: str, times: int, *, fail_closed: bool = False) -> list[bool]:
    return [
        rate_limits.rate_limit_wait(scope=scope, ident=ident, fail_closed=fail_closed) is None
        for _ in range(times)
    ]


# --- who a client is --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.5", "203.0.113.5"),  # a dual-stack socket's IPv4 client
        ("fe80::1%eth0", "fe80::/64"),
        ("203.0.113.5:4711", "203.0.113.5"),
        ("[2001:db8:1:2::1]:4711", "2001:db8:1:2::/64"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_address_bucket_keeps_ipv4_and_cuts_ipv6_to_its_64(address, bucket):
    assert rate_limits.address_bucket(address) == bucket


def test_ipv6_addresses_in_one_64_share_a_bucket_and_other_64s_do_not(
    scope, rate_clock, new_ipv6_prefix
):
    # given one subscriber's /64 and a neighbour's
    net, neighbour = new_ipv6_prefix(), new_ipv6_prefix()
    idents = [rate_limits.client_ident(_request(f"{net}::{n:x}")) for n in range(1, 5)]

    # when four of its addresses ask once each, then the neighbour asks
    answers = [rate_limits.rate_limit_wait(scope=scope, ident=ident) is None for ident in idents]
    other = rate_limits.client_ident(_request(f"{neighbour}::1"))

    # then the fourth is over the 3 a minute, and the neighbour is not
    assert answers == [True, True, True, False]
    assert rate_limits.rate_limit_wait(scope=scope, ident=other) is None


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        # one proxy appends the address it was reached from; what is left of it the
        # client wrote, and anyone can
        (1, "198.51.100.66, 203.0.113.5", "203.0.113.5"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 5.6.7.8, 2001:db8:1:2::9", "2001:db8:1:2::/64"),
        (2, "198.51.100.66, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (1, None, "192.0.2.1"),  # not through the proxy: the peer is the client
        (0, "203.0.113.5", "192.0.2.1"),
        (None, "203.0.113.5", "192.0.2.1"),
    ],
)
def test_client_ident_takes_the_address_the_trusted_proxy_saw(
    settings, num_proxies, forwarded, expected
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}

    assert rate_limits.client_ident(_request("192.0.2.1", forwarded)) == expected


def test_behind_one_proxy_a_spoofed_forwarded_for_does_not_buy_a_fresh_bucket(
    settings, scope, rate_clock
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = "203.0.113.77"

    # when the client sends a new made-up X-Forwarded-For with every request
    answers = [
        rate_limits.rate_limit_wait(
            scope=scope,
            ident=rate_limits.client_ident(_request("10.0.0.2", f"198.51.100.{n}, {client}")),
        )
        is None
        for n in range(4)
    ]
    # and another client comes through the same proxy
    other = rate_limits.client_ident(_request("10.0.0.2", "203.0.113.78"))

    # then its requests count in one bucket; the proxy's other clients are not affected
    assert answers == [True, True, True, False]
    assert rate_limits.rate_limit_wait(scope=scope, ident=other) is None


# --- counting in Redis, from many threads ---------------------------------------------------


def test_concurrent_requests_get_exactly_the_rate_through(settings, rate_clock, new_address):
    # given a client at 60 a minute
    name = f"test_{uuid.uuid4().hex[:8]}"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {name: "60/min"},
    }
    ident = new_address()
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def burst() -> None:
        start.wait()
        for _ in range(10):
            ok = rate_limits.rate_limit_wait(scope=name, ident=ident) is None
            with lock:
                allowed.append(ok)

    # when 8 threads send 10 requests each at once
    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly 60 of the 80 get through
    assert allowed.count(True) == 60
    assert allowed.count(False) == 20
    cache.delete_pattern(f"throttle:{name}:*")


# --- Redis out of reach ---------------------------------------------------------------------


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_fail_closed_callers_are_limited_by_the_process(
    scope, rate_clock, monkeypatch
):
    answers = _allowed(scope, "10.9.9.9", 5, fail_closed=True)
    wait = rate_limits.rate_limit_wait(scope=scope, ident="10.9.9.9", fail_closed=True)

    assert answers == [True, True, True, False, False]
    assert wait is not None and 1 <= wait <= 60
    # another client, and the same client in another business, have buckets of their own
    assert _allowed(scope, "10.9.9.10", 1, fail_closed=True) == [True]
    monkeypatch.setattr(rate_limits, "current_schema", lambda: "tenant_other")
    assert _allowed(scope, "10.9.9.9", 1, fail_closed=True) == [True]


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_the_process_window_starts_afresh_when_it_ends(
    scope, rate_clock, monkeypatch
):
    assert _allowed(scope, "10.9.9.9", 4, fail_closed=True) == [True, True, True, False]

    monkeypatch.setattr(rate_limits, "_now", lambda: rate_clock + 60)

    assert _allowed(scope, "10.9.9.9", 4, fail_closed=True) == [True, True, True, False]


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_reads_are_let_through(scope, rate_clock):
    assert _allowed(scope, "10.9.9.9", 6) == [True] * 6


@pytest.mark.usefixtures("redis_unreachable")
def test_without_redis_each_scope_warns_once_a_minute_not_per_request(
    scope, rate_clock, monkeypatch, caplog
):
    with caplog.at_level(logging.WARNING, logger="apps.core.rate_limits"):
        _allowed(scope, "10.9.9.9", 5, fail_closed=True)
        _allowed(scope, "10.9.9.9", 5)
        monkeypatch.setattr(rate_limits, "_now", lambda: rate_clock + 61)
        _allowed(scope, "10.9.9.9", 2, fail_closed=True)

    warned = [
        (record.scope, record.fallback)
        for record in caplog.records
        if record.getMessage() == "api.throttle_unavailable"
    ]
    assert warned == [(scope, "process"), (scope, "none"), (scope, "process")]


def test_process_windows_stay_bounded_dropping_ended_windows_first():
    windows = rate_limits.ProcessWindows(max_buckets=10)
    for n in range(5):
        windows.hit(f"old-{n}", window_end=100, now=50)
    for n in range(5):
        windows.hit(f"live-{n}", window_end=200, now=150)
    for _ in range(3):
        windows.hit("live-0", window_end=200, now=150)

    # a new bucket once the old windows have ended: they go, the live ones stay
    windows.hit("new", window_end=200, now=150)

    assert len(windows) == 6
    assert windows.hit("live-0", window_end=200, now=150) == 5

    # a flood of new clients never grows it past its bound
    for n in range(1000):
        windows.hit(f"flood-{n}", window_end=200, now=150)
    assert len(windows) <= 10


def test_process_windows_count_exactly_under_threads():
    windows = rate_limits.ProcessWindows(max_buckets=100)
    counts: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def burst() -> None:
        start.wait()
        for _ in range(500):
            count = windows.hit("one", window_end=200, now=150)
            with lock:
                counts.append(count)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == list(range(1, 4001))


# --- production settings --------------------------------------------------------------------


def _import_prod_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"API_NUM_PROXIES", "DJANGO_SETTINGS_MODULE"}
    }
    code = (
        "from config.settings import prod\n"
        "print('NUM_PROXIES', prod.REST_FRAMEWORK['NUM_PROXIES'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SECRET_KEY": "prod-settings-test-secret-key-0123456789", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("value", [None, "", "  ", "-1", "one"])
def test_production_settings_refuse_to_load_without_a_proxy_count(value):
    result = _import_prod_settings(**({} if value is None else {"API_NUM_PROXIES": value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "API_NUM_PROXIES" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("1", 1), (" 2 ", 2)])
def test_production_settings_load_with_an_explicit_proxy_count(value, expected):
    result = _import_prod_settings(API_NUM_PROXIES=value)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NUM_PROXIES", str(expected)]
