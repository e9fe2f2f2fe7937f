"""`manage.py audit_purge [--before 2019-01-01]`: the retention purge of the audit trails.

Rows older than seven years go, in every schema (public, the template, each tenant),
through the database's `audit_purge_before` function; younger rows stay whatever
`--before` says (the database refuses to delete them). Safe to run again: a second run
finds nothing more to remove."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.services import audit_purge


class Command(BaseCommand):
    help = "Remove audit rows older than seven years (or than --before, if earlier)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            help="Remove only rows written before this date (YYYY-MM-DD, UTC); rows "
            "younger than seven years are kept whatever the date.",
        )

    def handle(self, *args: object, **options: str | None) -> None:
        before = None
        if options["before"]:
            try:
                day = dt.date.fromisoformat(options["before"])
            except ValueError as exc:
                raise CommandError("--before takes a date: YYYY-MM-DD.") from exc
            before = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        removed = audit_purge(before=before)
        total = 0
        for schema, trails in removed.items():
            count = sum(trails.values())
            total += count
            if count:
                listed = ", ".join(f"{trail} {n}" for trail, n in trails.items() if n)
                self.stdout.write(f"{schema}: {listed}")
        self.stdout.write(
            self.style.SUCCESS(f"Removed {total} audit rows from {len(removed)} schemas.")
        )
