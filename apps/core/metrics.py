"""The application's Prometheus metrics: every counter and histogram the services count
in, defined once here so that any layer may count without importing the layer that
serves `/metrics` (config/metrics.py).

Under gunicorn and Celery, PROMETHEUS_MULTIPROC_DIR is set and prometheus-client keeps
each process's values in a file of that directory, which the scrape adds up; without it
(runserver, tests) the values live in this process's default registry. Either way the
objects below are used the same way.

Figures that are read from PostgreSQL or Redis when scraped (outbox lag, dead deliveries,
queue depth) are not here: config/metrics.py computes them at scrape time.

Label values come from small fixed sets (statuses, sources, scopes, route names, event
types billing follows): never an id, a path or anything a client chooses freely.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from prometheus_client import Counter, Histogram

# Request latency in seconds (buckets around the 250 ms p95 objective).
REQUEST_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From a hold to its confirmation, in milliseconds (holds last minutes; a paid hold as long
# as its checkout).
HOLD_TO_CONFIRM_MS_BUCKETS = (
    1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
    3_600_000,
)  # fmt: skip
EXPOSED_SLOTS_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
# A Celery task's run in seconds (the default soft time limit is 120 s).
TASK_SECONDS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

http_request_seconds = Histogram(
    "timenest_http_request_duration_seconds",
    "Time to answer a request, by route name (never the path), method and status code.",
    ["route", "method", "status"],
    buckets=REQUEST_SECONDS_BUCKETS,
)

bookings_total = Counter(
    "timenest_bookings",
    "Bookings that entered a status (held, confirmed, cancelled, expired, completed, "
    "no_show), by the status and the booking's source.",
    ["status", "source"],
)
holds_placed_total = Counter("timenest_holds_placed", "Holds placed (a place taken for a while).")
holds_confirmed_total = Counter(
    "timenest_holds_confirmed", "Holds confirmed into bookings while still live."
)
holds_expired_total = Counter(
    "timenest_holds_expired", "Holds that ran out (by the sweeper or released by a later write)."
)
hold_to_confirm_ms = Histogram(
    "timenest_hold_to_confirm_ms",
    "Milliseconds from placing a hold to confirming it.",
    buckets=HOLD_TO_CONFIRM_MS_BUCKETS,
)

exposed_slots_count = Histogram(
    "timenest_exposed_slots_count",
    "Free slots shown by one availability answer (PRODUCT.md 4.5), by exposure variant "
    "(all | curated).",
    ["variant"],
    buckets=EXPOSED_SLOTS_BUCKETS,
)
availability_cache_lookups_total = Counter(
    "timenest_availability_cache_lookups",
    "Availability cache look-ups by entry (answer | scope) and result (hit | miss).",
    ["entry", "result"],
)

rate_limit_refusals_total = Counter(
    "timenest_rate_limit_refusals",
    "Requests refused by a rate limit, by scope.",
    ["scope"],
)

webhook_deliveries_total = Counter(
    "timenest_webhook_deliveries",
    "Webhook delivery attempts by result (succeeded, retry_scheduled, failed, cancelled).",
    ["result"],
)
notifications_total = Counter(
    "timenest_notifications",
    "Customer message send attempts by result (sent, retry_scheduled, failed, cancelled).",
    ["result"],
)

stripe_events_total = Counter(
    "timenest_stripe_events",
    "Stripe events processed, by type (types billing does not follow: other) and result "
    "(applied, ignored, failed, signature_invalid).",
    ["type", "result"],
)

celery_tasks_total = Counter(
    "timenest_celery_tasks",
    "Celery tasks run, by task name and outcome (succeeded, failed, retried; other final "
    "states in lower case), counted in the process that ran them.",
    ["task", "outcome"],
)
celery_task_seconds = Histogram(
    "timenest_celery_task_duration_seconds",
    "Time a Celery task ran, by task name.",
    ["task"],
    buckets=TASK_SECONDS_BUCKETS,
)

metrics_scrape_errors_total = Counter(
    "timenest_metrics_scrape_errors",
    "Scrapes whose read of a source of scrape-time figures (database | broker) failed, by "
    "reason: deadline (its time budget ran out) or error; the figures kept the last good "
    "read's values.",
    ["source", "reason"],
)


def count_after_commit(record: Callable[[], None]) -> None:
    """Counts when the surrounding transaction commits (at once outside one): a change
    that rolls back was never made, so it is never counted."""
    transaction.on_commit(record)
