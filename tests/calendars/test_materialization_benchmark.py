"""How long materialization takes at scale (PRODUCT.md §7: 1,000 resources x 90 days < 60 s).

Prints figures, asserts none about time (timing is measured, never asserted). The run
happens on its own connection in a thread so that every resource's transaction really
commits (deferred foreign-key checks and WAL flushes included), as in production; its
rows are removed afterwards. The default size keeps the suite quick; the full figure:

    TIMENEST_BENCH_RESOURCES=1000 TIMENEST_TEST_DB=test_timenest_sched \\
        .venv/bin/pytest tests/calendars/test_materialization_benchmark.py -s
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from typing import Any

import pytest
from django.db import connection

from apps.accounts.models import Tenant
from apps.calendars.grid.services import resources_materialize
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.core.tenancy import use_tenant
from apps.resources.models import Location, Resource

RESOURCES = int(os.environ.get("TIMENEST_BENCH_RESOURCES", "50"))
DAYS = 90
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
WEEKLY = {
    "kind": AvailabilityRule.Kind.WEEKLY,
    "days_of_week": [1, 2, 3, 4, 5],
    "start_minute": 9 * 60,
    "end_minute": 17 * 60,
    "granularity_minutes": 30,
}


def _benchmark(tenant: Tenant, *, own_rules: bool, report: dict[str, Any]) -> None:
    use_tenant(tenant)
    location = Location.objects.create(name="Benchmark", timezone="Europe/London")
    try:
        resources = Resource.objects.bulk_create(
            Resource(name=f"Bench {n}", location=location) for n in range(RESOURCES)
        )
        if own_rules:
            AvailabilityRule.objects.bulk_create(
                AvailabilityRule(resource=resource, **WEEKLY) for resource in resources
            )
        else:
            AvailabilityRule.objects.create(location=location, **WEEKLY)
        resources = list(Resource.objects.filter(location=location).select_related("location"))

        started = time.perf_counter()
        report["first"] = resources_materialize(resources=resources, days=DAYS, now=NOW)
        report["first_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        report["second"] = resources_materialize(resources=resources, days=DAYS, now=NOW)
        report["second_seconds"] = time.perf_counter() - started
        report["rows"] = SlotInstance.objects.filter(resource__in=resources).count()
    finally:
        # One pass by resource id: right after a bulk insert the table has no statistics
        # yet, and a DELETE joined through resources could be planned as a nested loop of
        # sequential scans (minutes on a fresh database).
        resource_ids = list(location.resources.values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {SlotInstance._meta.db_table} WHERE resource_id = ANY(%s)",  # noqa: S608
                [resource_ids],
            )
        AvailabilityRule.objects.filter(resource__location=location).delete()
        location.rules.all().delete()
        location.resources.all().delete()
        location.delete()
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize("own_rules", [False, True], ids=["location-rules", "own-rules"])
def test_materialization_benchmark_prints_time_for_resources_times_days(acme, own_rules):
    # given / when: the run on a committing connection of its own
    report: dict[str, Any] = {}
    worker = threading.Thread(
        target=_benchmark, args=(acme,), kwargs={"own_rules": own_rules, "report": report}
    )
    worker.start()
    worker.join()

    # then
    first, second = report["first"], report["second"]
    print(  # noqa: T201 — the figure is the point of this test
        f"\nmaterialize {RESOURCES} resources x {DAYS} days "
        f"({'one rule per resource' if own_rules else 'one location rule'}), committed per "
        f"resource: first run {report['first_seconds']:.1f}s ({first.created:,} slots, "
        f"{first.created / report['first_seconds']:,.0f}/s); second run "
        f"{report['second_seconds']:.1f}s ({second.kept:,} kept, nothing written)"
    )
    assert first.created == report["rows"] > 0
    assert second.created == second.removed == 0
    assert second.kept == report["rows"]
