"""`/metrics`: Prometheus' text format, on every host, answered by a middleware that
runs before tenant routing (so a scrape needs no tenant row and no database unless it
reads the figures that live there).

Who may scrape: with METRICS_TOKEN set, only a request carrying
`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise; compared in constant time);
without it, only a loopback client (403 otherwise), its address found behind
API_NUM_PROXIES trusted proxies as the rate limiter finds it.

What is exported:
- the counters and histograms of apps/core/metrics.py. Under gunicorn and Celery each
  process writes them to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
  multiprocess mode) and a scrape adds up the files of that directory and of its
  subdirectories (a Celery worker on the same machine writes in one of those:
  `<dir>/celery`); without the variable (runserver, tests) this process's default
  registry is exported;
- figures read at scrape time from PostgreSQL (the outboxes of every business: due rows,
  the age of the oldest, failed rows) and from the broker (queue lengths), each with
  short timeouts, the database's read within one budget for all its statements
  (METRICS_DATABASE_BUDGET_SECONDS). A source that does not answer in time is said so by
  `timenest_metrics_source_up{source=...} 0` and counted in
  `timenest_metrics_scrape_errors_total{source, reason}`; its figures keep the values of
  this process's last good read (left out until there was one): a scrape never hangs on
  it or fails. These figures are the same whichever process reads them, so only the web
  serves them (the `timenest-web` job of docker/prometheus/prometheus.yml); a Celery
  worker's own endpoint (config/celery_metrics.py) serves its process counters only.

The multiprocess files themselves (cleaning them at start, a process's exit, the
gunicorn and Celery hooks) are config/metrics_files.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.core import metrics
from config.health import request_from
from config.metrics_access import scrape_refusal
from config.metrics_files import ProcessFiles, multiproc_dir

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A scrape's statements in PostgreSQL and its Redis calls give up after this long (a new
# database connection waits as long as any request's: the `connect_timeout` of DATABASES).
SOURCE_TIMEOUT_SECONDS = 2.0
# All the statements of one scrape's database read together, unless the setting
# METRICS_DATABASE_BUDGET_SECONDS says otherwise: well inside Prometheus' default scrape
# timeout (10 s), with room for the broker's read after it.
DATABASE_BUDGET_SECONDS = 5.0
# Business schemas per statement when reading every business's outbox.
SCHEMAS_PER_STATEMENT = 200
# kombu's Redis transport keeps a queue's priorities in these lists beside it.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- Figures read at scrape time -----------------------------------------------------------


class SourceDeadline(Exception):
    """The scrape's budget for a source ran out before its read was complete."""


# The clock of the budgets (tests replace it to place the cut-off deterministically).
_clock = time.monotonic


class DependencyCollector(Collector):
    """Outbox lag and failures from PostgreSQL, queue lengths from the broker: read when
    scraped, each statement bounded by SOURCE_TIMEOUT_SECONDS and the database's whole
    read by its budget. A source that fails or runs out of time is reported down and
    counted; its figures are then this process's last good read of it (a cut-off read
    is never served half-done)."""

    def __init__(self) -> None:
        self._last_good: dict[str, list[Metric]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drops the last good reads (tests start from none)."""
        with self._lock:
            self._last_good.clear()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "timenest_metrics_source_up",
            "Whether a source of scrape-time figures answered this scrape (1) or not (0: "
            "its figures are those of the last good read, or left out before one).",
            labels=["source"],
        )
        for source, read in (("database", _outbox_families), ("broker", _queue_families)):
            try:
                families = list(read())
            except Exception as exc:  # a scrape reports the source down, never fails
                reason = "deadline" if isinstance(exc, SourceDeadline) else "error"
                logger.warning(
                    "metrics.source_unavailable",
                    extra={
                        "source": source,
                        "reason": reason,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
                metrics.metrics_scrape_errors_total.labels(source=source, reason=reason).inc()
                up.add_metric([source], 0)
                with self._lock:
                    kept = self._last_good.get(source, [])
                yield from kept
                continue
            with self._lock:
                self._last_good[source] = families
            up.add_metric([source], 1)
            yield from families
        yield up


@dataclass
class _Outbox:
    due: int = 0
    oldest_due: dt.datetime | None = None
    failed: int = 0

    def add(self, due: int, oldest_due: dt.datetime | None, failed: int) -> None:
        self.due += due
        self.failed += failed
        if oldest_due is not None and (self.oldest_due is None or oldest_due < self.oldest_due):
            self.oldest_due = oldest_due


def _outbox_families() -> list[Metric]:
    from apps.accounts.models import Tenant
    from apps.notifications.models import Notification
    from apps.notifications.webhooks.models import WebhookDelivery

    tables = {
        "notification": Notification._meta.db_table,
        "webhook": WebhookDelivery._meta.db_table,
    }
    outboxes = {kind: _Outbox() for kind in tables}
    quote = connection.ops.quote_name
    now = timezone.now()  # the clock the rows' times were written with
    budget = float(getattr(settings, "METRICS_DATABASE_BUDGET_SECONDS", DATABASE_BUDGET_SECONDS))
    deadline = _clock() + budget
    with transaction.atomic(), connection.cursor() as cursor:

        def bounded(sql: str, params: list[Any] | None = None) -> None:
            # Each statement may take SOURCE_TIMEOUT_SECONDS, and never past the deadline
            # of the whole read: the chunks of a slow database cannot add up to a hung
            # scrape.
            remaining = deadline - _clock()
            if remaining <= 0:
                raise SourceDeadline(f"the database's {budget:g} s for this scrape ran out")
            limit_ms = max(1, int(min(SOURCE_TIMEOUT_SECONDS, remaining) * 1000))
            cursor.execute("SET LOCAL statement_timeout = %s", [str(limit_ms)])
            try:
                cursor.execute(sql, params)
            except DatabaseError as exc:
                cancelled = isinstance(exc.__cause__, psycopg.errors.QueryCanceled)
                if cancelled and _clock() >= deadline:
                    raise SourceDeadline(
                        f"the database's {budget:g} s for this scrape ran out"
                    ) from exc
                raise

        bounded(
            f"SELECT schema_name FROM public.{quote(Tenant._meta.db_table)} "  # noqa: S608
            "WHERE is_ready AND schema_name <> 'public' ORDER BY schema_name"
        )
        schemas = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(schemas), SCHEMAS_PER_STATEMENT):
            selects: list[str] = []
            values: list[Any] = []
            for schema in schemas[start : start + SCHEMAS_PER_STATEMENT]:
                for kind, table in tables.items():
                    name = f"{quote(schema)}.{quote(table)}"
                    # Identifiers quoted by the backend, values as parameters. Two plain
                    # aggregates per table, the due rows read through the partial index
                    # of pending rows: on 1,000 schemas about 20 times cheaper to plan
                    # than one row of scalar subqueries per table.
                    selects.append(
                        f"SELECT %s::text, count(*), min(next_attempt_at), 0 FROM {name} "  # noqa: S608
                        "WHERE status = 'pending' AND next_attempt_at <= %s"
                    )
                    selects.append(
                        f"SELECT %s::text, 0, NULL, count(*) FROM {name} "  # noqa: S608
                        "WHERE status = 'failed'"
                    )
                    values += [kind, now, kind]
            bounded(" UNION ALL ".join(selects), values)
            for kind, due_count, oldest_due, failed in cursor.fetchall():
                outboxes[kind].add(int(due_count), oldest_due, int(failed))
    pending = GaugeMetricFamily(
        "timenest_outbox_pending",
        "Outbox rows due and not sent yet, by kind (notification | webhook), every "
        "business together.",
        labels=["kind"],
    )
    lag = GaugeMetricFamily(
        "timenest_outbox_oldest_pending_age_seconds",
        "How long the oldest due outbox row has been waiting, by kind (0: none waiting).",
        labels=["kind"],
    )
    dead = GaugeMetricFamily(
        "timenest_outbox_dead",
        "Outbox rows that failed for good (every attempt used up, or undeliverable), by kind.",
        labels=["kind"],
    )
    for kind, outbox in outboxes.items():
        pending.add_metric([kind], outbox.due)
        waited = (now - outbox.oldest_due).total_seconds() if outbox.oldest_due else 0.0
        lag.add_metric([kind], max(waited, 0.0))
        dead.add_metric([kind], outbox.failed)
    return [pending, lag, dead]


def _broker_queues() -> list[str]:
    queues = {str(settings.CELERY_TASK_DEFAULT_QUEUE)}
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        for route in routes.values():
            if isinstance(route, dict) and route.get("queue"):
                queues.add(str(route["queue"]))
    return sorted(queues)


def _queue_families() -> list[Metric]:
    broker = str(settings.CELERY_BROKER_URL)
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return []
    queues = _broker_queues()
    client = redis.Redis.from_url(
        broker,
        socket_connect_timeout=SOURCE_TIMEOUT_SECONDS,
        socket_timeout=SOURCE_TIMEOUT_SECONDS,
    )
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    depth = GaugeMetricFamily(
        "timenest_celery_queue_length",
        "Tasks waiting in a Celery queue of the broker (all priorities).",
        labels=["queue"],
    )
    step = len(_PRIORITY_SUFFIXES)
    for index, queue in enumerate(queues):
        depth.add_metric([queue], sum(int(n) for n in lengths[index * step : (index + 1) * step]))
    return [depth]


dependency_figures = DependencyCollector()
_dependencies = CollectorRegistry(auto_describe=False)
_dependencies.register(dependency_figures)
_process_registries: dict[str, CollectorRegistry] = {}


_SCRAPE_ERROR_LABELS = [(s, r) for s in ("database", "broker") for r in ("deadline", "error")]


def metrics_exposition() -> bytes:
    """Every figure, in Prometheus' text format."""
    # The error counters exist at 0 from the first scrape on, so that rates and
    # increases see their first error.
    for source, reason in _SCRAPE_ERROR_LABELS:
        metrics.metrics_scrape_errors_total.labels(source=source, reason=reason)
    path = multiproc_dir()
    if path:
        registry = _process_registries.get(path)
        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(ProcessFiles(path))
            _process_registries[path] = registry
    else:
        registry = REGISTRY
    # The scrape-time figures first: a failed read counts itself in the error counter,
    # which this very scrape then serves.
    read_at_scrape_time = generate_latest(_dependencies)
    return generate_latest(registry) + read_at_scrape_time


# --- The endpoint and request timing -------------------------------------------------------


def _loopback(request: HttpRequest) -> bool:
    """The client and the peer that connected are both on this machine (config/health.py
    `request_from`: a client past the proxies cannot claim loopback in X-Forwarded-For)."""
    return request_from(request, _LOOPBACK_NETS)


_LOOPBACK_NETS = ("127.0.0.0/8", "::1/128")


def _refusal(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type=CONTENT_TYPE)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    response["Cache-Control"] = "no-store"
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = scrape_refusal(
        request.headers.get("Authorization", ""), loopback=lambda: _loopback(request)
    )
    if refused is not None:
        return _refusal(*refused)
    if request.method not in ("GET", "HEAD"):
        response = _refusal(405, _("Metrics are read with GET."))
        response["Allow"] = "GET, HEAD"
        return response
    response = HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name that served `request` (namespaced, e.g. `api:v1:booking-confirm`),
    its view's dotted path when the pattern has no name; for a request no pattern served,
    the route a middleware answered it for (a probe, a fast read), else `unmatched` (a
    404, an unknown host). Never the path: paths carry ids and tokens."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        # A middleware that answers a route's requests itself names the route: the
        # probes (config/health.py), the fast availability reads (apps/api/fast_reads.py).
        return str(getattr(request, "route_answered", None) or "unmatched")
    return str(match.view_name or match._func_path)


class MetricsMiddleware:
    """Answers `/metrics` on any host before tenant routing, and times every other
    request by route name, method and status code. Placed right after the
    Content-Security-Policy middleware (config/settings/base.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return metrics_view(request)
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        metrics.http_request_seconds.labels(
            route=route_name(request), method=method, status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response
