"""`manage.py load_series_demo [--if-missing]`: a recurring client in the demo business
(fixtures/series_demo.json): a fortnightly series booked by the front desk through
`series_create`, and the services customers may book as a series. Development machines
only, like `load_demo` (which must have run first)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking, BookingSeries
from apps.bookings.series import RepeatRule, SeriesConflicts, series_create
from apps.bookings.services import CustomerInput
from apps.calendars.timezones import local_date, parse_wall_time, wall_time_instant, zone
from apps.resources.models import Resource, Service
from apps.resources.services import service_update

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "series_demo.json"
FRONT_DESK = ActorRef.staff("", label="demo front desk")
# A taken date moves the series' start on a week, a few times at most.
TRIES = 4


class Command(BaseCommand):
    help = "Give the demo business a recurring client (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(FIXTURE))
        parser.add_argument(
            "--if-missing", action="store_true", help="leave a demo series that exists as it is"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("load_series_demo is for development machines only.")
        data = json.loads(Path(options["file"]).read_text())
        tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business “{data['tenant']}”: run load_demo first.")
        with tenant_context(tenant):
            for name in data.get("customers_may_repeat", []):
                service = Service.objects.filter(name=name).first()
                if service is not None and not service.customers_may_repeat:
                    service_update(service=service, data={"customers_may_repeat": True})
            for spec in data["recurring_clients"]:
                self._client(spec, if_missing=options["if_missing"])

    def _client(self, spec: dict[str, Any], *, if_missing: bool) -> None:
        email_hash = pii.lookup_hash(pii.email_normalize(spec["customer"]["email"]))
        active = BookingSeries.objects.filter(
            customer__email_hash=email_hash,
            occurrences__status=Booking.Status.CONFIRMED,
            occurrences__starts_at__gt=timezone.now(),
        )
        if if_missing and active.exists():
            self.stdout.write(f"{spec['customer']['name']}'s series exists already; left as it is.")
            return
        service = Service.objects.get(name=spec["service"])
        resource = Resource.objects.select_related("location").get(name=spec["resource"])
        tz = zone(resource.location.timezone)
        first_day = _next_weekday(local_date(timezone.now(), tz) + dt.timedelta(days=2), spec)
        rule = RepeatRule(every_weeks=spec["every_weeks"], count=spec["count"])
        customer = CustomerInput(**spec["customer"])
        for attempt in range(TRIES):
            day = first_day + dt.timedelta(weeks=attempt)
            try:
                series = series_create(
                    service=service,
                    resource=resource,
                    first_starts_at=wall_time_instant(day, parse_wall_time(spec["time"]), tz),
                    rule=rule,
                    customer=customer,
                    actor=FRONT_DESK,
                    source=Booking.Source.ADMIN,
                    payment="at_venue",
                    notify=False,
                    notes=spec.get("notes", ""),
                )
            except SeriesConflicts as conflicts:
                self.stdout.write(f"From {day}: {conflicts.message} Trying a week later.")
                continue
            self.stdout.write(
                f"Recurring client {customer.name}: {series.occurrences.count()} bookings, "
                f"every {rule.every_weeks} weeks from {day}."
            )
            return
        raise CommandError(f"No free series for {customer.name} in {TRIES} weeks.")


def _next_weekday(day: dt.date, spec: dict[str, Any]) -> dt.date:
    """The first day on or after `day` that is the spec's ISO weekday (1 = Monday)."""
    return day + dt.timedelta(days=(spec["weekday"] - day.isoweekday()) % 7)
