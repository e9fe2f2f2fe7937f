"""`python -m tests.bench.directory_trial [--tenants 20 --listings 10 --reviews 100]`:
the directory's seed and figures (tests/bench/directory_seed.py, directory.py) on a
small scale, in a scratch database of their own (`timenest_dirbench_try`: the
development database copied when idle, else migrated from zero) with its own Celery
queue and beat lock, to try them end to end without the full bench. Not a measurement
for the record: `make bench` is."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

import psycopg

SCRATCH_DATABASE = "timenest_dirbench_try"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.directory_trial")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--listings", type=int, default=10)
    parser.add_argument("--reviews", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0, help="the offered-load run")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded scratch database")
    parser.add_argument(
        "--migrated", action="store_true", help="the scratch database exists, migrated: seed it"
    )
    parser.add_argument("--drop", action="store_true", help="drop the scratch database after")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "POSTGRES_DB": SCRATCH_DATABASE,
        "CELERY_QUEUE": f"dirbench-try-{tag}",
        "CELERY_BEAT_LOCK_KEY": f"dirbench-try-{tag}:celery-beat-lock",
        "CACHE_KEY_PREFIX": "dirbench-try",
    }
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from apps.accounts.provisioning import database_setup
    from tests.bench import directory as directory_bench
    from tests.bench import seed as seeding
    from tests.bench.directory_seed import DirectorySize, directory_seed
    from tests.bench.driver import Request
    from tests.bench.loads import offer
    from tests.bench.run import OUT_DIR, backend_pids
    from tests.bench.server import Gunicorn

    logging.getLogger().setLevel(logging.WARNING)
    size = DirectorySize(tenants=args.tenants, listings=args.listings, reviews=args.reviews)
    timings: dict[str, float] = {}
    if not args.reuse:
        if not args.migrated:
            started = time.perf_counter()
            how = seeding._database_create(SCRATCH_DATABASE)
            database_setup(verbosity=0)
            timings["database_s"] = time.perf_counter() - started
            print(f"{SCRATCH_DATABASE}: {how}", flush=True)  # noqa: T201
        started = time.perf_counter()
        _tenants_create(size.tenants, seeding.EMPTY_SLUG)
        timings["tenants_s"] = time.perf_counter() - started
        part = directory_seed(size=size, slug_pattern=seeding.EMPTY_SLUG, progress=True)
        print(f"directory seed: {json.dumps(part)}", flush=True)  # noqa: T201
    stamp = f"dirbench-try-{tag}"
    directory: dict[str, object] = {}
    directory["index_freshened"] = directory_bench.index_freshen()
    counts = directory["queries"] = directory_bench.search_query_counts()
    for label, entry in counts.items():
        print(  # noqa: T201
            f"  {label}: {entry['queries']} queries, HTTP {entry['status']}, "
            f"{entry['results']} results"
        )
    connections.close_all()
    with Gunicorn(database=SCRATCH_DATABASE, log_path=OUT_DIR / f"gunicorn-{stamp}.log") as server:
        directory_bench.searched(server, [], duration_s=1)  # connections made
        pids = backend_pids(SCRATCH_DATABASE)
        figures = directory_bench.searched(server, pids, duration_s=args.seconds)
        # The bare Django view (tests/bench/urls.py) at the same rate, on a tenant's host.
        bare, _ = offer(
            name="bare Django JSON view",
            server=server,
            backend_pids=pids,
            host=f"{seeding.EMPTY_SLUG.format(1)}.{settings.BASE_DOMAIN}",
            requests=(Request("GET", "/bench/bare") for _ in iter(int, 1)),
            rate=directory_bench.DIRECTORY_RATE,
            duration_s=args.seconds,
        )
    print(f"search: {json.dumps(figures.as_dict())}", flush=True)  # noqa: T201
    print(f"bare: {json.dumps(bare.as_dict())}", flush=True)  # noqa: T201
    connections.close_all()
    directory["catch_up"] = directory_bench.catch_up(
        database=SCRATCH_DATABASE, log_dir=OUT_DIR, stamp=stamp
    )
    print(f"catch-up: {json.dumps(directory['catch_up'])}", flush=True)  # noqa: T201
    print(f"seed timings: {json.dumps({k: round(v, 1) for k, v in timings.items()})}")  # noqa: T201
    print("\nrows of the report (small scale, not the full-size figures):")  # noqa: T201
    for row in directory_bench.target_rows(figures=figures, bare=bare, directory=directory):
        print("  " + " | ".join(row))  # noqa: T201
    if args.drop:
        connections.close_all()
        with seeding.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
    return 0


def _tenants_create(count: int, slug_pattern: str) -> None:
    """The bench's tenants, made one by one by `tenant_create` (a few: the bench's bulk
    copy of schemas is for its 1,000), after any left by an earlier try."""
    from apps.accounts.models import Tenant, User
    from apps.accounts.services import tenant_create
    from apps.accounts.subdomains import schema_name_for
    from tests.bench import seed as seeding

    conninfo = seeding.admin_conninfo(SCRATCH_DATABASE)

    leftovers = [schema_name_for(slug_pattern.format(n + 1)) for n in range(count)]
    leftovers.append(seeding.MODEL_SCHEMA)
    with psycopg.connect(**conninfo) as conn:
        for schema in leftovers:
            if not Tenant.objects.filter(schema_name=schema).exists():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for n in range(count):
        slug = slug_pattern.format(n + 1)
        if Tenant.objects.filter(slug=slug).exists():
            continue
        owner = User.objects.create_user(email=f"owner@{slug}.bench.test", password=None)
        tenant_create(slug=slug, name=f"Bench business {n + 1}", owner=owner)


if __name__ == "__main__":
    sys.exit(main())
