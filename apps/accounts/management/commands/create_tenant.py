import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.services import tenant_create
from apps.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create a tenant: schema, domain {slug}.BASE_DOMAIN, owner membership, trial plan."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument(
            "--owner-password", help="Password for the owner when the owner is a new user."
        )

    def handle(self, *args: object, **options: str) -> None:
        email = options["owner_email"].strip().lower()
        started = time.perf_counter()
        try:
            with transaction.atomic():  # a new owner is not kept if the tenant fails
                owner = User.objects.filter(email=email).first() or User.objects.create_user(
                    email=email, password=options["owner_password"]
                )
                tenant = tenant_create(
                    slug=options["slug"],
                    name=options["name"],
                    owner=owner,
                    timezone=options["timezone"],
                )
        except ValidationFailed as error:
            problems = "; ".join(f"{d.field}: {d.message}" for d in error.details)
            raise CommandError(f"{error.message} {problems}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Created tenant {tenant.slug} (schema {tenant.schema_name}, "
                f"domain {tenant.get_primary_domain()}) owned by {owner.email} "
                f"in {time.perf_counter() - started:.2f}s."
            )
        )
