"""`manage.py backup [--tenant SLUG] [--output-dir DIR]`: the whole database (or one
business) as a pg_dump archive with its manifest (OPERATIONS.md "Backups and recovery")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from apps.accounts.backups.dump import backup_create
from apps.core.errors import DomainError


class Command(BaseCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Translated when the command runs, not when it is imported.
        self.help = _(
            "Back up the whole database (or one business with --tenant) with pg_dump, and "
            "write a manifest of what the archive holds beside it."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="", help=_("Only this business (its slug)."))
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=None,
            help=_("Where to write (default: the BACKUP_DIR setting)."),
        )

    def handle(self, *args: object, **options: Any) -> None:
        directory = options["output_dir"] or Path(settings.BACKUP_DIR)
        slug = str(options["tenant"]).strip().lower()
        with tqdm(desc=_("tables"), unit="table", disable=int(options["verbosity"]) == 0) as bar:

            def progress(done: int, total: int, label: str) -> None:
                if bar.total != total:
                    bar.reset(total=total)
                bar.set_postfix_str(label[-40:], refresh=False)
                bar.update(done - bar.n)

            try:
                result = backup_create(directory=directory, tenant_slug=slug, on_progress=progress)
            except DomainError as error:
                raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Backed up %(tables)d tables (%(rows)d rows) in %(seconds).1fs: %(archive)s "
                    "(%(megabytes).1f MB), manifest %(manifest)s."
                )
                % {
                    "tables": result.tables,
                    "rows": result.rows,
                    "seconds": result.seconds,
                    "archive": result.archive,
                    "megabytes": result.size_bytes / 1e6,
                    "manifest": result.manifest,
                }
            )
        )
