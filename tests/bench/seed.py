"""The benchmark's workload, in databases of its own, kept between runs.

Two databases with the same busy tenant:

- `<bench>_one` holds only the busy tenant (the "1 tenant" side of PRODUCT.md §7);
- `<bench>` (settings' POSTGRES_DB, `timenest_bench`) holds it plus 1,000 mostly empty
  tenants; every other figure is measured there.

The busy tenant (`busy.localhost`): one location (Europe/London), 20 resources, a
30-minute one-to-one service and a 30-minute group class of 3 (for the k=3 storm), a
Mon-Fri 09:00-17:00 weekly rule on a 30-minute grid, slots materialized 90 days ahead,
and 300 confirmed bookings per resource spread over the first 60 days, each made by the
real services (`booking_hold` then `booking_confirm`: locks, counters, history,
notification outbox). Days 61 to 90 stay free for the hold and storm tests.

The 1,000 tenants: `tenant_create` clones the template schema with django-tenants' SQL
function `clone_schema` (reinstalling its 4,000 lines first) and then runs
`migrate_schemas --fake`, which has nothing to do because the clone copies the template's
`django_migrations` rows. The clone function reads the catalogue so much that its cost
grows with the number of schemas (about 0.1 s with a few tenants, 0.6 s with 1,000), so
1,000 clones take many minutes. Here one schema is made by that same function, dumped
with pg_dump (structure and rows) and replayed under each new name, in batches on two
connections (about 0.05 s a schema); the tenant, domain, owner and membership rows are
written in bulk. Checked after seeding: the first and last copies hold what the clone
holds, compared in the catalogue (tables, owners, grants, columns, defaults, indexes,
constraints, triggers, sequence bounds and every row; see `schema_description`).

A seed marker (JSON in the databases' COMMENT) records the seed version, a hash of the
migration files, when it was seeded and how long each step took. A run reuses the
databases when the marker matches and the seed is less than MAX_SEED_AGE_DAYS old (the
booked days must still lie ahead), applying with `setup_database` what migrations came
since; otherwise it drops and seeds them again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import tenant_context

from apps.accounts.backups.postgres_clients import client_program
from apps.accounts.models import Domain, Membership, Tenant, User
from apps.accounts.provisioning import database_setup, schema_constraint_names_restore
from apps.accounts.services import tenant_create
from apps.accounts.subdomains import schema_name_for
from apps.api.services import api_key_create
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.grid.services import resources_materialize
from apps.calendars.models import SlotInstance
from apps.calendars.rules.services import availability_rule_create
from apps.calendars.timezones import local_date, zone
from apps.resources.models import Resource
from apps.resources.services import location_create, resource_create, service_create
from tests.bench.directory_seed import DirectorySize, directory_part_matches, directory_seed

logger = logging.getLogger(__name__)

SEED_VERSION = 2
BUSY_SLUG = "busy"
BUSY_TZ = "Europe/London"
RESOURCES = 20
BOOKINGS_PER_RESOURCE = 300
BOOKED_DAYS = 60
HORIZON_DAYS = 90
CUSTOMERS = 2000
EMPTY_TENANTS = 9999  # with the busy tenant: 10,000 businesses
EMPTY_SLUG = "bench-{:04d}"
CLONE_BATCH = 25
CLONE_CONNECTIONS = 2
MAX_SEED_AGE_DAYS = 14
DEV_DATABASE = "timenest"  # cloned (when idle) instead of migrating from zero
# The directory workload in the first tenants of EMPTY_SLUG (tests/bench/directory_seed.py).
DIRECTORY_SIZE = DirectorySize(tenants=1000)

ACTOR = ActorRef.system("bench seed")


@dataclass
class Seed:
    """What the runs need to know about the seeded workload."""

    host: str
    api_key: str
    service_id: str
    group_service_id: str
    resource_ids: list[str]
    seeded_on: str  # ISO date of the seeding (day 0)
    booked_days: list[str]  # weekdays carrying the seeded bookings
    free_days: list[str]  # weekdays after them, left free for holds and storms
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reused: bool = False


# --- Databases -----------------------------------------------------------------------


def bench_database() -> str:
    return str(settings.DATABASES["default"]["NAME"])


def one_tenant_database() -> str:
    return f"{bench_database()}_one"


def admin_conninfo(dbname: str) -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "dbname": dbname,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "host": db["HOST"],
        "port": db["PORT"],
        "autocommit": True,
    }


@contextmanager
def admin() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(**admin_conninfo("postgres")) as conn:
        yield conn


def _database_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
    )


def _marker_read(name: str) -> dict[str, Any] | None:
    with admin() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        marker = json.loads(row[0])
    except ValueError:
        return None
    return marker if isinstance(marker, dict) else None


def _marker_write(name: str, marker: dict[str, Any]) -> None:
    text = json.dumps(marker).replace("'", "''")
    with admin() as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")


def migrations_fingerprint() -> str:
    """Changes whenever a migration file is added or removed: the seed is then redone."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(f"{app}.{name}" for app, name in loader.disk_migrations)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _expected_marker_base() -> dict[str, Any]:
    return {
        "kind": "timenest-bench",
        "version": SEED_VERSION,
        "migrations": migrations_fingerprint(),
        "sizes": [RESOURCES, BOOKINGS_PER_RESOURCE, BOOKED_DAYS, EMPTY_TENANTS],
    }


def _drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_create(name: str) -> str:
    """A migrated copy of the development database stripped of its tenants when that
    database is idle and made by the bench's own role (seconds), else an empty one that
    `database_setup` migrates."""
    with admin() as conn:
        _drop_database(conn, name)
        if _database_exists(conn, DEV_DATABASE) and _single_role(DEV_DATABASE):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{DEV_DATABASE}"')
            except psycopg.Error as exc:
                logger.warning("bench.clone_dev_database_failed: %s", exc)
            else:
                _strip_tenants(name)
                return "cloned from the development database"
        conn.execute(f'CREATE DATABASE "{name}"')
    return "migrated from zero"


def _single_role(name: str) -> bool:
    """Whether the bench's own role owns `name`'s template schema. A development
    database with the owner and serving roles split (ARCHITECTURE.md "Database roles")
    carries their grants and default privileges, which the bench, one role doing both,
    would not give the schemas it makes: such a database is not copied."""
    with psycopg.connect(**admin_conninfo(name)) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s",
            [settings.TENANT_BASE_SCHEMA],
        ).fetchone()
    return row is not None and row[0] == settings.DATABASES["default"]["USER"]


def _strip_tenants(name: str) -> None:
    with psycopg.connect(**admin_conninfo(name)) as conn:
        schemas = conn.execute(
            "SELECT schema_name FROM accounts_tenant WHERE schema_name <> 'public'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        # The CASCADE reaches the append-only model history (its actors are users),
        # which refuses a TRUNCATE unless this session replays as a replica.
        conn.execute("SET session_replication_role = replica")
        conn.execute("TRUNCATE accounts_user, django_session CASCADE")
        # Replica mode skips foreign keys: the directory's rows of the removed tenants
        # would stay behind.
        conn.execute("TRUNCATE directory_index_directoryentry, directory_index_directoryrefresh")
        conn.execute(
            "DELETE FROM accounts_domain WHERE tenant_id IN "
            "(SELECT id FROM accounts_tenant WHERE schema_name <> 'public')"
        )
        conn.execute("DELETE FROM accounts_tenant WHERE schema_name <> 'public'")


# --- The busy tenant -------------------------------------------------------------------


def _weekdays(first: dt.date, count: int) -> list[dt.date]:
    return [
        first + dt.timedelta(days=offset)
        for offset in range(count)
        if (first + dt.timedelta(days=offset)).isoweekday() <= 5
    ]


def busy_tenant_seed(*, progress: bool = True) -> tuple[Seed, dict[str, float]]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    owner = User.objects.create_user(email=f"owner@{BUSY_SLUG}.bench.test", password=None)
    tenant = tenant_create(slug=BUSY_SLUG, name="Busy Clinic", owner=owner, timezone=BUSY_TZ)
    with tenant_context(tenant):
        location = location_create(name="Main street", timezone=BUSY_TZ)
        resources = [
            resource_create(name=f"Practitioner {n + 1:02d}", location=location)
            for n in range(RESOURCES)
        ]
        service = service_create(name="Consultation", duration_minutes=30, resources=resources)
        group = service_create(
            name="Group class", duration_minutes=30, capacity=3, resources=resources
        )
        availability_rule_create(
            kind="weekly",
            location=location,
            days_of_week=[1, 2, 3, 4, 5],
            start_time="09:00",
            end_time="17:00",
            granularity_minutes=30,
        )
        _, api_key = api_key_create(role="admin", name="bench")
        timings["busy_tenant_create_s"] = time.perf_counter() - started

        started = time.perf_counter()
        located = list(
            Resource.objects.filter(pk__in=[r.pk for r in resources]).select_related("location")
        )
        materialized = resources_materialize(resources=located, days=HORIZON_DAYS)
        timings["busy_materialize_s"] = time.perf_counter() - started

        today = local_date(timezone.now(), zone(BUSY_TZ))
        booked_days = _weekdays(today + dt.timedelta(days=1), BOOKED_DAYS)
        free_days = _weekdays(
            today + dt.timedelta(days=BOOKED_DAYS + 1), HORIZON_DAYS - BOOKED_DAYS - 1
        )

        started = time.perf_counter()
        made = _bookings_seed(
            service_id=service.pk, resources=located, days=booked_days, progress=progress
        )
        timings["busy_bookings_s"] = time.perf_counter() - started
        counts = {
            "slots": materialized.created,
            "bookings": made,
            "resources": len(resources),
        }
    seed = Seed(
        host=f"{BUSY_SLUG}.{settings.BASE_DOMAIN}",
        api_key=api_key,
        service_id=str(service.pk),
        group_service_id=str(group.pk),
        resource_ids=[str(r.pk) for r in resources],
        seeded_on=today.isoformat(),
        booked_days=[d.isoformat() for d in booked_days],
        free_days=[d.isoformat() for d in free_days],
        counts=counts,
    )
    return seed, timings


def _bookings_seed(
    *, service_id: Any, resources: list[Resource], days: list[dt.date], progress: bool
) -> int:
    """BOOKINGS_PER_RESOURCE confirmed bookings per resource on random free slots of
    `days`, each through booking_hold + booking_confirm."""
    from apps.resources.models import Service

    service = Service.objects.get(pk=service_id)
    rng = random.Random(20260301)
    tz = zone(BUSY_TZ)
    first = dt.datetime.combine(days[0], dt.time(0), tzinfo=tz)
    last = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    made = 0
    for index, resource in enumerate(resources):
        starts = list(
            SlotInstance.objects.filter(
                resource=resource, starts_at__gte=first, starts_at__lt=last, booked=0, held=0
            )
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
        )
        for starts_at in sorted(rng.sample(starts, min(BOOKINGS_PER_RESOURCE, len(starts)))):
            customer_no = rng.randrange(CUSTOMERS)
            held = booking_hold(
                service=service,
                resource=resource,
                starts_at=starts_at,
                customer=CustomerInput(
                    name=f"Customer {customer_no}",
                    email=f"customer{customer_no}@bench.test",
                    phone=f"+4420790{customer_no:05d}",
                ),
                source=Booking.Source.API,
                actor=ACTOR,
            )
            booking_confirm(booking=held, actor=ACTOR)
            made += 1
        if progress:
            print(  # noqa: T201
                f"  bookings: resource {index + 1}/{len(resources)} done ({made} so far)",
                flush=True,
            )
    return made


# --- The 1,000 mostly empty tenants --------------------------------------------------------

MODEL_SCHEMA = "bench_clone_model"


def schema_dump(schema: str, *, dbname: str) -> str:
    """pg_dump of one schema (structure, owners, grants and rows as INSERTs), without
    comments and psql commands: SQL a plain connection can run."""
    db = settings.DATABASES["default"]
    command = [client_program("pg_dump"), "-h", str(db["HOST"]), "-p", str(db["PORT"])]
    command += ["-U", str(db["USER"]), "-d", dbname, "-n", schema]
    command += ["--inserts", "--rows-per-insert=1000"]
    dump = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\", "--")))


_CATALOGUE_SQL = """
    SELECT format('table %%s %%s %%s %%s', c.relname, c.relkind, pg_get_userbyid(c.relowner),
                  coalesce(c.relacl, acldefault(
                      CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r' END, c.relowner)))
    FROM pg_class c WHERE c.relnamespace = %(ns)s
    UNION ALL
    SELECT format('column %%s.%%s %%s notnull=%%s identity=%%s default=%%s', c.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                  pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = %(ns)s AND c.relkind IN ('r', 'p')
    UNION ALL
    SELECT format('index %%s %%s unique=%%s primary=%%s keys=%%s partial=%%s am=%%s', t.relname,
                  i.relname, x.indisunique, x.indisprimary, x.indkey, x.indpred IS NOT NULL,
                  am.amname)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_am am ON am.oid = i.relam
    WHERE t.relnamespace = %(ns)s
    UNION ALL
    SELECT format('constraint %%s %%s %%s keys=%%s ops=%%s refs=%%s%%s deferrable=%%s/%%s %%s',
                  t.relname, k.conname, k.contype, k.conkey, k.conexclop, f.relname, k.confkey,
                  k.condeferrable, k.condeferred,
                  CASE WHEN k.contype = 'c' THEN pg_get_constraintdef(k.oid) END)
    FROM pg_constraint k
    JOIN pg_class t ON t.oid = k.conrelid
    LEFT JOIN pg_class f ON f.oid = k.confrelid
    WHERE k.connamespace = %(ns)s
    UNION ALL
    SELECT format('trigger %%s %%s %%s %%s', c.relname, g.tgname, g.tgtype,
                  g.tgfoid::regprocedure)
    FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
    WHERE c.relnamespace = %(ns)s AND NOT g.tgisinternal
    UNION ALL
    SELECT format('sequence %%s %%s %%s %%s %%s %%s %%s', c.relname, q.seqstart, q.seqincrement,
                  q.seqmin, q.seqmax, q.seqcache, q.seqcycle)
    FROM pg_sequence q JOIN pg_class c ON c.oid = q.seqrelid
    WHERE c.relnamespace = %(ns)s
"""


_CASTS = re.compile(r"::(?:character varying|text)(?:\[\])?")


def _check_body_canonical(line: str) -> str:
    """A constraint line with its check body's casts and parentheses left out: PostgreSQL
    prints a re-parsed `x = ANY (ARRAY[...])` check with its casts in other places
    (`(ARRAY['a'::varchar])::text[]` becomes `ARRAY[('a'::varchar)::text]`), which
    means the same. The constants, columns and operators still have to match."""
    if not line.startswith("constraint ") or "CHECK" not in line:
        return line
    head, _, body = line.partition("CHECK")
    return head + "CHECK " + re.sub(r"[()\s]", "", _CASTS.sub("", body))


def schema_description(schema: str, *, dbname: str) -> list[str]:
    """What the schema holds, in the catalogue's terms: tables with owner and effective
    grants (an empty ACL means the owner's default one),
    columns with types and defaults, indexes, constraints (check bodies included),
    triggers, sequence bounds, and the rows of every table (as text). Expression texts
    of exclusion and index predicates are left out: the same predicate reads differently
    once PostgreSQL has parsed and printed it again. So are the types of identity
    sequences, whose bounds are compared instead (pg_dump cannot carry a bigint
    sequence capped at the integer range on an integer column, which is what the clone
    function makes of an integer identity column; the bounds are the same)."""
    with psycopg.connect(**admin_conninfo(dbname)) as conn:
        row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
        if row is None:
            return []
        lines = [
            _check_body_canonical(line)
            for (line,) in conn.execute(_CATALOGUE_SQL, {"ns": row[0]}).fetchall()
        ]
        tables = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = 'r'", [row[0]]
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(
                f'SELECT t::text FROM "{schema}"."{table}" t ORDER BY 1'  # noqa: S608
            ).fetchall()
            lines += [f"row {table} {text}" for (text,) in rows]
    return sorted(lines)


def _replay_worker(
    dbname: str, script: str, schemas: list[str], errors: list[BaseException], done: list[int]
) -> None:
    try:
        conninfo = admin_conninfo(dbname) | {"autocommit": False}
        with psycopg.connect(**conninfo) as conn:
            for offset in range(0, len(schemas), CLONE_BATCH):
                batch = schemas[offset : offset + CLONE_BATCH]
                for schema in batch:
                    conn.execute(re.sub(rf"\b{MODEL_SCHEMA}\b", schema, script).encode())
                conn.commit()
                done.append(len(batch))
    except BaseException as exc:
        errors.append(exc)


def empty_tenants_seed(*, count: int = EMPTY_TENANTS, progress: bool = True) -> dict[str, float]:
    """`count` tenants whose schemas are copies of one made by django-tenants' clone (see
    the module docstring), with their tenant, domain, owner and membership rows."""
    started = time.perf_counter()
    slugs = [EMPTY_SLUG.format(n + 1) for n in range(count)]
    schemas = [schema_name_for(slug) for slug in slugs]
    dbname = bench_database()
    # One schema made exactly as tenant_create makes it (the same clone function) ...
    CloneSchema().clone_schema(settings.TENANT_BASE_SCHEMA, MODEL_SCHEMA)
    schema_constraint_names_restore(schema_name=MODEL_SCHEMA)  # as tenant_create does
    connection.close()
    # ... then its dump, replayed under each new name.
    script = schema_dump(MODEL_SCHEMA, dbname=dbname)
    errors: list[BaseException] = []
    done: list[int] = []
    workers = [
        threading.Thread(
            target=_replay_worker,
            args=(dbname, script, schemas[n::CLONE_CONNECTIONS], errors, done),
        )
        for n in range(CLONE_CONNECTIONS)
    ]
    for worker in workers:
        worker.start()
    while any(worker.is_alive() for worker in workers):
        time.sleep(5)
        if progress:
            print(f"  tenants: {sum(done)}/{count} schemas", flush=True)  # noqa: T201
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    model = schema_description(MODEL_SCHEMA, dbname=dbname)
    for schema in (schemas[0], schemas[-1]):
        copy = schema_description(schema, dbname=dbname)
        if copy != model:
            differences = sorted(set(copy) ^ set(model))[:10]
            raise RuntimeError(f"{schema} differs from {MODEL_SCHEMA}: {differences}")
    with psycopg.connect(**admin_conninfo(dbname)) as conn:
        conn.execute(f'DROP SCHEMA "{MODEL_SCHEMA}" CASCADE')
    schemas_s = time.perf_counter() - started

    password = make_password(None)
    with transaction.atomic():
        owners = User.objects.bulk_create(
            User(email=f"owner@{slug}.bench.test", password=password) for slug in slugs
        )
        tenants = Tenant.objects.bulk_create(
            Tenant(slug=slug, schema_name=schema, name=f"Bench business {n + 1}", is_ready=True)
            for n, (slug, schema) in enumerate(zip(slugs, schemas, strict=True))
        )
        Domain.objects.bulk_create(
            Domain(domain=f"{t.slug}.{settings.BASE_DOMAIN}", tenant=t, is_primary=True)
            for t in tenants
        )
        Membership.objects.bulk_create(
            Membership(user=owner, tenant=tenant, role=Membership.Role.ADMIN)
            for owner, tenant in zip(owners, tenants, strict=True)
        )
    return {
        "empty_tenant_schemas_s": schemas_s,
        "empty_tenant_rows_s": time.perf_counter() - started - schemas_s,
    }


def clone_matches_template(schema: str) -> bool:
    """The same tables and the same recorded migrations as the template schema."""
    template = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables "
            "WHERE table_schema IN (%s, %s) GROUP BY 1",
            [template, schema],
        )
        tables = dict(cursor.fetchall())
        migrations = {}
        for name in (template, schema):
            cursor.execute(f'SELECT count(*) FROM "{name}".django_migrations')  # noqa: S608
            migrations[name] = cursor.fetchone()[0]
    return tables.get(template) == tables.get(schema) and migrations[template] == migrations[schema]


def _seed_migrate(*, progress: bool) -> float:
    """A seed made before newer migrations is brought up to date by `setup_database` (the
    template schema, public and every tenant), as a deploy would bring a live database,
    instead of being seeded again (about ten minutes for one migration across the 1,001
    schemas). Returns the seconds it took."""
    started = time.perf_counter()
    connections.close_all()
    for dbname in (one_tenant_database(), bench_database()):
        if progress:
            print(f"  database {dbname}: applying new migrations ...", flush=True)  # noqa: T201
        env = os.environ | {
            "POSTGRES_DB": dbname,
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        }
        subprocess.run(
            [sys.executable, "manage.py", "setup_database"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
        )
    return time.perf_counter() - started


# --- Entry point -----------------------------------------------------------------------------


def seed_ensure(*, force: bool = False, progress: bool = True, directory: bool = True) -> Seed:
    """The seeded workload, reused when its marker matches, else made afresh."""
    expected = _expected_marker_base()
    markers = [_marker_read(bench_database()), _marker_read(one_tenant_database())]
    today = timezone.localdate(timezone.now(), zone(BUSY_TZ))
    # A directory part of another size or version is redone with everything else; a
    # missing one is added to the databases as they are (_directory_ensure).
    directory_part = (markers[0] or {}).get("directory")
    if directory_part is not None and not directory_part_matches(directory_part, DIRECTORY_SIZE):
        force = True
    if not force and all(
        marker is not None
        and all(marker.get(key) == value for key, value in expected.items() if key != "migrations")
        and marker.get("complete")
        and (today - dt.date.fromisoformat(marker["seed"]["seeded_on"])).days <= MAX_SEED_AGE_DAYS
        for marker in markers
    ):
        bench_marker, one_marker = markers
        assert bench_marker is not None and one_marker is not None
        seed = Seed(**bench_marker["seed"])
        seed.reused = True
        if expected["migrations"] not in {bench_marker["migrations"]} & {one_marker["migrations"]}:
            seed.timings["migrate_on_reuse_s"] = _seed_migrate(progress=progress)
            _marker_write(bench_database(), bench_marker | {"migrations": expected["migrations"]})
            _marker_write(
                one_tenant_database(), one_marker | {"migrations": expected["migrations"]}
            )
            bench_marker["migrations"] = expected["migrations"]
        if directory:
            _directory_ensure(seed, bench_marker, progress=progress)
        return seed

    timings: dict[str, float] = {}
    connections.close_all()
    seeding_started = started = time.perf_counter()
    with admin() as conn:
        _drop_database(conn, one_tenant_database())
    how = _database_create(bench_database())
    database_setup(verbosity=0)
    timings["database_create_s"] = time.perf_counter() - started
    if progress:
        seconds = timings["database_create_s"]
        print(f"  database {bench_database()}: {how} in {seconds:.1f}s", flush=True)  # noqa: T201

    seed, busy_timings = busy_tenant_seed(progress=progress)
    timings |= busy_timings

    started = time.perf_counter()
    connections.close_all()
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{one_tenant_database()}" TEMPLATE "{bench_database()}"')
    timings["one_tenant_copy_s"] = time.perf_counter() - started

    timings |= empty_tenants_seed(progress=progress)
    sample = schema_name_for(EMPTY_SLUG.format(EMPTY_TENANTS))
    if not clone_matches_template(sample):
        raise RuntimeError(f"Schema {sample} differs from the template schema.")
    timings["total_s"] = time.perf_counter() - seeding_started
    seed.timings = timings
    seed.counts["tenants"] = Tenant.objects.exclude(schema_name="public").count()
    connections.close_all()
    marker = expected | {"complete": True, "seed": asdict(seed)}
    _marker_write(bench_database(), marker)
    _marker_write(one_tenant_database(), marker | {"one_tenant": True})
    if directory:
        _directory_ensure(seed, marker, progress=progress)
    return seed


def _directory_ensure(seed: Seed, marker: dict[str, Any], *, progress: bool) -> None:
    """Adds the directory workload to the bench database (not to the one-tenant copy)
    when its marker has none, recording its counts and timings with the seed's."""
    if directory_part_matches(marker.get("directory"), DIRECTORY_SIZE):
        return
    if progress:
        print(  # noqa: T201
            f"  directory: {DIRECTORY_SIZE.total_listings} listings in "
            f"{DIRECTORY_SIZE.tenants} businesses, {DIRECTORY_SIZE.total_reviews} reviews ...",
            flush=True,
        )
    part = directory_seed(size=DIRECTORY_SIZE, slug_pattern=EMPTY_SLUG, progress=progress)
    seed.timings |= part["timings"]
    seed.timings["total_s"] = seed.timings.get("total_s", 0.0) + part["timings"]["directory_seed_s"]
    seed.timings["total_s"] += part["timings"]["directory_index_s"]
    seed.counts |= {f"directory_{key}": value for key, value in part["counts"].items()}
    connections.close_all()
    _marker_write(
        bench_database(), marker | {"directory": part, "seed": asdict(seed) | {"reused": False}}
    )
