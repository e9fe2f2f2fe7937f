"""`manage.py tenant_purge <slug> --confirm <slug> --by <staff email>`: drops a business
closed at least TENANT_PURGE_DELAY_DAYS ago (apps/accounts/closure.py). The one way a
business's schema is ever dropped."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.closure import tenant_purge
from apps.accounts.models import Tenant, User
from apps.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Drop the schema and row of a business closed at least TENANT_PURGE_DELAY_DAYS "
        "ago. Its audit trail in that schema goes with it; the platform's stays."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--confirm", default="", help="The slug again, to confirm.")
        parser.add_argument(
            "--by", required=True, help="Email of the platform staff member purging it."
        )

    def handle(self, *args: object, **options: str) -> None:
        slug = options["slug"].strip().lower()
        tenant = Tenant.objects.filter(slug=slug).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"No business {slug}.")
        operator = User.objects.filter(
            email=options["by"].strip().lower(), is_staff=True, is_active=True
        ).first()
        if operator is None:
            raise CommandError("--by must be the email of an active platform staff member.")
        try:
            tenant_purge(
                tenant=tenant,
                confirm=options["confirm"].strip(),
                operator=operator,
                via=f"manage.py tenant_purge, system user {getpass.getuser()}",
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(f"Purged {slug} (schema {tenant.schema_name}) for {operator.email}.")
        )
