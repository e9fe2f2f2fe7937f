from typing import Any

from django.core.management.base import BaseCommand

from apps.core.catalogues import catalogues_compile


class Command(BaseCommand):
    help = (
        "Compile the message catalogues (config/locale/*/LC_MESSAGES/django.po) to .mo "
        "files with Babel (no system gettext needed); up-to-date ones are kept."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="Compile every catalogue.")

    def handle(self, *args: object, **options: Any) -> None:
        written = catalogues_compile(force=bool(options["force"]))
        for path in written:
            self.stdout.write(f"Compiled {path}")
        self.stdout.write(self.style.SUCCESS(f"{len(written)} catalogue(s) compiled."))
