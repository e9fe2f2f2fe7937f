"""`manage.py create_api_key --tenant acme --role admin|frontdesk|readonly [--name …]`:
prints a new bearer key once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.api.models import ApiKey
from apps.api.services import api_key_create
from apps.core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--role", required=True, choices=ApiKey.Role.values)
        parser.add_argument("--name", default="", help="What the key is for.")

    def handle(self, *args: object, **options: Any) -> None:
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=options["tenant"]).first()
        if tenant is None or not tenant.is_ready:
            raise CommandError(f"No ready tenant with slug “{options['tenant']}”.")
        with tenant_context(tenant):
            try:
                key, secret = api_key_create(role=options["role"], name=options["name"])
            except ValidationFailed as error:
                problems = "; ".join(f"{d.field}: {d.message}" for d in error.details)
                raise CommandError(f"{error.message} {problems}") from error
        self.stderr.write(
            f"Created {key.role} API key {key.prefix}… for {tenant.slug}. "
            "It is shown once; store it now:"
        )
        self.stdout.write(secret)
