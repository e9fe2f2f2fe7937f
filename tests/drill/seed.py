"""The drill's workload, made through the real services in a database of its own
(`timenest_drill`, made afresh every run, kept afterwards to look at):

- one busy tenant (`drill.localhost`): RESOURCES practitioners, a 30-minute service,
  slots every 30 minutes round the clock for HORIZON_DAYS days, an admin API key;
- later, once the processes run (`reminder_bookings_make`): confirmed bookings on
  three slot times whose reminders all fall due at one chosen minute of the run. The
  tenant's reminder offsets are chosen for it (S1 - o1 = S2 - o2 = S3 - o3 = that
  minute); a booking's other offsets land in the past (cancelled when planned) or
  after the drill.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
from apps.accounts.provisioning import database_setup
from apps.accounts.services import tenant_create, tenant_settings_update
from apps.api.services import api_key_create
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.grid.services import resources_materialize
from apps.calendars.models import SlotInstance
from apps.calendars.rules.services import availability_rule_create
from apps.resources.models import Resource, Service
from apps.resources.services import location_create, resource_create, service_create
from tests.bench import seed as bench_seed

SLUG = "drill"
TZ = "Europe/London"
RESOURCES = 40
HORIZON_DAYS = 4
REMINDER_SLOT_TIMES = 3
ACTOR = ActorRef.system("scale-out drill")
# Copied instead of migrating from zero when idle (`make bench` seeds the first).
TEMPLATES = ("timenest_bench_one", bench_seed.DEV_DATABASE)


@dataclass
class DrillSeed:
    host: str
    api_key: str
    service_id: str
    resource_ids: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    how: str = ""


def _database_create(name: str) -> str:
    """A copy of an idle database already migrated by the same single role (the
    benchmark's one-tenant database, else the development database), stripped of its
    tenants (seconds), else an empty one that `database_setup` migrates (minutes)."""
    with bench_seed.admin() as conn:
        bench_seed._drop_database(conn, name)
        for template in TEMPLATES:
            if not (
                bench_seed._database_exists(conn, template) and bench_seed._single_role(template)
            ):
                continue
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            except psycopg.Error:  # somebody is connected to it
                continue
            bench_seed._strip_tenants(name)
            return f"copied from {template}"
        conn.execute(f'CREATE DATABASE "{name}"')
    return "migrated from zero"


def drill_seed() -> DrillSeed:
    """A fresh database holding the busy tenant; whatever migrations the copy lacks are
    applied by `database_setup`."""
    started = time.perf_counter()
    connections.close_all()
    how = _database_create(bench_seed.bench_database())
    database_setup(verbosity=0)
    timings = {"database_s": time.perf_counter() - started}

    started = time.perf_counter()
    owner = User.objects.create_user(email=f"owner@{SLUG}.drill.test", password=None)
    tenant = tenant_create(slug=SLUG, name="Drill Clinic", owner=owner, timezone=TZ)
    with tenant_context(tenant):
        location = location_create(name="Main street", timezone=TZ)
        resources = [
            resource_create(name=f"Practitioner {n + 1:02d}", location=location)
            for n in range(RESOURCES)
        ]
        service = service_create(name="Consultation", duration_minutes=30, resources=resources)
        availability_rule_create(
            kind="weekly",
            location=location,
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            start_time="00:00",
            end_time="24:00",
            granularity_minutes=30,
        )
        _, api_key = api_key_create(role="admin", name="drill")
        located = list(
            Resource.objects.filter(pk__in=[r.pk for r in resources]).select_related("location")
        )
        resources_materialize(resources=located, days=HORIZON_DAYS)
    timings["tenant_s"] = time.perf_counter() - started
    connections.close_all()
    return DrillSeed(
        host=f"{SLUG}.{settings.BASE_DOMAIN}",
        api_key=api_key,
        service_id=str(service.pk),
        resource_ids=[str(r.pk) for r in resources],
        timings={key: round(value, 2) for key, value in timings.items()},
        how=how,
    )


def drill_tenant() -> Tenant:
    return Tenant.objects.get(slug=SLUG)


def reminder_bookings_make(*, due_at: dt.datetime) -> dict[str, Any]:
    """Confirmed bookings on every resource at REMINDER_SLOT_TIMES consecutive slot times
    about three hours ahead, with the tenant's reminder offsets set so that one reminder
    of each booking falls due at `due_at` (a whole minute)."""
    assert due_at.second == 0 and due_at.microsecond == 0
    first = due_at + dt.timedelta(hours=3)
    first += dt.timedelta(minutes=(30 - first.minute % 30) % 30)
    starts = [first + dt.timedelta(minutes=30 * n) for n in range(REMINDER_SLOT_TIMES)]
    offsets = [int((start - due_at).total_seconds() // 60) for start in starts]
    tenant = drill_tenant()
    tenant_settings_update(tenant=tenant, data={"reminder_offsets_minutes": offsets})
    made = 0
    with tenant_context(tenant):
        service = Service.objects.get()
        slots = SlotInstance.objects.filter(starts_at__in=starts, booked=0, held=0).select_related(
            "resource__location"
        )
        for slot in slots:
            held = booking_hold(
                service=service,
                resource=slot.resource,
                starts_at=slot.starts_at,
                customer=CustomerInput(
                    name=f"Reminded {made}", email=f"reminded-{made}@drill.test"
                ),
                source=Booking.Source.API,
                actor=ACTOR,
            )
            booking_confirm(booking=held, actor=ACTOR)
            made += 1
    connections.close_all()
    return {
        "bookings": made,
        "offsets_minutes": offsets,
        "starts": [start.isoformat() for start in starts],
        "due_at": due_at.isoformat(),
        "made_at": timezone.now().isoformat(),
    }
