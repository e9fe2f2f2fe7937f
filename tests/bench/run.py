"""`make bench`: seed (or reuse) the workload, serve it with gunicorn, measure every
target of PRODUCT.md §7 and write the report (see tests/bench/report.py)."""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import json
import logging
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.due_work import work_due_claim
from apps.accounts.models import Tenant, User
from apps.accounts.services import signup_confirm, signup_request
from apps.bookings.models import Booking
from apps.bookings.services import holds_expire
from apps.calendars.grid.services import resources_materialize
from apps.calendars.models import AvailabilityRule, SlotHold, SlotInstance
from apps.core.tenancy import use_public_schema
from apps.notifications.due_work import work_due_repair as notifications_work_due_repair
from apps.resources.models import Location, Resource
from apps.waitlist.due_work import waitlist_work_due_repair
from tests.bench import directory as directory_bench
from tests.bench import seed as seeding
from tests.bench.driver import Request, burst, closed_loop, cycle, open_loop, percentile
from tests.bench.loads import Figures, merge, merge_saturation, offer, saturate, summarise
from tests.bench.report import Report
from tests.bench.server import CpuMeter, Gunicorn, load_average

logger = logging.getLogger(__name__)

OUT_DIR = Path(settings.BASE_DIR) / ".local" / "bench"
STORM_CLIENTS = 50
STORM_DEADLINE_S = 1.0
SLOTS_RATE = 100.0
# The 1 vs 1,000 tenants comparison runs at half the slots rate: near saturation a p95
# mostly measures the queue, which a neighbour's test run lengthens at random; the
# saturation throughput of both sides is measured too.
TENANTS_RATE = 50.0
DATES_RATE = 50.0
HOLDS_RATE = 50.0
# Holds at saturation: clients in flight, and at most this many holds (slots) per run.
HOLD_CLIENTS = 8
HOLDS_SATURATION_MAX = 1500
MATERIALIZE_DAYS = 90


@dataclass(frozen=True)
class Plan:
    offered_s: float  # each open-loop measurement
    saturation_s: float  # each wrk round
    saturation_rounds: int
    tenant_rounds: int  # alternations 1 tenant / 1,000 tenants
    tenant_round_s: float
    storms: int  # per capacity
    signups: int
    materialize_resources: int

    @classmethod
    def full(cls) -> Plan:
        return cls(20, 8, 2, 5, 10, 3, 3, 1000)

    @classmethod
    def quick(cls) -> Plan:
        return cls(4, 3, 1, 1, 4, 1, 1, 100)


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201


# --- Requests ------------------------------------------------------------------------------


class Workload:
    def __init__(self, seed: seeding.Seed) -> None:
        self.seed = seed
        self.host = seed.host
        self.auth = f"Bearer {seed.api_key}"
        tomorrow = timezone.localdate(timezone.now(), seeding.zone(seeding.BUSY_TZ)) + dt.timedelta(
            days=1
        )
        self.booked_days = [
            day for day in map(dt.date.fromisoformat, seed.booked_days) if day >= tomorrow
        ]
        if len(self.booked_days) < 10:
            raise RuntimeError("The seeded bookings lie in the past: run with --reseed.")
        self.free_days = [dt.date.fromisoformat(day) for day in seed.free_days]
        rng = random.Random(7)
        pairs = [(r, d) for r in seed.resource_ids for d in self.booked_days]
        rng.shuffle(pairs)
        self.slots_paths = [self.slots_path(r, d) for r, d in pairs[:400]]
        self.dates_paths = [
            f"/api/v1/dates?service={seed.service_id}&resource={r}"
            f"&from={start.isoformat()}&to={(start + dt.timedelta(days=30)).isoformat()}"
            for start in self.booked_days[:3]
            for r in seed.resource_ids
        ]
        rng.shuffle(self.dates_paths)
        self.bare_paths = ["/bench/bare"]

    def slots_path(self, resource_id: str, day: dt.date) -> str:
        return (
            f"/api/v1/slots?service={self.seed.service_id}&resource={resource_id}"
            f"&date={day.isoformat()}"
        )

    def get(self, path: str) -> Request:
        return Request("GET", path, {"Authorization": self.auth})

    def gets(self, paths: list[str]) -> Iterator[Request]:
        return (self.get(path) for path in cycle(paths))

    def hold(self, *, service_id: str, slot_id: str, email: str) -> Request:
        body = json.dumps(
            {
                "service": service_id,
                "slot": slot_id,
                "customer": {"name": "Bench Customer", "email": email, "phone": "+442079460000"},
                "notes": "",
            }
        )
        return Request(
            "POST",
            "/api/v1/bookings",
            {
                "Authorization": self.auth,
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            body.encode(),
        )


def free_slots(workload: Workload, count: int) -> list[tuple[str, str, dt.datetime]]:
    """(slot id, resource id, start) of `count` untouched slots on the free days, spread
    at random over resources and days."""
    tz = seeding.zone(seeding.BUSY_TZ)
    first = dt.datetime.combine(workload.free_days[0], dt.time(0), tzinfo=tz)
    rows = list(
        SlotInstance.objects.filter(
            starts_at__gte=first,
            booked=0,
            held=0,
            status=SlotInstance.Status.OPEN,
        ).values_list("id", "resource_id", "starts_at")
    )
    if len(rows) < count:
        raise RuntimeError(
            f"Only {len(rows)} free slots are left for holds (need {count}): holds of "
            "recent runs expire after 10 minutes, or run with --reseed."
        )
    random.Random().shuffle(rows)
    return [(str(slot), str(resource), start) for slot, resource, start in rows[:count]]


# --- Checks in the process -----------------------------------------------------------------


def counters_consistent() -> dict[str, int]:
    """Slots whose counters disagree with the bookings covering them (must be 0)."""
    sql = """
        SELECT count(*) AS slots,
               count(*) FILTER (WHERE s.booked <> coalesce(b.confirmed, 0)
                                   OR s.held <> coalesce(b.held, 0)
                                   OR s.held <> coalesce(h.holds, 0)) AS mismatched
        FROM calendars_slotinstance s
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE status = 'held') AS held
            FROM bookings_booking
            WHERE resource_id = s.resource_id AND starts_at < s.ends_at AND ends_at > s.starts_at
        ) b ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS holds FROM calendars_slothold WHERE slot_id = s.id
        ) h ON true
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        slots, mismatched = cursor.fetchone()
    return {"slots_checked": slots, "mismatched": mismatched}


def query_counts(workload: Workload, busy: Tenant) -> dict[str, Any]:
    """SQL statements of one request of each kind, served in this process through the
    whole middleware stack (tenant routing and API key included), on the resource's
    busiest booked day and on a day without bookings: with no availability answer
    cached, and repeated."""
    client = Client(HTTP_HOST=workload.host, HTTP_AUTHORIZATION=workload.auth)
    resource_id = workload.seed.resource_ids[0]
    booked_per_day: dict[dt.date, int] = {}
    tz = seeding.zone(seeding.BUSY_TZ)
    with tenant_context(busy):
        booked = list(
            SlotInstance.objects.filter(resource_id=resource_id, booked__gt=0).values_list(
                "starts_at", flat=True
            )
        )
    for starts_at in booked:
        day = starts_at.astimezone(tz).date()
        if day in workload.booked_days:
            booked_per_day[day] = booked_per_day.get(day, 0) + 1
    busy_day = max(booked_per_day, key=lambda day: booked_per_day[day])
    free_day = workload.free_days[0]
    cases = {
        f"slots, {booked_per_day[busy_day]} bookings that day": workload.slots_path(
            resource_id, busy_day
        ),
        "slots, no bookings that day": workload.slots_path(resource_id, free_day),
        "dates, 31 days": workload.dates_paths[0],
        "bare view": "/bench/bare",
    }
    client.get(workload.slots_paths[0])  # first call: imports, connection, key last used
    counted: dict[str, Any] = {}
    for label, path in cases.items():
        # Availability answers (and the scope they share) are cached: count a request
        # that computes its answer, then the same request again.
        with tenant_context(busy):
            cache.delete_pattern("availability*")  # type: ignore[attr-defined]
        use_public_schema()
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(path)
        with CaptureQueriesContext(connection) as again:
            client.get(path)
        counted[label] = {
            "status": answer.status_code,
            "queries": len(captured.captured_queries),
            "sql": [query["sql"][:160] for query in captured.captured_queries],
            "queries_when_cached": len(again.captured_queries),
        }
    use_public_schema()
    return counted


# Transaction control, which Django logs among the queries (it is not a statement of
# the hold's own).
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


def hold_cost(workload: Workload, busy: Tenant, *, holds: int = 12) -> dict[str, Any]:
    """POST bookings served in this process on free slots: time per hold, split into this
    thread's CPU (Python, with the driver's and the kernel's share of its calls) and the
    wall time spent in the database's calls, and the SQL statements of one (warm) hold,
    by kind."""
    with tenant_context(busy):
        slots = free_slots(workload, holds)
    client = Client(HTTP_HOST=workload.host, HTTP_AUTHORIZATION=workload.auth)
    tag = uuid.uuid4().hex[:8]
    times: list[float] = []
    cpu_times: list[float] = []
    database_times: list[float] = []
    statements: list[str] = []
    waited = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited[0] += time.perf_counter() - started

    for index, (slot_id, _, _) in enumerate(slots):
        request = workload.hold(
            service_id=workload.seed.service_id,
            slot_id=slot_id,
            email=f"in-process-{tag}-{index}@bench.test",
        )
        waited[0] = 0.0
        with CaptureQueriesContext(connection) as seen, connection.execute_wrapper(timed):
            started, cpu_started = time.perf_counter(), time.thread_time()
            answer = client.post(
                "/api/v1/bookings",
                data=request.body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=request.headers["Idempotency-Key"],
            )
            times.append(time.perf_counter() - started)
            cpu_times.append(time.thread_time() - cpu_started)
            database_times.append(waited[0])
        if answer.status_code != 201:
            raise RuntimeError(f"In-process hold answered {answer.status_code}: {answer.content!r}")
        if index == 1:
            statements = [query["sql"] for query in seen.captured_queries]
    use_public_schema()
    control = [sql for sql in statements if sql.strip().upper() in _TRANSACTION_CONTROL]
    statements = [sql for sql in statements if sql.strip().upper() not in _TRANSACTION_CONTROL]
    kinds = {
        "SET search_path": sum(sql.startswith("SET search_path") for sql in statements),
        "SAVEPOINT/RELEASE": sum(sql.startswith(("SAVEPOINT", "RELEASE")) for sql in statements),
        "audit log inserts": sum("auditlog_logentry" in sql for sql in statements),
        "content type lookups": sum(
            sql.startswith("SELECT") and "django_content_type" in sql for sql in statements
        ),
    }

    def median_ms(values: list[float]) -> float:
        return round(statistics.median(values[1:]) * 1000, 2)

    return {
        "ms_per_hold_median": median_ms(times),
        "cpu_ms_per_hold_median": median_ms(cpu_times),
        "database_calls_ms_per_hold_median": median_ms(database_times),
        "statements": len(statements),
        "transaction_control": len(control),
        "statements_by_kind": kinds,
        "sql": [sql[:120] for sql in statements],
    }


def profile_slots(workload: Workload, *, requests: int, stamp: str) -> dict[str, Any]:
    """cProfile of GET slots served in this process; the full listing goes to a file."""
    client = Client(HTTP_HOST=workload.host, HTTP_AUTHORIZATION=workload.auth)
    paths = workload.slots_paths
    for path in paths[:20]:
        client.get(path)

    def timed(path_list: list[str], count: int = requests) -> float:
        started = time.perf_counter()
        for index in range(count):
            client.get(path_list[index % len(path_list)])
        return (time.perf_counter() - started) / count * 1000

    bare_ms = timed(["/bench/bare"])
    dates_ms = timed(workload.dates_paths)
    slots_runs = [timed(paths, requests // 3) for _ in range(3)]
    slots_ms = statistics.mean(slots_runs)
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(requests):
        client.get(paths[index % len(paths)])
    profiler.disable()
    use_public_schema()
    listing = io.StringIO()
    stats = pstats.Stats(profiler, stream=listing).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    listing_path = OUT_DIR / f"profile-slots-{stamp}.txt"
    listing_path.write_text(listing.getvalue())
    top = io.StringIO()
    pstats.Stats(profiler, stream=top).strip_dirs().sort_stats("tottime").print_stats(8)
    lines = [line for line in top.getvalue().splitlines() if line.strip()][-9:]
    full = pstats.Stats(profiler)  # with whole paths, to tell same-named files apart
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = full.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())

    def share(function: str, file_part: str) -> float:
        spent = sum(v[3] for k, v in raw.items() if k[2] == function and k[0].endswith(file_part))
        return round(spent / total, 3)

    return {
        "in_process_ms_per_request": {
            "bare": round(bare_ms, 2),
            "slots": round(slots_ms, 2),
            "dates": round(dates_ms, 2),
        },
        "slots_time_share": {
            "fast read before DRF (apps/api/fast_reads.py, all of it)": share(
                "slots", "apps/api/fast_reads.py"
            ),
            "  its one Redis round trip (key, count, answer)": share(
                "_read", "apps/api/fast_reads.py"
            ),
            "  the answer from the cached values": share(
                "availability_slots_cached", "apps/calendars/availability/selectors.py"
            ),
            "tenant routing (domain lookup)": share(
                "process_request", "django_tenants/middleware/main.py"
            ),
            "API key check": share("authenticate", "apps/api/authentication.py"),
            "query parameters (DRF serializer)": share("query", "apps/api/views/base.py"),
            "service/resource lookups by id (view; only when not cached)": share(
                "resolve", "apps/api/views/catalogue.py"
            ),
            "availability_slots_of (selector, all of it)": share(
                "availability_slots_of", "apps/calendars/availability/selectors.py"
            ),
            "  cached answers (Redis round trip, unpickling)": share(
                "entry_get", "apps/calendars/availability/cache.py"
            ),
            "  building and compiling the slot-rows query": share(
                "_slot_rows", "apps/calendars/availability/selectors.py"
            ),
            "  free starts from the rows (Python)": share(
                "_resource_candidates", "apps/calendars/availability/selectors.py"
            ),
            "SET search_path before each statement (django-tenants)": share(
                "_handle_search_path", "django_tenants/postgresql_backend/base.py"
            ),
            "waiting for PostgreSQL (psycopg)": share("wait", "psycopg/connection.py"),
        },
        "profile_file": str(listing_path),
        "top_by_own_time": lines,
    }


# --- Measurements against gunicorn ----------------------------------------------------------


def backend_pids(database: str) -> list[int]:
    own = connection.cursor().connection.info.backend_pid
    with seeding.admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            [database, own],
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def warm_up(server: Gunicorn, workload: Workload) -> list[int]:
    for paths in (workload.bare_paths, workload.slots_paths, workload.dates_paths):
        open_loop(
            port=server.port,
            host=workload.host,
            requests=workload.gets(paths),
            rate=40,
            duration_s=1,
        )
    return backend_pids(server.database)


def storm(
    server: Gunicorn,
    pids: list[int],
    workload: Workload,
    *,
    service_id: str,
    capacity: int,
    slot: tuple[str, str, dt.datetime],
    round_no: int,
) -> dict[str, Any]:
    slot_id, resource_id, starts_at = slot
    requests = [
        workload.hold(
            service_id=service_id,
            slot_id=slot_id,
            email=f"storm-{capacity}-{round_no}-{n}-{uuid.uuid4().hex[:8]}@bench.test",
        )
        for n in range(STORM_CLIENTS)
    ]
    server.wait_idle()
    meter = CpuMeter(server, pids)
    run = burst(port=server.port, host=workload.host, requests=requests)
    cpu = meter.stop(load_generator_cpu_s=run.driver_cpu_s)
    codes = run.statuses()
    error_codes: dict[str, int] = {}
    for result in run.results:
        if result.status == 409:
            body = result.json() or {}
            code = str(body.get("error", {}).get("code"))
            error_codes[code] = error_codes.get(code, 0) + 1
    slot_row = SlotInstance.objects.get(pk=slot_id)
    bookings = Booking.objects.filter(
        resource_id=resource_id, starts_at=starts_at, status=Booking.Status.HELD
    ).count()
    holds = SlotHold.objects.filter(slot_id=uuid.UUID(slot_id)).count()
    latencies = [result.latency_s for result in run.results]
    problems = []
    if codes.get(201, 0) != capacity:
        problems.append(f"{codes.get(201, 0)} holds succeeded, expected {capacity}")
    if codes.get(409, 0) != STORM_CLIENTS - capacity:
        problems.append(
            f"{codes.get(409, 0)} answers were 409, expected {STORM_CLIENTS - capacity}"
        )
    if error_codes.get("SLOT_FULL", 0) != codes.get(409, 0):
        problems.append(f"409 codes {error_codes}, expected all SLOT_FULL")
    if any(code >= 500 or code == 0 for code in codes):
        problems.append(f"server errors or no answer: {codes}")
    if not (slot_row.held == bookings == holds == capacity):
        problems.append(
            f"database: slot held={slot_row.held}, held bookings={bookings}, "
            f"hold rows={holds}, expected {capacity} each"
        )
    slowest = max(latencies)
    return {
        "capacity": capacity,
        "statuses": {str(k): v for k, v in codes.items()},
        "error_codes": error_codes,
        "slot_held": slot_row.held,
        "held_bookings": bookings,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "max_ms": round(slowest * 1000, 1),
        "in_time": slowest < STORM_DEADLINE_S,
        "cpu": cpu.as_dict(),
        # Broken correctness (not timing, which is judged like every other target).
        "problems": problems,
    }


def _holds(
    workload: Workload, slots: list[tuple[str, str, dt.datetime]], *, tag: str
) -> Iterator[Request]:
    """One hold per slot, each by a new customer (`tag` keeps runs' addresses apart)."""
    run_tag = f"{tag}-{uuid.uuid4().hex[:8]}"
    return (
        workload.hold(
            service_id=workload.seed.service_id,
            slot_id=slot_id,
            email=f"{run_tag}-{n}@bench.test",
        )
        for n, (slot_id, _, _) in enumerate(slots)
    )


HOLDS_WARM_UP = 20


def holds_warm_up(
    server: Gunicorn, workload: Workload, slots: list[tuple[str, str, dt.datetime]]
) -> dict[str, Any]:
    """A few holds spread over the workers before the holds are measured: the first hold
    a worker serves loads what only holds use (modules, PostgreSQL's catalogue entries
    of the booking tables in its backend), a one-time cost that queued the first seconds
    of the open-loop run behind it. Its size is reported, not hidden."""
    run = open_loop(
        port=server.port,
        host=workload.host,
        requests=_holds(workload, slots, tag="hold-warm"),
        rate=10,
        duration_s=len(slots) / 10,
    )
    latencies = sorted(result.latency_s for result in run.results if result.status)
    return {
        "holds": len(run.results),
        "statuses": {str(k): v for k, v in run.statuses().items()},
        "slowest_ms": [round(latency * 1000, 1) for latency in latencies[-4:]],
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
    }


def holds_offered(
    server: Gunicorn,
    pids: list[int],
    workload: Workload,
    slots: list[tuple[str, str, dt.datetime]],
    plan: Plan,
) -> Figures:
    requests = _holds(workload, slots, tag="hold")
    figures, run = offer(
        name="POST bookings (hold)",
        server=server,
        backend_pids=pids,
        host=workload.host,
        requests=requests,
        rate=HOLDS_RATE,
        duration_s=plan.offered_s,
        keep_body=True,
    )
    codes: dict[str, int] = {}
    for result in run.results:
        if result.status != 201:
            body = result.json() or {}
            code = str(body.get("error", {}).get("code", result.error or result.status))
            codes[code] = codes.get(code, 0) + 1
    figures.extra["error_codes"] = codes
    return figures


def holds_saturated(
    server: Gunicorn,
    pids: list[int],
    workload: Workload,
    slots: list[tuple[str, str, dt.datetime]],
    *,
    duration_s: float,
) -> Figures:
    """Holds as fast as the server takes them: HOLD_CLIENTS clients each sending its
    next hold (on a slot of its own) as soon as the last is answered."""
    requests = _holds(workload, slots, tag="hold-sat")
    server.wait_idle()
    meter = CpuMeter(server, pids)
    run = closed_loop(
        port=server.port,
        host=workload.host,
        requests=requests,
        clients=HOLD_CLIENTS,
        duration_s=duration_s,
    )
    cpu = meter.stop(load_generator_cpu_s=run.driver_cpu_s)
    figures = summarise(
        "POST bookings (hold)", run, cpu, mode=f"saturation ({HOLD_CLIENTS} clients)"
    )
    figures.extra["slots_available"] = len(slots)
    return figures


# --- Deploys and periodic work at the seeded number of businesses ----------------------

ROLLOUT_TABLE = "bench_rollout_rolloutnote"
ROLLOUT_BATCH = 250


def _rollout_forget(dbname: str) -> float:
    """Drops what an earlier roll-out made (tests/bench/rollout) from every schema, in
    batches (one transaction each). Returns the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(**seeding.admin_conninfo(dbname)) as conn:
        schemas = [
            row[0]
            for row in conn.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = %s AND c.relkind = 'r'",
                [ROLLOUT_TABLE],
            )
        ]
        for offset in range(0, len(schemas), ROLLOUT_BATCH):
            with conn.transaction():
                for schema in schemas[offset : offset + ROLLOUT_BATCH]:
                    conn.execute(f'DROP TABLE "{schema}"."{ROLLOUT_TABLE}"')
                    conn.execute(
                        f'DELETE FROM "{schema}".django_migrations WHERE app = %s',  # noqa: S608
                        ["bench_rollout"],
                    )
        conn.execute("DELETE FROM public.django_migrations WHERE app = %s", ["bench_rollout"])
    return time.perf_counter() - started


def migration_rollout() -> dict[str, Any]:
    """One new tenant migration (tests/bench/rollout: a table and an index) rolled out
    by `setup_database` across every tenant schema of the bench database, as a deploy
    runs it; then taken away again."""
    dbname = seeding.bench_database()
    connections.close_all()
    earlier_s = _rollout_forget(dbname)
    env = os.environ | {
        "POSTGRES_DB": dbname,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "BENCH_ROLLOUT": "1",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "setup_database"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"setup_database failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    with psycopg.connect(**seeding.admin_conninfo(dbname)) as conn:
        tenants, migrated = conn.execute(
            "SELECT (SELECT count(*) FROM public.accounts_tenant WHERE schema_name <> 'public'), "
            "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            " WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname IN "
            " (SELECT schema_name FROM public.accounts_tenant))",
            [ROLLOUT_TABLE],
        ).fetchone() or (0, 0)
    cleanup_s = _rollout_forget(dbname)
    return {
        "seconds": round(seconds, 1),
        "tenant_schemas": tenants,
        "schemas_migrated": migrated,
        "earlier_rollout_removed_s": round(earlier_s, 1),
        "cleanup_s": round(cleanup_s, 1),
    }


def fan_out() -> dict[str, Any]:
    """What one beat tick of each due-driven entry costs at the seeded number of
    businesses: the claim's time and the tasks it would send, next to the businesses
    with that work due (counted separately); in a transaction rolled back. And one run
    of each hourly backstop, which reads every business."""
    use_public_schema()
    entries: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    kinds = sorted(
        {
            entry["args"][0]
            for entry in entries.values()
            if entry["task"] == "accounts.run_where_due"
        }
    )
    businesses = Tenant.objects.exclude(schema_name="public").count()
    ticks: dict[str, Any] = {}
    for kind in kinds:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM public.accounts_tenantworkdue w "
                    "JOIN public.accounts_tenant t ON t.schema_name = w.schema_name "
                    "WHERE w.kind = %s AND w.due_at <= now() AND t.is_ready",
                    [kind],
                )
                due = cursor.fetchone()[0]
            started = time.perf_counter()
            sent = work_due_claim(kind=kind)
            claim_ms = (time.perf_counter() - started) * 1000
            transaction.set_rollback(True)
        ticks[kind] = {"due": due, "tasks": len(sent), "claim_ms": round(claim_ms, 1)}
    backstops: dict[str, float] = {}
    for name, repair in (
        ("notifications.work_due_repair", notifications_work_due_repair),
        ("waitlist.work_due_repair", waitlist_work_due_repair),
    ):
        started = time.perf_counter()
        repair()
        backstops[name] = round(time.perf_counter() - started, 2)
    return {"businesses": businesses, "ticks": ticks, "backstops_s": backstops}


# What a request in a business plans: its booking, slot, customer, catalogue and audit
# tables (and their indexes, which the planner opens with them).
_TOUCHED_TABLES = (
    "bookings_booking",
    "bookings_customer",
    "calendars_slotinstance",
    "resources_service",
    "resources_resource",
    "resources_location",
    "auditlog_logentry",
)
_CATALOGUE_TABLES = ("pg_class", "pg_attribute", "pg_index", "pg_constraint", "pg_depend")
_BACKEND_MEMORY = "SELECT sum(total_bytes) FROM pg_backend_memory_contexts"


def catalogue_and_connections(*, touched: tuple[int, ...] = (1, 100, 1000)) -> dict[str, Any]:
    """The catalogue's size at the seeded number of businesses, and what one database
    connection holds after serving requests in many of them: PostgreSQL caches each
    table and index it plans for (per connection, for the connection's life), so a
    long-lived connection that has served every business holds all of their entries."""
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'pg_catalog' AND c.relname = ANY(%s)",
            [list(_CATALOGUE_TABLES)],
        )
        catalogue = {name: round(size / 2**20) for name, size in cursor.fetchall()}
        cursor.execute("SELECT pg_database_size(current_database())")
        database_mb = round(cursor.fetchone()[0] / 2**20)
    schemas = list(
        Tenant.objects.exclude(schema_name="public")
        .order_by("schema_name")
        .values_list("schema_name", flat=True)[: max(touched)]
    )
    settings_dict = connection.settings_dict
    memory: dict[str, float] = {}
    planning_ms: dict[str, float] = {}
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        autocommit=True,
    ) as fresh:

        def backend_mb() -> float:
            row = fresh.execute(_BACKEND_MEMORY).fetchone()
            return round(int(row[0] if row else 0) / 2**20, 1)

        memory["0"] = backend_mb()
        done = 0
        for count in sorted(touched):
            started = time.perf_counter()
            for schema in schemas[done:count]:
                for table in _TOUCHED_TABLES:
                    fresh.execute(
                        psycopg.sql.SQL("SELECT 1 FROM {} WHERE false").format(
                            psycopg.sql.Identifier(schema, table)
                        )
                    )
            if count > done:
                planning_ms[str(count)] = round(
                    (time.perf_counter() - started) * 1000 / (count - done), 2
                )
            done = count
            memory[str(count)] = backend_mb()
    first, last = min(touched), max(touched)
    per_business_kb = (memory[str(last)] - memory[str(first)]) * 1024 / max(1, last - first)
    return {
        "businesses": Tenant.objects.exclude(schema_name="public").count(),
        "database_mb": database_mb,
        "catalogue_mb": catalogue,
        "tables_touched_per_business": len(_TOUCHED_TABLES),
        "backend_mb_after_businesses": memory,
        "backend_kb_per_business": round(per_business_kb),
        "first_touch_ms_per_business": planning_ms,
    }


def _user_remove(user: User) -> None:
    """Django's cascade would also visit tenant tables (resources link to users), which
    the public schema lacks: the row goes by SQL, or stays if something refers to it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_user WHERE id = %s", [user.pk])
    except DatabaseError:
        logger.warning("bench.signup_user_kept", extra={"user_id": str(user.pk)})


def new_tenants(server: Gunicorn, count: int) -> dict[str, Any]:
    """Signup through the real services (the request, password hashing included, then
    the emailed link's confirmation that creates user and tenant), then the first
    request its new subdomain answers; the tenants are removed afterwards. Spare schemas
    are made first, as the fill task keeps them in production (apps/accounts/
    schema_pool.py); how long one copy takes is reported beside."""
    import urllib.request

    from apps.accounts import database_roles
    from apps.accounts.schema_pool import schema_pool_fill

    started = time.perf_counter()
    filled = schema_pool_fill(size=count)
    spare_s = (time.perf_counter() - started) / max(1, filled["added"])
    timings = []
    clone_seconds: list[float] = []
    original_clone = database_roles.tenant_schema_clone

    def timed_clone(*, schema_name: str) -> None:
        started = time.perf_counter()
        try:
            original_clone(schema_name=schema_name)
        finally:
            clone_seconds.append(time.perf_counter() - started)

    for n in range(count):
        slug = f"signup-{uuid.uuid4().hex[:10]}"
        started = time.perf_counter()
        make_password("bench-signup-Pa55word")
        hashing = time.perf_counter() - started
        started = time.perf_counter()
        database_roles.tenant_schema_clone = timed_clone
        try:
            token = signup_request(
                business_name=f"Signup {n}",
                slug=slug,
                email=f"{slug}@bench.test",
                password="bench-signup-Pa55word",
                timezone="Europe/London",
                confirm_url=lambda token: f"/signup/confirm/{token}/",
                login_url="/accounts/login/",
            )
            assert token is not None
            tenant, user = signup_confirm(token=token)
        finally:
            database_roles.tenant_schema_clone = original_clone
        signed_up = time.perf_counter() - started
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/v1/services",
            headers={"Host": f"{slug}.{settings.BASE_DOMAIN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            status = answer.status
        usable = time.perf_counter() - started
        timings.append(
            {
                "signup_s": round(signed_up, 3),
                "one_password_hash_s": round(hashing, 3),
                "of_which_schema_s": round(clone_seconds[-1], 3),
                "usable_s": round(usable, 3),
                "status": status,
            }
        )
        use_public_schema()
        tenant.delete(force_drop=True)  # memberships go with it
        _user_remove(user)
    usable_times = [t["usable_s"] for t in timings]
    return {
        "runs": timings,
        "median_s": round(statistics.median(usable_times), 3),
        "max_s": round(max(usable_times), 3),
        "spares_made_ahead": filled["added"],
        "one_spare_copy_s": round(spare_s, 3) if filled["added"] else None,
    }


def materialize(resources: int) -> dict[str, Any]:
    """resources_materialize over `resources` new resources of an otherwise empty tenant
    sharing one weekly rule, 90 days, committed per resource; removed afterwards."""
    tenant = Tenant.objects.get(slug=seeding.EMPTY_SLUG.format(seeding.EMPTY_TENANTS))
    with tenant_context(tenant):
        location = Location.objects.create(name="Materialization", timezone=seeding.BUSY_TZ)
        try:
            Resource.objects.bulk_create(
                Resource(name=f"Room {n}", location=location) for n in range(resources)
            )
            AvailabilityRule.objects.create(
                location=location,
                kind=AvailabilityRule.Kind.WEEKLY,
                days_of_week=[1, 2, 3, 4, 5],
                start_minute=9 * 60,
                end_minute=17 * 60,
                granularity_minutes=30,
            )
            located = list(Resource.objects.filter(location=location).select_related("location"))
            started = time.perf_counter()
            result = resources_materialize(resources=located, days=MATERIALIZE_DAYS)
            seconds = time.perf_counter() - started
        finally:
            SlotInstance.objects.filter(resource__location=location)._raw_delete(connection.alias)
            location.rules.all().delete()
            location.resources.all().delete()
            location.delete()
    return {
        "resources": resources,
        "days": MATERIALIZE_DAYS,
        "slots_created": result.created,
        "seconds": round(seconds, 2),
        "slots_per_s": round(result.created / seconds),
    }


# --- The run ---------------------------------------------------------------------------------


def run(*, quick: bool, reseed: bool, directory: bool = True) -> int:
    plan = Plan.quick() if quick else Plan.full()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a file name
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report = Report(stamp=stamp, quick=quick, out_dir=OUT_DIR)
    report.machine["load_at_start"] = load_average()

    say(f"Seeding (or reusing) {seeding.bench_database()} and {seeding.one_tenant_database()} ...")
    # The services log every booking and tenant they make; the figures are the output.
    logging.getLogger().setLevel(logging.WARNING)
    started = time.perf_counter()
    seed = seeding.seed_ensure(force=reseed, directory=directory)
    report.seed = {
        "reused": seed.reused,
        "seeded_on": seed.seeded_on,
        "this_run_s": round(time.perf_counter() - started, 1),
        "timings_when_seeded_s": {k: round(v, 1) for k, v in seed.timings.items()},
        "counts": seed.counts,
    }
    say(
        ("  reused the seed of " + seed.seeded_on if seed.reused else "  seeded")
        + f" ({report.seed['this_run_s']} s now; seeding took "
        + f"{seed.timings.get('total_s', 0):.0f} s: {report.seed['timings_when_seeded_s']})"
    )
    cache.client.get_client(write=True).flushdb()  # type: ignore[attr-defined]  # bench Redis DB
    workload = Workload(seed)
    busy = Tenant.objects.get(slug=seeding.BUSY_SLUG)
    with tenant_context(busy):
        expired = holds_expire()
        report.checks["expired_holds_swept_before_run"] = expired
        report.checks["slot_counters"] = counters_consistent()
        say(f"  slot counters vs bookings: {report.checks['slot_counters']}")
    report.checks["clone_matches_template"] = seeding.clone_matches_template(
        seeding.schema_name_for(seeding.EMPTY_SLUG.format(1))
    )

    say("Counting SQL per request and profiling GET slots in this process ...")
    report.queries = query_counts(workload, busy)
    report.profile = profile_slots(workload, requests=100 if quick else 300, stamp=stamp)
    report.profile["hold_in_process"] = hold_cost(workload, busy)
    if directory:
        report.directory["index_freshened"] = directory_bench.index_freshen()
        report.directory["queries"] = directory_bench.search_query_counts()
    else:
        report.directory["skipped"] = "--skip-directory: the directory workload is not seeded"
    connections.close_all()

    logs = OUT_DIR / f"gunicorn-{stamp}.log"
    with Gunicorn(database=seeding.bench_database(), log_path=logs) as server:
        say(
            f"gunicorn ({server.workers} sync workers) on 127.0.0.1:{server.port}, "
            f"database {server.database}"
        )
        pids = warm_up(server, workload)
        bare_rounds: list[Figures] = []
        slots_rounds: list[Figures] = []
        dates_rounds: list[Figures] = []
        for round_no in range(plan.saturation_rounds):
            say(f"  saturation round {round_no + 1}/{plan.saturation_rounds}: bare, slots, dates")
            for rounds, name, paths, auth in (
                (bare_rounds, "bare Django JSON view", workload.bare_paths, ""),
                (
                    slots_rounds,
                    "GET slots (1 resource, 1 day)",
                    workload.slots_paths,
                    workload.auth,
                ),
                (dates_rounds, "GET dates (31 days)", workload.dates_paths, workload.auth),
            ):
                rounds.append(
                    saturate(
                        name=name,
                        server=server,
                        backend_pids=pids,
                        host=workload.host,
                        paths=paths,
                        auth=auth,
                        duration_s=plan.saturation_s,
                    )
                )
        for rounds in (bare_rounds, slots_rounds, dates_rounds):
            report.add(merge_saturation(rounds[0].name, rounds))

        for name, paths, rate in (
            ("bare Django JSON view", workload.bare_paths, SLOTS_RATE),
            ("GET slots (1 resource, 1 day)", workload.slots_paths, SLOTS_RATE),
            ("GET dates (31 days)", workload.dates_paths, DATES_RATE),
        ):
            say(f"  {name} at {rate:g} req/s offered for {plan.offered_s:g} s")
            figures, _ = offer(
                name=name,
                server=server,
                backend_pids=pids,
                host=workload.host,
                requests=workload.gets(paths),
                rate=rate,
                duration_s=plan.offered_s,
            )
            report.add(figures)
        if directory:
            say(f"  {directory_bench.SEARCH} at {directory_bench.DIRECTORY_RATE:g} req/s offered")
            report.add(directory_bench.searched(server, pids, duration_s=plan.offered_s))

        connections.close_all()
        with tenant_context(busy):
            offered = round(HOLDS_RATE * plan.offered_s)
            saturating = HOLDS_SATURATION_MAX if not quick else 300
            slots = free_slots(workload, HOLDS_WARM_UP + offered + saturating + 2 * plan.storms)
            storm_slots, slots = slots[: 2 * plan.storms], slots[2 * plan.storms :]
            warm_slots, slots = slots[:HOLDS_WARM_UP], slots[HOLDS_WARM_UP:]
            hold_slots, saturation_slots = slots[:offered], slots[offered:]
            say(f"  {HOLDS_WARM_UP} holds to warm the workers up")
            report.checks["holds_warm_up"] = holds_warm_up(server, workload, warm_slots)
            say(f"  POST bookings (hold) at {HOLDS_RATE:g} req/s offered for {plan.offered_s:g} s")
            report.add(holds_offered(server, pids, workload, hold_slots, plan))
            say(f"  POST bookings (hold) at saturation, {HOLD_CLIENTS} clients")
            report.add(
                holds_saturated(
                    server, pids, workload, saturation_slots, duration_s=plan.saturation_s / 2
                )
            )
            for capacity, service_id in ((1, seed.service_id), (3, seed.group_service_id)):
                for round_no in range(plan.storms):
                    slot = storm_slots.pop()
                    outcome = storm(
                        server,
                        pids,
                        workload,
                        service_id=service_id,
                        capacity=capacity,
                        slot=slot,
                        round_no=round_no,
                    )
                    say(
                        f"  storm k={capacity} #{round_no + 1}: {outcome['statuses']}, "
                        f"slowest {outcome['max_ms']} ms"
                        + (f"  PROBLEMS: {outcome['problems']}" if outcome["problems"] else "")
                    )
                    report.storms.append(outcome)
            report.checks["slot_counters_after_writes"] = counters_consistent()
        use_public_schema()

        say(f"  new tenant: signup -> first answer from its subdomain, {plan.signups} times")
        report.new_tenant = new_tenants(server, plan.signups)

        say(
            f"Tenants in the database, 1 vs {seeding.EMPTY_TENANTS}: GET slots at "
            f"{TENANTS_RATE:g} req/s and at saturation, {plan.tenant_rounds} alternating rounds"
        )
        connections.close_all()
        with Gunicorn(database=seeding.one_tenant_database(), log_path=logs) as one_server:
            one_pids = warm_up(one_server, workload)
            connections.close_all()
            sides: dict[str, list[tuple[Figures, Any]]] = {"one": [], "many": []}
            saturated: dict[str, list[Figures]] = {"one": [], "many": []}
            for _ in range(plan.tenant_rounds):
                for side, target, target_pids in (
                    ("one", one_server, one_pids),
                    ("many", server, pids),
                ):
                    saturated[side].append(
                        saturate(
                            name="GET slots",
                            server=target,
                            backend_pids=target_pids,
                            host=workload.host,
                            paths=workload.slots_paths,
                            auth=workload.auth,
                            duration_s=plan.saturation_s / 2,
                        )
                    )
                    sides[side].append(
                        offer(
                            name="GET slots",
                            server=target,
                            backend_pids=target_pids,
                            host=workload.host,
                            requests=workload.gets(workload.slots_paths),
                            rate=TENANTS_RATE,
                            duration_s=plan.tenant_round_s,
                        )
                    )
            names = {
                "one": "GET slots, 1 tenant in the database",
                "many": f"GET slots, {seeding.EMPTY_TENANTS + 1} tenants in the database",
            }
            report.tenants = {side: merge(names[side], sides[side]) for side in names}
            report.tenants |= {
                f"{side}_saturation": merge_saturation(names[side], saturated[side])
                for side in names
            }

    say("The catalogue, and one connection's memory after serving many businesses ...")
    connections.close_all()
    report.catalogue = catalogue_and_connections()
    say(f"  {report.catalogue}")

    say("Periodic work at this size: one tick of each due-driven beat entry, the backstops ...")
    connections.close_all()
    report.fan_out = fan_out()
    say(f"  {report.fan_out}")
    if not quick:
        say("One new tenant migration rolled out across every schema (setup_database) ...")
        report.rollout = migration_rollout()
        say(f"  {report.rollout}")

    if directory:
        say("Directory index catch-up: a booking confirmed, Celery worker and beat running ...")
        connections.close_all()
        report.directory["catch_up"] = directory_bench.catch_up(
            database=seeding.bench_database(), log_dir=OUT_DIR, stamp=stamp
        )
    say(f"Slot materialization: {plan.materialize_resources} resources x {MATERIALIZE_DAYS} days")
    connections.close_all()
    meter_wall = time.perf_counter()
    report.materialization = materialize(plan.materialize_resources)
    report.materialization["wall_s"] = round(time.perf_counter() - meter_wall, 2)
    report.machine["load_at_end"] = load_average()
    cache.client.get_client(write=True).flushdb()  # type: ignore[attr-defined]
    return report.finish()
