"""`manage.py restore ARCHIVE [--database NAME] [--jobs N]`: a whole database into an
empty one; `manage.py restore ARCHIVE --tenant SLUG --as NEW_SLUG`: one business beside
the live ones, for inspection and recovery. Either is counted against the archive's
manifest afterwards (OPERATIONS.md "Backups and recovery")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from apps.accounts.backups.restore import RestoreResult, database_restore, tenant_restore
from apps.core.errors import DomainError


class Command(BaseCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Translated when the command runs, not when it is imported.
        self.help = _(
            "Restore a backup: the whole database into an empty database, or one business "
            "(--tenant) under a new slug (--as) beside the live ones. Never over existing data."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help=_("The .dump file (its manifest beside)."))
        parser.add_argument(
            "--database",
            default="",
            help=_("Whole restore: the empty database to restore into (default: the configured "
                   "one); created when missing."),
        )  # fmt: skip
        parser.add_argument(
            "--jobs", "-j", type=int, default=2, help=_("Whole restore: parallel jobs.")
        )
        parser.add_argument("--tenant", default="", help=_("The business's slug in the backup."))
        parser.add_argument(
            "--as", dest="as_slug", default="", help=_("The slug the restored copy gets.")
        )

    def handle(self, *args: object, **options: Any) -> None:
        tenant, as_slug = str(options["tenant"]).strip(), str(options["as_slug"]).strip()
        if bool(tenant) != bool(as_slug):
            raise CommandError(_("--tenant and --as go together."))
        if tenant and options["database"]:
            raise CommandError(_("A business is restored into the configured database only."))
        with tqdm(desc=_("restoring"), disable=int(options["verbosity"]) == 0) as bar:

            def progress(done: int, total: int, label: str) -> None:
                if bar.total != total:
                    bar.reset(total=total)
                bar.set_postfix_str(label[-40:], refresh=False)
                bar.update(done - bar.n)

            try:
                if tenant:
                    result = tenant_restore(
                        archive=options["archive"], slug=tenant, new_slug=as_slug,
                        on_progress=progress,
                    )  # fmt: skip
                else:
                    result = database_restore(
                        archive=options["archive"],
                        database=options["database"] or str(settings.DATABASES["default"]["NAME"]),
                        jobs=options["jobs"],
                        on_progress=progress,
                    )
            except DomainError as error:
                raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(self._summary(result)))

    def _summary(self, result: RestoreResult) -> str:
        timings = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in result.seconds.items())
        counted = _(
            "The counts match the manifest: %(schemas)d schema(s), %(tables)d tables, "
            "%(rows)d rows, %(bookings)d bookings with the same checksum."
        ) % {
            "schemas": result.schemas,
            "tables": result.tables,
            "rows": result.rows,
            "bookings": result.bookings,
        }
        if result.tenant:
            done = _(
                "Restored as %(slug)s (schema %(schema)s): suspended by support and not "
                "ready, so it serves no page, sends nothing and takes no bookings."
            ) % {"slug": result.tenant, "schema": result.schema}
            if result.migrated:
                done += " " + _("Its schema was migrated to this version's migrations.")
        else:
            done = _("Restored into %(database)s.") % {"database": result.database}
        return f"{done} {counted} ({timings})"
