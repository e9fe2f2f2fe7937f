import time

from django.core.management.base import BaseCommand

from apps.accounts.provisioning import database_setup


class Command(BaseCommand):
    help = "Migrate public, the tenant template schema and every tenant (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        database_setup(verbosity=max(0, int(options["verbosity"]) - 1))  # type: ignore[call-overload]
        self.stdout.write(
            self.style.SUCCESS(f"Database ready in {time.perf_counter() - started:.1f}s.")
        )
