"""`manage.py load_language_demo [--if-missing]`: a German-speaking customer's booking in
the demo business (fixtures/language_demo.json), made in German as the booking pages
make it (`language="de"`), so its confirmation, reminders and manage link speak German.
Development machines only, like `load_demo` (which must have run first)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.availability.selectors import availability_slots
from apps.calendars.timezones import local_date, zone
from apps.resources.models import Resource, Service

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "language_demo.json"
DEMO = ActorRef.system("language demo")
SEARCH_DAYS = 21


class Command(BaseCommand):
    help = "Give the demo business a German-speaking customer's booking (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(FIXTURE))
        parser.add_argument(
            "--if-missing", action="store_true", help="leave a demo booking that exists as it is"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("load_language_demo is for development machines only.")
        data = json.loads(Path(options["file"]).read_text())
        tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business “{data['tenant']}”: run load_demo first.")
        with tenant_context(tenant):
            for spec in data["bookings"]:
                self._booking(spec, if_missing=options["if_missing"])

    def _booking(self, spec: dict[str, Any], *, if_missing: bool) -> None:
        customer = CustomerInput(**spec["customer"])
        email_hash = pii.lookup_hash(pii.email_normalize(customer.email))
        upcoming = Booking.objects.filter(
            customer__email_hash=email_hash,
            language=spec["language"],
            status=Booking.Status.CONFIRMED,
            starts_at__gt=timezone.now(),
        )
        if if_missing and upcoming.exists():
            self.stdout.write(f"{customer.name}'s booking exists already; left as it is.")
            return
        service = Service.objects.get(name=spec["service"])
        resource = Resource.objects.select_related("location").get(name=spec["resource"])
        today = local_date(timezone.now(), zone(resource.location.timezone))
        for ahead in range(spec["first_day_ahead"], spec["first_day_ahead"] + SEARCH_DAYS):
            day = today + dt.timedelta(days=ahead)
            free = availability_slots(service=service, resource=resource, day=day).slots
            if free:
                break
        else:
            raise CommandError(f"No free time for {customer.name} in {SEARCH_DAYS} days.")
        # As the German booking page makes it: the language active, and kept.
        with translation.override(spec["language"]):
            held = booking_hold(
                service=service,
                resource=resource,
                starts_at=free[0].start,
                customer=customer,
                notes=spec.get("notes", ""),
                actor=DEMO,
                language=spec["language"],
            )
            booking = booking_confirm(booking=held, actor=DEMO)
        self.stdout.write(
            f"{customer.name} booked {service.name} on {booking.starts_at:%Y-%m-%d %H:%M} UTC "
            f"in {booking.language}: its messages speak that language."
        )
