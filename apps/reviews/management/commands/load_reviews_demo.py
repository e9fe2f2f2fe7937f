"""`manage.py load_reviews_demo [--if-missing]`: a few reviews of past visits to the demo
business's listed people (fixtures/reviews_demo.json), so `make run` shows ratings and
"verified booking" reviews on /find/ and the booking pages. Development machines only,
like `load_demo`: the past visits are written as completed bookings directly (no
service books the past), each reviewed through `review_create`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.bookings.models import Actor, Booking, Customer
from apps.directory.indexing import directory_index_rebuild
from apps.resources.models import Resource
from apps.reviews.models import Review
from apps.reviews.services import review_create

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "reviews_demo.json"


class Command(BaseCommand):
    help = "Reviews of past visits to the demo business (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(FIXTURE))
        parser.add_argument(
            "--if-missing", action="store_true", help="leave reviews that exist as they are"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("load_reviews_demo is for development machines only.")
        data = json.loads(Path(options["file"]).read_text())
        tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business “{data['tenant']}”: run load_demo first.")
        made = 0
        with tenant_context(tenant):
            if options["if_missing"] and Review.objects.exists():
                self.stdout.write("The demo reviews exist already; left as they are.")
                return
            for name, reviews in data["reviews"].items():
                resource = Resource.objects.filter(name=name).first()
                service = resource.services.filter(is_active=True).first() if resource else None
                if resource is None or service is None:
                    continue
                for days_ago, (customer_name, rating, comment) in enumerate(reviews, start=3):
                    with transaction.atomic():
                        booking = _past_visit(resource, service, customer_name, days_ago)
                        review_create(booking_id=booking.pk, rating=rating, comment=comment)
                    made += 1
            directory_index_rebuild(tenant=tenant)
        self.stdout.write(f"{made} demo review(s) for {tenant.slug}.")


def _past_visit(resource: Resource, service: Any, name: str, days_ago: int) -> Booking:
    email = f"{name.split()[0].lower()}.{days_ago}@example.test"
    customer = Customer.objects.create(
        name=name, email_encrypted=pii.pii_encrypt(email), email_hash=pii.lookup_hash(email)
    )
    starts_at = (timezone.now() - dt.timedelta(days=days_ago * 7)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return Booking.objects.create(
        service=service,
        resource=resource,
        customer=customer,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=service.duration_minutes),
        status=Booking.Status.COMPLETED,
        exclusive=service.capacity == 1,
        source=Booking.Source.ADMIN,
        created_by_type=Actor.SYSTEM,
    )
