"""The directory's figures (PRODUCT.md §7, "directory search"), measured on the workload
of tests/bench/directory_seed.py:

- `GET /api/v1/directory/providers` on the root domain with text + language + radius
  filters, varied queries, at DIRECTORY_RATE offered (open loop, like every offered
  figure): p95 ≤ 50 ms;
- the SQL statements of one search, over searches of different shapes (text only,
  text + language + radius, sorted by distance, a rating filter, a second page): the
  same number for all;
- index catch-up: a booking confirmed through the real services (`booking_hold` +
  `booking_confirm`) in one listed business, with a real Celery worker and beat
  running as `make run` runs them, until the business's index row shows it: ≤ 60 s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.core.tenancy import use_public_schema
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild
from apps.directory.taxonomy import SPECIALIZATIONS
from apps.resources.models import Resource, Service
from tests.bench.directory_seed import CITIES, City
from tests.bench.driver import Request, cycle, open_loop
from tests.bench.loads import Figures, offer
from tests.bench.server import Gunicorn

DIRECTORY_RATE = 50.0
SEARCH = "GET directory providers (text + language + radius)"
PATH = "/api/v1/directory/providers"
CATCH_UP_TIMEOUT_S = 180.0
ROOT = Path(__file__).resolve().parents[2]
ACTOR = ActorRef.system("bench directory")
CONTEXT = "context: "


def _query(**params: Any) -> str:
    return f"{PATH}?{urllib.parse.urlencode(params)}"


def _words() -> list[str]:
    """What people type: a specialization's label or one of its synonyms."""
    words: list[str] = []
    for spec in SPECIALIZATIONS:
        words.append(str(spec.label).split()[0].lower())
        words.extend(spec.synonyms[:3])
    return words


def _near(rng: random.Random, city: City) -> str:
    latitude = city.latitude + rng.uniform(-0.03, 0.03)
    longitude = city.longitude + rng.uniform(-0.04, 0.04)
    return f"{latitude:.4f},{longitude:.4f}"


def search_paths(count: int = 300) -> list[str]:
    """Varied searches with text, a language and a radius (a few sorted by distance or
    rating), around the seeded cities; fixed by a seed so runs are comparable."""
    rng = random.Random(15)
    words = _words()
    paths = []
    for _ in range(count):
        city = rng.choice(CITIES)
        params: dict[str, Any] = {
            "q": rng.choice(words),
            "language": city.languages[0] if rng.random() < 0.6 else rng.choice(city.languages),
            "near": _near(rng, city),
            "radius_km": rng.choice((5, 10, 15, 25)),
        }
        sort = rng.choice(("relevance",) * 6 + ("distance", "rating"))
        if sort != "relevance":
            params["sort"] = sort
        paths.append(_query(**params))
    return paths


def search_requests(paths: list[str]) -> Iterator[Request]:
    return (Request("GET", path) for path in cycle(paths))


def searched(server: Gunicorn, pids: list[int], *, duration_s: float) -> Figures:
    """The open-loop figure (after a second of warm-up); answers other than 200 show
    in its statuses."""
    paths = search_paths()
    open_loop(
        port=server.port,
        host=settings.BASE_DOMAIN,
        requests=search_requests(paths[::7]),
        rate=20,
        duration_s=1,
    )
    figures, _ = offer(
        name=SEARCH,
        server=server,
        backend_pids=pids,
        host=settings.BASE_DOMAIN,
        requests=search_requests(paths),
        rate=DIRECTORY_RATE,
        duration_s=duration_s,
    )
    return figures


def search_query_counts() -> dict[str, Any]:
    """SQL statements of one search of each shape, served in this process through the
    whole middleware stack (root-domain routing and the rate limiter included)."""
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    london, berlin, lisbon = CITIES[0], CITIES[1], CITIES[3]
    near = f"{london.latitude},{london.longitude}"
    cases = {
        "text only": _query(q="physio"),
        "text + language + radius": _query(
            q="dentist", language="de", near=f"{berlin.latitude},{berlin.longitude}", radius_km=15
        ),
        "text + radius, sort=distance": _query(
            q="massage", near=near, radius_km=20, sort="distance"
        ),
        "text + rating filter, sort=rating": _query(q="yoga", min_rating=4, sort="rating"),
        # Without words the total is a count of its own (ARCHITECTURE.md, "Cost per
        # search"): shown, not judged with the searches the target names.
        f"{CONTEXT}language + radius, no text": _query(
            language="pt", near=f"{lisbon.latitude},{lisbon.longitude}", radius_km=25
        ),
    }
    broad = {"q": "consultation", "near": near, "radius_km": 40, "per_page": 5}
    use_public_schema()
    client.get(cases["text only"])  # first call: imports, connection
    first = client.get(_query(**broad)).json()
    if first.get("pagination", {}).get("total_pages", 0) >= 2:
        cases["text + radius, page 2"] = _query(**broad, page=2)
    counted: dict[str, Any] = {}
    for label, path in cases.items():
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(path)
        body = answer.json() if answer.status_code == 200 else {}
        counted[label] = {
            "path": path,
            "status": answer.status_code,
            "results": body.get("pagination", {}).get("total"),
            "queries": len(captured.captured_queries),
            "sql": [query["sql"][:160] for query in captured.captured_queries],
        }
    use_public_schema()
    return counted


def index_freshen() -> dict[str, Any]:
    """Rebuilds, in this process, the index rows that the periodic repair would rebuild
    (a next free start passed, older than DIRECTORY_MAX_AGE_HOURS): a reused seed is
    days old, and the catch-up is measured on a current index, not behind a repair
    backlog. Returns how many businesses and how long."""
    now = timezone.now()
    max_age = dt.timedelta(hours=int(settings.DIRECTORY_MAX_AGE_HOURS))
    stale = list(
        DirectoryEntry.objects.filter(Q(next_free_at__lt=now) | Q(refreshed_at__lt=now - max_age))
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    started = time.perf_counter()
    for tenant in Tenant.objects.filter(pk__in=stale):
        with tenant_context(tenant):
            directory_index_rebuild(tenant=tenant)
    use_public_schema()
    return {"businesses_rebuilt": len(stale), "seconds": round(time.perf_counter() - started, 1)}


class _Celery:
    """A Celery worker or beat as config/local/Procfile runs them, against `database`,
    in its own process group (stopped by its own pid only)."""

    def __init__(self, role: str, *, database: str, log_path: Path) -> None:
        args = ["worker", "--concurrency=2", "--without-gossip", "--without-mingle"]
        self.command = [sys.executable, "-m", "celery", "-A", "config"]
        self.command += args if role == "worker" else ["beat"]
        self.command += ["--loglevel=INFO"]
        self.env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "POSTGRES_DB": database,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> _Celery:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _wait_for(text: str, process: _Celery, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in process.log():
            return True
        assert process.process is not None
        if process.process.poll() is not None:
            raise RuntimeError(f"Celery exited; see {process.log_path}")
        time.sleep(0.5)
    return False


def _listed_entry() -> DirectoryEntry:
    entry = (
        DirectoryEntry.objects.filter(next_free_at__isnull=False, tenant__live_at__isnull=False)
        .select_related("tenant")
        .order_by("tenant__slug", "name")
        .first()
    )
    if entry is None:
        raise RuntimeError("No listed provider with a free start: reseed the directory.")
    return entry


def catch_up(*, database: str, log_dir: Path, stamp: str) -> dict[str, Any]:
    """Starts a Celery worker and beat, books the next free start of one listed
    provider through the real services, and times until the provider's index row is
    rebuilt (its refreshed_at moves; its next free start moves too)."""
    use_public_schema()
    entry = _listed_entry()
    tenant = entry.tenant
    # Its rows as of now: the free start booked below is past the minimum notice.
    with tenant_context(tenant):
        directory_index_rebuild(tenant=tenant)
    use_public_schema()
    entry = DirectoryEntry.objects.select_related("tenant").get(
        tenant=tenant, resource_id=entry.resource_id
    )
    worker = _Celery("worker", database=database, log_path=log_dir / f"worker-{stamp}.log")
    beat = _Celery("beat", database=database, log_path=log_dir / f"beat-{stamp}.log")
    worker.start()
    beat.start()
    try:
        if not _wait_for(" ready.", worker, timeout_s=90) or not _wait_for(
            "beat: Starting", beat, timeout_s=60
        ):
            raise RuntimeError(f"Celery did not start; see {worker.log_path}, {beat.log_path}")
        starts_at, refreshed_at = entry.next_free_at, entry.refreshed_at
        if starts_at is None:
            raise RuntimeError(f"{tenant.slug}'s provider has no free start left: reseed.")
        with tenant_context(tenant):
            resource = Resource.objects.get(pk=entry.resource_id)
            service = Service.objects.filter(resources=resource, is_active=True).order_by(
                "price", "name"
            )[0]
            held = booking_hold(
                service=service,
                resource=resource,
                starts_at=starts_at,
                customer=CustomerInput(
                    name="Bench Catch-up", email=f"catch-up-{uuid.uuid4().hex[:8]}@bench.test"
                ),
                source=Booking.Source.API,
                actor=ACTOR,
            )
            booking_confirm(booking=held, actor=ACTOR)
        confirmed = time.perf_counter()
        use_public_schema()
        after = entry
        while time.perf_counter() - confirmed < CATCH_UP_TIMEOUT_S:
            after = DirectoryEntry.objects.only("refreshed_at", "next_free_at").get(pk=entry.pk)
            if after.refreshed_at != refreshed_at:
                break
            time.sleep(0.25)
        seconds = time.perf_counter() - confirmed
        caught_up = after.refreshed_at != refreshed_at
    finally:
        beat.stop()
        worker.stop()
    return {
        "business": tenant.slug,
        "booked_start": starts_at.isoformat(),
        "seconds": round(seconds, 1) if caught_up else None,
        "caught_up": caught_up,
        "next_free_at_after": after.next_free_at.isoformat() if after.next_free_at else None,
        "debounce_s": settings.DIRECTORY_REFRESH_DEBOUNCE_SECONDS,
        "dispatch_every_s": settings.CELERY_BEAT_SCHEDULE["directory-dispatch"]["schedule"],
        "timeout_s": CATCH_UP_TIMEOUT_S,
    }


def target_rows(
    *, figures: Figures | None, bare: Figures | None, directory: dict[str, Any]
) -> list[tuple[str, str, str, str]]:
    """The directory's rows of the report's targets table."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rows: list[tuple[str, str, str, str]] = []
    if figures is not None:
        beside = f"; bare view {bare.p95_ms:.1f} ms at {bare.mode}" if bare else ""
        ok = figures.p95_ms <= 50 and set(figures.statuses) == {"200"}
        rows.append(
            (
                f"directory search p95 at {figures.mode.removeprefix('offered ')} offered",
                f"{figures.p95_ms:.1f} ms (p50 {figures.p50_ms:.1f}, p99 {figures.p99_ms:.1f}; "
                f"{figures.statuses}{beside})",
                "<= 50 ms",
                verdict(ok),
            )
        )
    counts = directory.get("queries") or {}
    judged = {k: v for k, v in counts.items() if not k.startswith(CONTEXT)}
    if judged:
        numbers = [entry["queries"] for entry in judged.values()]
        ok = min(numbers) == max(numbers) and all(e["status"] == 200 for e in counts.values())
        context = "".join(
            f"; {k.removeprefix(CONTEXT)}: {v['queries']}"
            for k, v in counts.items()
            if k.startswith(CONTEXT)
        )
        rows.append(
            (
                f"SQL statements per directory search ({len(numbers)} shapes)",
                f"min {min(numbers)}, max {max(numbers)}{context}",
                "the same for all",
                verdict(ok),
            )
        )
    caught = directory.get("catch_up")
    if caught:
        seconds = caught["seconds"]
        rows.append(
            (
                "directory index catch-up after a booking",
                f"{seconds:.1f} s"
                if seconds is not None
                else f"not within {caught['timeout_s']} s",
                "<= 60 s",
                verdict(seconds is not None and seconds <= 60),
            )
        )
    return rows
