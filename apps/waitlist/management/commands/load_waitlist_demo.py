"""`manage.py load_waitlist_demo [--if-missing]`: a full morning of the demo business
(fixtures/waitlist_demo.json: its free starts from `from` to `until` on the first day
they exist, booked by the `booked_by` people in turn) and people waiting for it, so
`make run` shows a waitlist. Cancel one of those bookings from the dashboard and the
first person waiting is offered the place. Development machines only, like
`load_demo`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings.actors import ActorRef
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.resources.models import Resource, Service
from apps.waitlist.models import WaitlistEntry
from apps.waitlist.selectors import free_starts
from apps.waitlist.services import waitlist_join

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "waitlist_demo.json"
DEMO = ActorRef.system("waitlist demo")
SEARCH_DAYS = 21


class Command(BaseCommand):
    help = "Fill a morning of the demo business and put people on its waitlist (development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(FIXTURE))
        parser.add_argument(
            "--if-missing", action="store_true", help="leave a waitlist that exists as it is"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("load_waitlist_demo is for development machines only.")
        data = json.loads(Path(options["file"]).read_text())
        tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business “{data['tenant']}”: run load_demo first.")
        with tenant_context(tenant):
            if options["if_missing"] and WaitlistEntry.objects.exists():
                self.stdout.write("The demo waitlist is loaded already; left as it is.")
                return
            with transaction.atomic():
                self._load(data)

    def _load(self, data: dict[str, Any]) -> None:
        service = Service.objects.get(name=data["service"])
        resource = Resource.objects.select_related("location").get(name=data["resource"])
        zone = ZoneInfo(resource.location.timezone)
        today = dt.datetime.now(zone).date()
        start, end = dt.time.fromisoformat(data["from"]), dt.time.fromisoformat(data["until"])
        for ahead in range(data["first_day_ahead"], data["first_day_ahead"] + SEARCH_DAYS):
            day = today + dt.timedelta(days=ahead)
            earliest = dt.datetime.combine(day, start, tzinfo=zone)
            latest = dt.datetime.combine(day, end, tzinfo=zone)
            starts = free_starts(
                service=service, resource=resource, earliest_at=earliest, latest_at=latest
            )
            if starts:
                break
        else:
            raise CommandError("No free morning found for the demo waitlist.")
        people = data["booked_by"]
        booked = 0
        # Every free start of the morning is booked (a longer session may cover the next
        # start, so ask again until none is left).
        while starts:
            person = people[booked % len(people)]
            held = booking_hold(
                service=service,
                resource=resource,
                starts_at=starts[0].starts_at,
                customer=CustomerInput(name=person["name"], email=person["email"]),
                actor=DEMO,
            )
            booking_confirm(booking=held, actor=DEMO, notify=False)
            booked += 1
            starts = free_starts(
                service=service, resource=resource, earliest_at=earliest, latest_at=latest
            )
        for person in data["waiting"]:
            waitlist_join(
                service=service,
                resource=resource,
                earliest_at=earliest,
                latest_at=latest,
                customer=CustomerInput(
                    name=person["name"], email=person["email"], phone=person.get("phone", "")
                ),
                actor=DEMO,
            )
        self.stdout.write(
            f"Demo waitlist: {day:%A %d %B} {data['from']} to {data['until']} with "
            f"{resource.name}, {booked} bookings, {len(data['waiting'])} people waiting."
        )
