"""`/metrics` (config/metrics.py): what a booking makes it say, who may read it, how it
behaves when PostgreSQL or the broker does not answer or its time runs out, and whether
the Grafana dashboard and the alert rules name only series that the job they read them
from exports (the web's /metrics, a worker's own endpoint: config/celery_metrics.py)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import redis
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.notifications.models import Notification
from apps.notifications.webhooks.models import WebhookDelivery
from config import metrics as metrics_endpoint
from config.celery import app
from config.celery_metrics import metrics_server_start
from tests.api.calls import Catalogue, hold, rates
from tests.api.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.metrics import (
    booking_flow,
    names,
    outbox_figures_by_orm,
    samples_parse,
    scrape,
    value,
)
from tests.notifications.webhooks.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docker" / "grafana" / "timenest.json"
ALERTS = ROOT / "docker" / "prometheus" / "alerts.yml"
PROMETHEUS = ROOT / "docker" / "prometheus" / "prometheus.yml"
REQUESTS = "timenest_http_request_duration_seconds"
SCRAPE_ERRORS = "timenest_metrics_scrape_errors_total"


@pytest.fixture(autouse=True)
def _scrape_settings(settings):
    settings.METRICS_TOKEN = ""
    settings.REST_FRAMEWORK = rates()
    # each test starts with no last good read of the scrape-time figures
    metrics_endpoint.dependency_figures.forget()


@pytest.fixture
def catalogue(acme: Tenant) -> Catalogue:
    location = LocationFactory.create(name="Camden", timezone="Europe/London")
    resource = ResourceFactory.create(name="Ada", location=location)
    service = ServiceFactory.create(name="Consultation", resources=[resource])
    slots = slots_create(resource=resource, starts_at=future_start(), count=8)
    return Catalogue(location=location, resource=resource, service=service, slots=slots)


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    try:
        yield server
    finally:
        server.stop()


# --- What a booking makes it say ------------------------------------------------------------


def test_metrics_after_a_booking_show_each_figure_with_its_labels(
    catalogue, acme_host, receiver, django_capture_on_commit_callbacks, rate_clock
):
    # given the figures before
    before = scrape()

    # when a customer reads availability, holds and confirms (and the rest of the flow)
    flow = booking_flow(
        catalogue=catalogue,
        acme_host=acme_host,
        receiver_url=receiver.url,
        capture=django_capture_on_commit_callbacks,
    )
    # one message (a reminder) due for 5 minutes, another one failed for good
    waiting = Notification.objects.filter(booking_id=flow.booking_id, status="pending")
    overdue = waiting.order_by("next_attempt_at").first()
    assert overdue is not None
    Notification.objects.filter(pk=overdue.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    other = Notification.objects.filter(booking_id=flow.booking_id).exclude(pk=overdue.pk).first()
    assert other is not None
    Notification.objects.filter(pk=other.pk).update(status="failed")
    after = scrape(host=acme_host)

    # then
    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    def requests(route: str, method: str, status: str, suffix: str = "_count", **more: str):
        return grew(f"{REQUESTS}{suffix}", route=route, method=method, status=status, **more)

    assert requests("api:v1:bookings", "POST", "201") == 2
    assert requests("api:v1:booking-confirm", "POST", "200") == 1
    assert requests("api:v1:slots", "GET", "200") == 2
    assert requests("api:v1:slots", "GET", "200", suffix="_bucket", le="+Inf") == 2
    assert requests("api:not-found", "GET", "404") == 1
    assert requests("stripe_webhook", "POST", "200") == 1
    assert requests("stripe_webhook", "POST", "400") == 1

    source = Booking.objects.get(pk=flow.booking_id).source
    assert source == "api"
    assert grew("timenest_bookings_total", status="held", source="api") == 2
    assert grew("timenest_bookings_total", status="confirmed", source="api") == 1
    assert grew("timenest_bookings_total", status="expired", source="api") == 1
    assert grew("timenest_holds_placed_total") == 2
    assert grew("timenest_holds_confirmed_total") == 1
    assert grew("timenest_holds_expired_total") == 1
    assert grew("timenest_hold_to_confirm_ms_count") == 1
    assert grew("timenest_hold_to_confirm_ms_sum") > 0

    assert grew("timenest_exposed_slots_count_count", variant="all") == 2
    assert grew("timenest_exposed_slots_count_sum", variant="all") == 2 * flow.slots_shown
    assert flow.slots_shown == 8
    assert grew("timenest_availability_cache_lookups_total", entry="answer", result="miss") == 1
    assert grew("timenest_availability_cache_lookups_total", entry="answer", result="hit") == 1

    assert grew("timenest_rate_limit_refusals_total", scope="anon_booking") == 1
    # (this test's rows are the only ones: each test's are rolled back)
    delivered = WebhookDelivery.objects.filter(status="succeeded").count()
    assert delivered == 4  # held, confirmed, held, expired
    assert grew("timenest_webhook_deliveries_total", result="succeeded") == delivered
    # (`other` was read before it was marked failed: it counts if it had been sent)
    sent = Notification.objects.filter(status="sent").count() + (other.status == "sent")
    assert sent >= 1
    assert grew("timenest_notifications_total", result="sent") == sent
    assert grew("timenest_stripe_events_total", type="other", result="ignored") == 1
    assert grew("timenest_stripe_events_total", type="unverified", result="signature_invalid") == 1

    for kind, model in (("notification", Notification), ("webhook", WebhookDelivery)):
        expected = outbox_figures_by_orm(model)
        assert value(after, "timenest_outbox_pending", kind=kind) == expected.due
        assert value(after, "timenest_outbox_dead", kind=kind) == expected.failed
        lag = value(after, "timenest_outbox_oldest_pending_age_seconds", kind=kind)
        assert expected.oldest_age_s - 60 <= lag <= expected.oldest_age_s
    assert value(after, "timenest_outbox_oldest_pending_age_seconds", kind="notification") >= 300
    assert value(after, "timenest_outbox_dead", kind="notification") >= 1
    assert value(after, "timenest_metrics_source_up", source="database") == 1
    assert value(after, "timenest_metrics_source_up", source="broker") == 1


def test_metrics_count_a_rolled_back_hold_not_at_all(catalogue, acme_host):
    # given a hold whose transaction never commits (the test's own transaction)
    before = scrape()

    # when
    response = hold(Client(HTTP_HOST=acme_host), catalogue, key="rolled-back")

    # then the hold exists inside the transaction, but nothing was counted
    assert response.status_code == 201
    assert value(scrape(), "timenest_holds_placed_total") == value(
        before, "timenest_holds_placed_total"
    )


def test_queue_length_is_the_brokers_list_length(settings):
    # given a queue of our own with three messages waiting (one of them at priority 3)
    queue = f"metrics-{uuid.uuid4().hex[:10]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        broker.lpush(queue, "a", "b")
        broker.lpush(queue + "\x06\x163", "c")

        # when
        samples = scrape()

        # then
        assert value(samples, "timenest_celery_queue_length", queue=queue) == 3
    finally:
        broker.delete(queue, queue + "\x06\x163")
        broker.close()


# --- Who may read it ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "nobody.localhost"])
def test_metrics_answer_on_every_host_before_tenant_routing(host):
    # an unknown subdomain gets a 404 page for everything else
    response = Client().get("/metrics", HTTP_HOST=host)

    assert response.status_code == 200
    assert b"# TYPE timenest_holds_placed_total counter" in response.content


def test_metrics_with_a_token_refuse_a_missing_or_wrong_one(settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    client = Client(HTTP_HOST="localhost")

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456788")
    not_bearer = client.get("/metrics", HTTP_AUTHORIZATION="Basic scrape-token-0123456789")
    right = client.get(
        "/metrics",
        HTTP_AUTHORIZATION="Bearer scrape-token-0123456789",
        REMOTE_ADDR="203.0.113.9",  # the token is enough from anywhere
    )

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert not_bearer.status_code == 401
    assert b"timenest_" not in missing.content + wrong.content + not_bearer.content
    assert right.status_code == 200
    assert b"timenest_holds_placed_total" in right.content


def test_metrics_without_a_token_serve_loopback_clients_only(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client(HTTP_HOST="localhost")

    remote = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    # a proxy on this machine passing on a remote client's request
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="::1")
    # a remote client reaching the app port past the proxy, claiming to be loopback
    spoofed = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert remote.status_code == 403
    assert proxied.status_code == 403
    assert spoofed.status_code == 403
    assert b"timenest_" not in remote.content + proxied.content + spoofed.content
    assert local.status_code == 200


# --- When a source does not answer ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_scrape_leaves_out_the_broker_when_it_does_not_answer(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_free_port()}/0"

    samples = scrape()

    assert value(samples, "timenest_metrics_source_up", source="broker") == 0
    assert "timenest_celery_queue_length" not in names(samples)
    assert value(samples, "timenest_metrics_source_up", source="database") == 1
    assert "timenest_outbox_pending" in names(samples)


def test_scrape_gives_up_on_the_database_after_its_timeout(monkeypatch):
    # given a table of the outbox locked by another session (every read of it waits)
    monkeypatch.setattr(metrics_endpoint, "SOURCE_TIMEOUT_SECONDS", 0.3)
    before = samples_parse(metrics_endpoint.generate_latest().decode())
    acme = Tenant.objects.get(slug="acme")
    table = f'"{acme.schema_name}"."{Notification._meta.db_table}"'
    database = connection.settings_dict
    with psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"],
        host=database["HOST"],
        port=database["PORT"],
    ) as locker:
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

        # when
        samples = scrape()

        # then the scrape answers, without the database's figures (no good read yet)
        assert value(samples, "timenest_metrics_source_up", source="database") == 0
        assert "timenest_outbox_pending" not in names(samples)
        assert "timenest_holds_placed_total" in names(samples)
        assert value(samples, SCRAPE_ERRORS, source="database", reason="error") == 1 + value(
            before, SCRAPE_ERRORS, source="database", reason="error"
        )
        locker.rollback()


class _StepClock:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_scrape_cut_off_by_its_database_budget_keeps_the_last_good_figures(
    catalogue, acme_host, settings, monkeypatch, django_assert_max_num_queries
):
    # given a good read (no message due anywhere yet), then a confirmed booking whose
    # confirmation message is due in acme
    assert Tenant.objects.filter(is_ready=True).exclude(schema_name="public").count() >= 2
    good = scrape()
    assert value(good, "timenest_metrics_source_up", source="database") == 1
    assert value(good, "timenest_outbox_pending", kind="notification") == 0
    client = Client(HTTP_HOST=acme_host)
    held = hold(client, catalogue, key=f"budget-{uuid.uuid4().hex}")
    assert held.status_code == 201, held.content
    booking = held.json()
    confirmed = client.post(
        f"/api/v1/bookings/{booking['id']}/confirm", HTTP_X_BOOKING_TOKEN=booking["token"]
    )
    assert confirmed.status_code == 200, confirmed.content
    due = outbox_figures_by_orm(Notification).due
    assert due >= 1

    # when the database's budget (2.5 s) runs out after the first of several chunks:
    # one business per statement, and a clock that moves 1 s per reading (the start,
    # the list of businesses, the first chunk: the second finds the budget spent)
    settings.METRICS_DATABASE_BUDGET_SECONDS = 2.5
    monkeypatch.setattr(metrics_endpoint, "SCHEMAS_PER_STATEMENT", 1)
    monkeypatch.setattr(metrics_endpoint, "_clock", _StepClock())
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/metrics", HTTP_HOST="localhost")

    # then /metrics answers, says the database was cut off, and serves the last good
    # figures rather than the half-read ones (acme's due message is not in them)
    assert response.status_code == 200
    cut = samples_parse(response.content.decode())
    chunks = [q for q in queries.captured_queries if "UNION ALL" in q["sql"]]
    assert len(chunks) == 1
    assert value(cut, "timenest_metrics_source_up", source="database") == 0
    assert value(cut, SCRAPE_ERRORS, source="database", reason="deadline") == 1 + value(
        good, SCRAPE_ERRORS, source="database", reason="deadline"
    )
    for kind in ("notification", "webhook"):
        for name in ("timenest_outbox_pending", "timenest_outbox_dead"):
            assert (name, frozenset({("kind", kind)})) in cut, (name, kind)
            assert value(cut, name, kind=kind) == value(good, name, kind=kind), (name, kind)
    assert value(cut, "timenest_metrics_source_up", source="broker") == 1

    # and once the database answers within its budget again, the figures are fresh
    monkeypatch.setattr(metrics_endpoint, "_clock", time.monotonic)
    settings.METRICS_DATABASE_BUDGET_SECONDS = 30
    fresh = scrape()
    assert value(fresh, "timenest_metrics_source_up", source="database") == 1
    assert value(fresh, "timenest_outbox_pending", kind="notification") == due


# --- The dashboard and the alert rules --------------------------------------------------------

_NAME = re.compile(r"\btimenest_[a-zA-Z0-9_]+")


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                if key in ("expr", "query") and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard)
    return found


def _rule_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


_SELECTOR = re.compile(r"\b(timenest_[a-zA-Z0-9_]+)(\{[^}]*\})?")
_JOB = re.compile(r'\bjob\s*=(~?)\s*"([^"]*)"')


def _selectors(expr: str) -> list[tuple[str, str | None]]:
    """Each series an expression reads, with the job its selector names (None: any)."""
    found: list[tuple[str, str | None]] = []
    for name, matchers in _SELECTOR.findall(expr):
        jobs = [job for regex, job in _JOB.findall(matchers) if not regex]
        found.append((name, jobs[0] if jobs else None))
    return found


def _scrape_jobs() -> dict[str, dict[str, object]]:
    config = yaml.safe_load(PROMETHEUS.read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


@app.task(name="tests.metrics.noop")
def _noop_task() -> str:
    return "done"


def _worker_endpoint_names() -> set[str]:
    """What a worker's own endpoint (config/celery_metrics.py) serves, over HTTP: this
    process's registry, as a beat or a worker without multiprocess files serves it."""
    server = metrics_server_start(port=0, address="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
            return names(samples_parse(answer.read().decode()))
    finally:
        server.shutdown()
        server.server_close()


def test_dashboard_and_alert_rules_name_only_exported_series(
    catalogue, acme_host, receiver, django_capture_on_commit_callbacks, rate_clock
):
    # given every code path that makes a series has run
    booking_flow(
        catalogue=catalogue,
        acme_host=acme_host,
        receiver_url=receiver.url,
        capture=django_capture_on_commit_callbacks,
    )
    assert _noop_task.apply().get() == "done"  # a task run, as a worker runs it
    exported = {
        "timenest-web": names(scrape()),
        "timenest-worker": _worker_endpoint_names(),
    }
    exported["timenest-beat"] = exported["timenest-worker"]  # the same endpoint's code
    # the figures read at scrape time, the same whichever process reads them
    scrape_time = names(samples_parse(metrics_endpoint.generate_latest(
        metrics_endpoint._dependencies
    ).decode()))  # fmt: skip

    # when
    expressions = _dashboard_expressions() + _rule_expressions()
    dashboard = {name for expr in _dashboard_expressions() for name in _NAME.findall(expr)}
    rules = {name for expr in _rule_expressions() for name in _NAME.findall(expr)}
    selectors = {selector for expr in expressions for selector in _selectors(expr)}
    jobs_named = {job for expr in expressions for _regex, job in _JOB.findall(expr)}

    # then every series is exported by the job it is read from; a series read from any
    # job (summed across all) is a count each process group makes of its own
    assert len(dashboard) >= 10 and len(rules) >= 4
    assert set(exported) == set(_scrape_jobs())
    assert jobs_named - set(exported) - {"timenest-.*"} == set()
    everywhere = set().union(*exported.values())
    for name, job in selectors:
        if job is not None:
            assert name in exported[job], (name, job)
        else:
            assert name in everywhere, name
            assert name not in scrape_time, f"{name} must be read from one job only"
    # the scrape-time figures are served by the web's job alone, and read from it
    assert {"timenest_outbox_pending", "timenest_celery_queue_length"} <= scrape_time
    assert scrape_time <= exported["timenest-web"]
    assert scrape_time & exported["timenest-worker"] == set()
    for name, job in selectors:
        if name in scrape_time:
            assert job == "timenest-web", name
    # the worker's counts of its tasks are served by its endpoint
    task = {"task": "tests.metrics.noop", "outcome": "succeeded"}
    assert value(scrape(), "timenest_celery_tasks_total", **task) >= 1
    assert {"timenest_celery_tasks_total", "timenest_celery_task_duration_seconds_bucket"} <= (
        exported["timenest-worker"] & dashboard
    )
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    assert {
        "TimenestApiLatencyP95High",
        "TimenestOutboxLagHigh",
        "TimenestDeadDeliveriesRising",
        "TimenestCeleryQueueDeep",
        "TimenestServerErrorRateHigh",
        "TimenestWorkersDown",
    } <= alerts


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian's `prometheus` package; `make pytest` installs "
    "it when run as root)",
)
def test_alert_rules_pass_promtool_and_fire_when_they_should():
    # the rules parse, and their unit tests (docker/prometheus/alerts_test.yml: each
    # alert fires on the series that should trigger it, none on a healthy system) pass
    checked = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    tested = subprocess.run(
        ["promtool", "test", "rules", str(ALERTS.with_name("alerts_test.yml"))],
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_prometheus_configuration_passes_promtool(tmp_path):
    # the compose stack's configuration, its token file where it is written at start
    token = tmp_path / "metrics-token"
    token.write_text("a-token")
    config = PROMETHEUS.read_text().replace("/prometheus/metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(ALERTS, tmp_path / "alerts.yml")

    checked = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_each_job_finds_every_replica_of_its_compose_service_on_its_port():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    ports = {"timenest-web": 8000, "timenest-worker": 9808, "timenest-beat": 9808}

    for job, scrape_config in _scrape_jobs().items():
        # DNS on the service's name: one A record, one target, per container
        (discovery,) = scrape_config["dns_sd_configs"]
        (service,) = discovery["names"]
        assert service in compose, job
        assert discovery["type"] == "A" and discovery["port"] == ports[job], job
        assert scrape_config["authorization"]["credentials_file"], job
        assert "static_configs" not in scrape_config, job
    assert {
        job: config["dns_sd_configs"][0]["names"][0] for job, config in _scrape_jobs().items()
    } == {
        "timenest-web": "web",
        "timenest-worker": "worker",
        "timenest-beat": "beat",
    }
