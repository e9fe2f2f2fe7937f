"""`manage.py load_directory_demo [--if-missing]`: list the demo business in the public
directory (fixtures/directory_demo.json) and index it at once, so `make run` shows it
on /find/. Development machines only, like `load_demo`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile
from apps.directory.services import listing_profile_update, resource_listing_update
from apps.resources.models import Resource

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "directory_demo.json"


class Command(BaseCommand):
    help = "List the demo business in the public directory (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(FIXTURE))
        parser.add_argument(
            "--if-missing", action="store_true", help="leave a listing that exists as it is"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("load_directory_demo is for development machines only.")
        data = json.loads(Path(options["file"]).read_text())
        tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No business “{data['tenant']}”: run load_demo first.")
        with tenant_context(tenant):
            if options["if_missing"] and ListingProfile.objects.exists():
                self.stdout.write("The demo listing exists already; left as it is.")
                return
            listing_profile_update(data=data["listing"])
            for name, spec in data["people"].items():
                resource = Resource.objects.filter(name=name).first()
                if resource is not None:
                    resource_listing_update(resource=resource, data=spec)
            count = directory_index_rebuild(tenant=tenant)
        self.stdout.write(f"Listed {tenant.slug} in the directory: {count} listing(s).")
