"""`manage.py materialize_slots [--tenant SLUG] [--days N]`: rebuild slot grids now,
with a progress bar across tenants and resources."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from apps.accounts.selectors import tenants_ready
from apps.calendars.grid.services import MaterializationResult, resources_materialize
from apps.resources.models import Resource


class Command(BaseCommand):
    help = "Materialize slots from now to the horizon for every ready tenant (or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (its slug).")
        parser.add_argument(
            "--days",
            type=int,
            help="Days ahead (default: the tenant's horizon, or a longer service horizon).",
        )

    def handle(self, *args: object, **options: Any) -> None:
        days = options["days"]
        if days is not None and not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        tenants = list(tenants_ready())
        if options["tenant"]:
            tenants = [t for t in tenants if t.slug == options["tenant"]]
            if not tenants:
                raise CommandError(f"No ready tenant with slug “{options['tenant']}”.")
        started = time.perf_counter()
        total = MaterializationResult()
        show = int(options["verbosity"]) > 0
        for tenant in tqdm(tenants, desc="tenants", unit="tenant", disable=not show):
            with tenant_context(tenant):
                resources = list(
                    Resource.objects.filter(is_active=True)
                    .select_related("location")
                    .order_by("pk")
                )
                with tqdm(
                    total=len(resources),
                    desc=tenant.slug,
                    unit="resource",
                    leave=False,
                    disable=not show,
                ) as bar:
                    total += resources_materialize(
                        resources=resources,
                        days=days,
                        on_resource_done=lambda _resource, _result: bar.update(),
                    )
        counts = ", ".join(f"{name} {count}" for name, count in total.as_dict().items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Materialized {len(tenants)} tenant(s) in "
                f"{time.perf_counter() - started:.1f}s: {counts}."
            )
        )
