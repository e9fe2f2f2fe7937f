"""What a paid hold costs next to a free one, in process, through the API (the paid one
opens a Checkout Session on the local Stripe stand-in over HTTP and extends the hold).
Figures for the team's notes, not a timed test:

    make measure PYTEST_ARGS=tests/billing/test_payment_measurements.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.calls import key_client, rates, send_json
from tests.billing.paying import paid_setting
from tests.bookings.factories import ServiceFactory, future_start, slots_create

pytestmark = [pytest.mark.slow, pytest.mark.measurement]
ROUNDS = 40


def _holds(client, service, slots, prefix: str) -> tuple[list[float], list[int]]:
    seconds, statements = [], []
    for index, slot in enumerate(slots):
        body = {
            "service": str(service.pk),
            "slot": str(slot.pk),
            "customer": {"name": "Ann Lee", "email": f"ann{index}@example.com"},
        }
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = send_json(
                client, "post", "/api/v1/bookings", body, HTTP_IDEMPOTENCY_KEY=f"{prefix}{index}"
            )
            seconds.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content
        statements.append(len(queries.captured_queries))
    return seconds, statements


def test_a_paid_hold_next_to_a_free_one(acme, acme_host, stripe_standin, settings, capsys):
    settings.REST_FRAMEWORK = rates()
    paid = paid_setting(acme, stripe_standin)
    free = ServiceFactory.create(name="Free check-in", resources=[paid["physio"]])
    start = future_start(days=5)
    free_slots = slots_create(resource=paid["physio"], starts_at=start, count=ROUNDS + 1)
    paid_slots = slots_create(
        resource=paid["physio"], starts_at=future_start(days=6), count=ROUNDS + 1
    )
    client = key_client(acme_host, "frontdesk")
    _holds(client, free, free_slots[:1], "warm-free-")
    _holds(client, paid["service"], paid_slots[:1], "warm-paid-")

    free_s, free_q = _holds(client, free, free_slots[1:], "free-")
    paid_s, paid_q = _holds(client, paid["service"], paid_slots[1:], "paid-")

    def figures(seconds: list[float], statements: list[int]) -> dict[str, float]:
        return {
            "p50_ms": round(statistics.median(seconds) * 1000, 2),
            "p95_ms": round(sorted(seconds)[int(len(seconds) * 0.95) - 1] * 1000, 2),
            "statements": statistics.median(statements),
        }

    report = {
        "rounds": ROUNDS,
        "free_hold": figures(free_s, free_q),
        "paid_hold": figures(paid_s, paid_q),
        "paid_price": str(Decimal("60.00")),
    }
    with capsys.disabled():
        sys.stdout.write(f"\n[measurement] paid vs free hold: {json.dumps(report)}\n")
    assert report["paid_hold"]["statements"] >= report["free_hold"]["statements"]
