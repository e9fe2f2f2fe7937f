"""`manage.py rotate_encryption_keys [--dry-run] [--rehash] [--schema S …]
[--batch-size N] [--max-batches N]`: moves every encrypted value to the newest key of
PII_ENCRYPTION_KEYS (apps/bookings/pii_rotation.py), then says whether any value still
needs an older key. Safe to interrupt and to run again: what is already under the newest
key is skipped.

A rotation: put the new key first in PII_ENCRYPTION_KEYS and keep the old ones after it;
deploy, so that every process encrypts with the new key; run this; remove an old key only
when this says no value uses it any more (ARCHITECTURE.md, "Customer data at rest").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.bookings import pii
from apps.bookings.pii_rotation import (
    BATCH_SIZE,
    LEGACY,
    NOT_ENCRYPTED,
    RehashResult,
    RotationResult,
    census_by_key,
    encrypted_values_census,
    encrypted_values_rotate,
    lookup_hashes_recompute,
    pii_schemas,
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value in every schema with the first key of "
        "PII_ENCRYPTION_KEYS, and report whether the older keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the values per key id."
        )
        parser.add_argument(
            "--rehash",
            action="store_true",
            help="Also recompute the lookup hashes with PII_LOOKUP_KEY (after changing it).",
        )
        parser.add_argument(
            "--schema",
            action="append",
            default=[],
            help="Only this schema (repeatable); default: every schema with encrypted columns.",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--max-batches",
            type=int,
            default=None,
            help="Stop after this many batches per table and schema (a run in parts).",
        )

    def handle(self, *args: object, **options: Any) -> None:
        try:
            key_ids = pii.pii_key_ids()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        known = pii_schemas()
        schemas = options["schema"] or known
        unknown = sorted(set(schemas) - set(known))
        if unknown:
            raise CommandError(f"No encrypted columns in schema(s): {', '.join(unknown)}.")
        newest = key_ids[0]
        show = int(options["verbosity"]) > 0

        before = census_by_key(
            [column for schema in schemas for column in encrypted_values_census(schema=schema)]
        )
        self.stdout.write(f"Before: {self._counts(before, key_ids)}")
        to_move = sum(count for key, count in before.items() if key not in (newest, NOT_ENCRYPTED))
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {to_move} value(s) in {len(schemas)} schema(s) would be "
                f"re-encrypted with key {newest}; nothing was written."
            )
            return

        rotated = RotationResult()
        # Values that are no tokens are visited (and left) too.
        visits = to_move + before[NOT_ENCRYPTED]
        with tqdm(total=visits, unit="value", desc="re-encrypting", disable=not show) as bar:
            for schema in schemas:
                bar.set_postfix_str(schema)
                result = encrypted_values_rotate(
                    schema=schema,
                    batch_size=options["batch_size"],
                    max_batches=options["max_batches"],
                    on_progress=bar.update,
                )
                rotated.rewritten += result.rewritten
                rotated.unreadable += result.unreadable
                rotated.complete = rotated.complete and result.complete
        self.stdout.write(
            f"Re-encrypted {rotated.rewritten} value(s) with key {newest}"
            + (f"; {rotated.unreadable} could not be decrypted" if rotated.unreadable else "")
            + ("" if rotated.complete else "; stopped at --max-batches")
            + "."
        )
        if options["rehash"]:
            self._rehash(schemas, options["batch_size"], show)

        after = census_by_key(
            [column for schema in schemas for column in encrypted_values_census(schema=schema)]
        )
        self.stdout.write(f"After: {self._counts(after, key_ids)}")
        self._verdict(after, key_ids, whole=not options["schema"])

    def _rehash(self, schemas: list[str], batch_size: int, show: bool) -> None:
        total = RehashResult()
        with tqdm(unit="row", desc="rehashing", disable=not show) as bar:
            for schema in schemas:
                bar.set_postfix_str(schema)
                result = lookup_hashes_recompute(
                    schema=schema, batch_size=batch_size, on_progress=bar.update
                )
                total.updated += result.updated
                total.unreadable += result.unreadable
                total.conflicts += [f"{schema}:{pk}" for pk in result.conflicts]
        self.stdout.write(
            f"Recomputed {total.updated} row(s) of lookup hashes"
            + (f"; {total.unreadable} row(s) could not be decrypted" if total.unreadable else "")
            + "."
        )
        if total.conflicts:
            self.stderr.write(
                f"{len(total.conflicts)} row(s) kept their old hash: another row has the "
                f"same value (merge them by hand): {', '.join(total.conflicts[:20])}"
            )

    def _counts(self, by_key: Counter[str], key_ids: list[str]) -> str:
        if not by_key:
            return "no encrypted values."
        return "; ".join(
            f"{self._key_label(key, key_ids)}: {count}" for key, count in sorted(by_key.items())
        )

    def _key_label(self, key: str, key_ids: list[str]) -> str:
        if key == LEGACY:
            return "a key of before key lists (no key id)"
        if key == NOT_ENCRYPTED:
            return key
        if key not in key_ids:
            return f"key {key} (not configured)"
        position = key_ids.index(key) + 1
        return (
            f"key {key} ({'newest, ' if position == 1 else ''}#{position} of PII_ENCRYPTION_KEYS)"
        )

    def _verdict(self, after: Counter[str], key_ids: list[str], *, whole: bool) -> None:
        newest = key_ids[0]
        if after.get(NOT_ENCRYPTED):
            self.stdout.write(
                f"{after[NOT_ENCRYPTED]} value(s) are not tokens (idempotent answers stored "
                "before answers were encrypted): no key reads them, they are left as they are."
            )
        remaining = {
            key: count for key, count in after.items() if key not in (newest, NOT_ENCRYPTED)
        }
        if remaining:
            lines = [
                f"{count} value(s) still use {self._key_label(key, key_ids)}"
                for key, count in sorted(remaining.items())
            ]
            raise CommandError(
                "; ".join(lines) + ". Keep the keys they need and run the command again."
            )
        old = ", ".join(key_ids[1:])
        scope = "" if whole else " (in the schemas given; run it without --schema to be sure)"
        if old:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Every encrypted value uses key {newest}{scope}: the old key(s) {old} "
                    "can now be removed from PII_ENCRYPTION_KEYS."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Every encrypted value uses key {newest}{scope}.")
            )
