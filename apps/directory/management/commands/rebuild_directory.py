"""`manage.py rebuild_directory [--tenant SLUG]`: rebuild the directory's search index
from every business's listing now, with a progress bar. Rows of businesses that are no
longer listed (or gone) are removed on the way. A business whose rebuild fails is
logged and skipped; the command then exits non-zero, naming them."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from apps.accounts.selectors import tenants_ready
from apps.directory.index.models import DirectoryEntry
from apps.directory.indexing import directory_index_rebuild

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Rebuild the public directory's search index from every business (or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this business (its slug).")

    def handle(self, *args: object, **options: Any) -> None:
        tenants = list(tenants_ready().order_by("slug"))
        if options["tenant"]:
            tenants = [t for t in tenants if t.slug == options["tenant"]]
            if not tenants:
                raise CommandError(f"No ready business with slug “{options['tenant']}”.")
        else:
            # From scratch: rows of businesses that are not ready (or closed) go too.
            DirectoryEntry.objects.exclude(tenant__in=tenants).delete()
        started = time.perf_counter()
        entries = 0
        failed: list[str] = []
        show = int(options["verbosity"]) > 0
        for tenant in tqdm(tenants, desc="businesses", unit="business", disable=not show):
            # One business's failure leaves its old rows and does not stop the others.
            try:
                with tenant_context(tenant):
                    entries += directory_index_rebuild(tenant=tenant)
            except Exception:
                logger.exception("directory.rebuild_failed", extra={"tenant": tenant.slug})
                failed.append(tenant.slug)
        summary = (
            f"Indexed {entries} listing(s) of {len(tenants) - len(failed)} business(es) in "
            f"{time.perf_counter() - started:.1f}s."
        )
        if failed:
            self.stdout.write(summary)
            raise CommandError(
                f"{len(failed)} business(es) could not be rebuilt: {', '.join(failed)}."
            )
        self.stdout.write(self.style.SUCCESS(summary))
